#!/usr/bin/env node
// One encode with the worker's own functions, in its own process, so the harness measures its wall
// time and peak RSS like any other tool. Usage (Node 24, which runs .ts by stripping types):
//   node bench/tools/transcode-cli.ts <whole|segmented> '<options JSON>'
// options: { input, output, workDir?, quality, codec, preset, level, cores, concurrency?, segmentSecs? }
// Both modes probe the input the same way (the worker's probe()) and build the same settings, so
// the only difference between them is encodeWhole vs encodeSegmented.
// Prints JSON lines on stdout: {"event":"start","pid"}, then {"event":"done","report"} (exit 0)
// or {"event":"error","code","message"} (exit 1).
import { mkdir } from "node:fs/promises";
import type { EncoderFamily, CompressionPreset } from "../../worker-image/src/ffmpeg/presets.ts";
import type { Quality, VideoCodec } from "../../worker-image/src/ffmpeg/ladder.ts";
import { sourceInfo } from "../../worker-image/src/ffmpeg/args.ts";
import { probe } from "../../worker-image/src/probe/probe.ts";
import { type EncodeSettings, encodeSegmented, encodeWhole } from "../../worker-image/src/segments/encode.ts";

interface Options {
  input: string;
  output: string;
  workDir?: string;
  quality: Quality;
  codec: VideoCodec;
  preset: CompressionPreset;
  level: number;
  encoder?: EncoderFamily;
  cores: number;
  concurrency?: number;
  segmentSecs?: number;
}

const [mode, json = "{}"] = process.argv.slice(2);
const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);

emit({ event: "start", pid: process.pid });
try {
  const o = JSON.parse(json) as Options;
  const p = await probe(o.input);
  const settings: EncodeSettings = {
    input: o.input,
    source: sourceInfo(p),
    quality: o.quality,
    codec: o.codec,
    preset: o.preset,
    level: o.level,
    encoder: o.encoder ?? "cpu",
  };
  if (mode === "whole") {
    const r = await encodeWhole(settings, o.output, { cores: o.cores, durationSecs: p.durationSecs });
    emit({ event: "done", report: { mode, elapsedMs: r.elapsedMs } });
  } else if (mode === "segmented") {
    if (!o.workDir) throw Object.assign(new Error("segmented needs workDir"), { code: "BENCH_USAGE" });
    await mkdir(o.workDir, { recursive: true });
    const r = await encodeSegmented(settings, o.output, {
      workDir: o.workDir,
      startTimeSecs: p.startTimeSecs,
      durationSecs: p.durationSecs,
      cores: o.cores,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.segmentSecs ? { segmentSecs: o.segmentSecs } : {}),
    });
    emit({
      event: "done",
      report: {
        mode,
        elapsedMs: r.elapsedMs,
        encodeMs: r.encodeMs,
        joinMs: r.joinMs,
        joinedWith: r.joinedWith,
        segments: r.segments.map((s) => ({ startPts: s.startPts, frames: s.frames })),
      },
    });
  } else {
    throw Object.assign(new Error(`unknown mode ${mode}; want whole or segmented`), { code: "BENCH_USAGE" });
  }
} catch (err) {
  const e = err as { code?: string; message?: string };
  emit({ event: "error", code: e?.code ?? null, message: String(e?.message ?? err) });
  process.exitCode = 1;
}
