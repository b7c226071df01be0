// The GPU check's runner (check.sh starts it): what `reel node-probe` finds here and the labels it
// would write, one episode through cuda>cpu against CPU decode, and the segment-parallel speedup
// curve; one table on stdout, the whole report as JSON (written after every step, so a run cut
// short keeps what it measured). Exit 0 every step ran, 1 a step failed or did not fit the budget,
// 2 the command or the machine is wrong.
import { availableParallelism, tmpdir } from "node:os";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ReelError } from "@reel/crds";
import { config } from "../../worker-image/src/config.ts";
import { type SourceInfo, sourceInfo } from "../../worker-image/src/ffmpeg/args.ts";
import { execCommand } from "../../worker-image/src/ffmpeg/exec.ts";
import { runFfmpeg } from "../../worker-image/src/ffmpeg/run.ts";
import { probeHardware } from "../../worker-image/src/hw/capabilities.ts";
import { realHost } from "../../worker-image/src/hw/inventory.ts";
import { nodeLabels, probeWarnings } from "../../worker-image/src/nodeprobe/labels.ts";
import { probe } from "../../worker-image/src/probe/probe.ts";
import { measureQuality } from "../../worker-image/src/quality/measure.ts";
import { type EncodeSettings, encodeSegmented, encodeWhole } from "../../worker-image/src/segments/encode.ts";
import { sampleGpu, timed } from "./measure.ts";
import {
  type CheckOptions,
  type CurveRun,
  curveRuns,
  decodeRuns,
  parseArgs,
  sourceArgs,
  sourceWidth,
  UsageError,
} from "./plan.ts";
import {
  type CheckReport,
  type CurveRow,
  type DecodeRow,
  renderTable,
  round,
  tableRows,
  withSpeedups,
} from "./table.ts";

const binaries = { ffmpeg: config.REEL_FFMPEG, ffprobe: config.REEL_FFPROBE };

/** Stops steps at the budget: each gets what is left as its time limit; none starts after it. */
class Budget {
  private readonly deadline: number;
  constructor(secs: number) {
    this.deadline = Date.now() + secs * 1000;
  }
  left(): number {
    return Math.max(0, this.deadline - Date.now());
  }
  signal(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.left()));
  }
}

async function detect(report: CheckReport, o: CheckOptions): Promise<boolean> {
  const caps = await probeHardware({ host: realHost(execCommand, binaries), refresh: true });
  const meta = nodeLabels(caps, { probedAt: new Date() });
  report.detection = {
    gpus: caps.inventory.devices.nvidiaGpus,
    ffmpeg: `ffmpeg ${caps.inventory.ffmpegVersion}`,
    encoders: caps.encoders,
    decode: caps.decode,
    labels: meta.labels,
    warnings: probeWarnings(caps),
  };
  if (!caps.inventory.devices.nvidia && !o.allowNoGpu) {
    throw new ReelError(
      "REEL_ENCODER_UNAVAILABLE",
      "no NVIDIA GPU here (/dev/nvidia0 is missing): run this check on the GPU machine, or pass --allow-no-gpu for the CPU rows alone",
    );
  }
  return caps.decode.cuda;
}

const packets = async (path: string): Promise<number> => {
  const args = ["-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets"];
  const r = await execCommand(binaries.ffprobe, [...args, "-of", "csv=p=0", path], { timeoutMs: 120_000 });
  return Number.parseInt(r.stdout.trim(), 10);
};

async function makeSource(report: CheckReport, o: CheckOptions, dir: string) {
  const path = join(dir, "source.mp4");
  const r = await execCommand(binaries.ffmpeg, sourceArgs(o, path), { timeoutMs: 300_000 });
  if (r.code !== 0) throw new ReelError("REEL_FFMPEG_FAILED", `making the source: ${r.stderr.slice(-400)}`);
  const p = await probe(path, { binaries });
  report.source = {
    width: p.video.width,
    height: p.video.height,
    seconds: p.durationSecs,
    frames: await packets(path),
  };
  return { path, probe: p, info: sourceInfo(p) };
}

/** SSIM over three windows (start, middle, end) of the source: the comparison reel itself runs. */
async function ssimOf(output: string, source: { path: string; demuxer: string; seconds: number }, signal: AbortSignal) {
  const out = await probe(output, { binaries, signal });
  const duration = Math.min(10, source.seconds / 3);
  const starts = [0, (source.seconds - duration) / 2, source.seconds - duration];
  return measureQuality(
    { path: output, demuxer: out.demuxer },
    { path: source.path, demuxer: source.demuxer },
    {
      width: out.video.width,
      height: out.video.height,
      windows: starts.map((start) => ({ start, duration })),
      binaries,
      signal,
      vmaf: false,
    },
  );
}

async function decodeComparison(report: CheckReport, o: CheckOptions, src: Source, cuda: boolean, budget: Budget) {
  for (const run of decodeRuns(o, src.info, src.path, src.dir)) {
    const row: DecodeRow = { path: run.path, status: "skipped" };
    report.decode.push(row);
    if (run.hwDecode === "cuda" && !cuda) {
      row.reason = report.detection?.gpus.length ? "CUDA device test failed (see detect rows)" : "no NVIDIA GPU";
      continue;
    }
    if (budget.left() === 0) {
      row.reason = "over the time budget";
      continue;
    }
    const sampler = sampleGpu();
    try {
      const { timing } = await timed(() => runFfmpeg(run.args, { binaries, signal: budget.signal(), label: run.path }));
      const peak = await sampler.stop();
      const q = await ssimOf(run.output, { ...src, seconds: src.probe.durationSecs }, budget.signal());
      Object.assign(row, { status: "ok", wallSecs: round(timing.wallSecs, 2), cpuSecs: round(timing.cpuSecs, 2) });
      Object.assign(row, { ssim: round(q.ssim, 4), psnr: round(q.psnr, 2), frames: await packets(run.output) });
      if (peak) row.gpuPeak = peak;
    } catch (err) {
      await sampler.stop();
      Object.assign(row, { status: "failed", reason: (err as Error).message });
    }
    await rm(run.output, { force: true });
  }
}

interface Source {
  path: string;
  dir: string;
  demuxer: string;
  info: SourceInfo;
  probe: Awaited<ReturnType<typeof probe>>;
}

async function curveStep(run: CurveRun, o: CheckOptions, src: Source, budget: Budget) {
  const settings: EncodeSettings = {
    input: src.path,
    source: src.info,
    quality: o.curveQuality,
    codec: "h264",
    preset: o.preset,
    level: o.level,
    encoder: "cpu",
    hwDecode: run.decode,
  };
  const output = join(src.dir, `curve-${run.mode}-${run.workers}-${run.decode}.mp4`);
  const workDir = `${output}.work`;
  const signal = budget.signal();
  try {
    if (run.mode === "whole") {
      const r = await timed(() =>
        encodeWhole(settings, output, { binaries, signal, cores: run.threads, durationSecs: src.probe.durationSecs }),
      );
      return { timing: r.timing, frames: await packets(output) };
    }
    await mkdir(workDir, { recursive: true });
    const r = await timed(() =>
      encodeSegmented(settings, output, {
        workDir,
        binaries,
        signal,
        cores: o.cores,
        concurrency: run.workers,
        startTimeSecs: src.probe.startTimeSecs,
        durationSecs: src.probe.durationSecs,
      }),
    );
    return { timing: r.timing, frames: await packets(output), segments: r.value.segments.length };
  } finally {
    await rm(output, { force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

async function curve(
  report: CheckReport,
  o: CheckOptions,
  src: Source,
  cuda: boolean,
  budget: Budget,
  save: () => Promise<void>,
) {
  for (const run of curveRuns(o, cuda)) {
    const row: CurveRow = { ...run, status: "skipped" };
    report.curve.push(row);
    if (budget.left() === 0) {
      row.reason = "over the time budget";
      continue;
    }
    try {
      const r = await curveStep(run, o, src, budget);
      Object.assign(row, { status: "ok", wallSecs: round(r.timing.wallSecs, 2), cpuSecs: round(r.timing.cpuSecs, 2) });
      Object.assign(row, { frames: r.frames, ...(r.segments !== undefined ? { segments: r.segments } : {}) });
      // encodeSegmented splits the cores between the encoders really running at once: never more than
      // the segments (segments are at least 10 s: 120 s makes 12 for 16 workers)
      if (r.segments !== undefined) row.threads = Math.max(1, Math.floor(o.cores / Math.min(run.workers, r.segments)));
    } catch (err) {
      Object.assign(row, { status: "failed", reason: (err as Error).message });
    }
    report.curve = withSpeedups(report.curve);
    await save();
  }
}

async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv, availableParallelism());
  if (o.planOnly) {
    const src = { demuxer: "mov", width: sourceWidth(o.height), height: o.height, videoCodec: "h264", hasAudio: true };
    const plan = {
      options: o,
      source: sourceArgs(o, "source.mp4"),
      decode: decodeRuns(o, src, "source.mp4", "."),
      curve: curveRuns(o, true),
    };
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  }
  const { planOnly: _p, out: _o, ...options } = o;
  const report: CheckReport = {
    version: 1,
    startedAt: new Date().toISOString(),
    machine: { cores: availableParallelism(), node: process.version, driverLibs: o.driverLibs },
    options,
    decode: [],
    curve: [],
  };
  await mkdir(dirname(o.out), { recursive: true });
  const save = () => writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
  const budget = new Budget(o.budgetSecs);
  const dir = await mkdtemp(join(config.TMPDIR ?? tmpdir(), "reel-gpu-check-"));
  let code = 0;
  try {
    const cuda = await detect(report, o);
    await save();
    const made = await makeSource(report, o, dir);
    const src: Source = { ...made, dir, demuxer: made.probe.demuxer };
    await save();
    await decodeComparison(report, o, src, cuda, budget);
    await save();
    await curve(report, o, src, cuda, budget, save);
    const rows = [...report.decode, ...report.curve];
    code = rows.some((r) => r.status === "failed" || (r.status === "skipped" && r.reason?.includes("budget"))) ? 1 : 0;
  } catch (err) {
    const e = ReelError.from(err, "REEL_INTERNAL");
    report.error = `${e.code}: ${e.message}`;
    code = e.code === "REEL_ENCODER_UNAVAILABLE" ? 2 : 1;
  } finally {
    report.finishedAt = new Date().toISOString();
    await save();
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${renderTable(tableRows(report))}\n\nreport: ${o.out}\n`);
  return code;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(
    `check.ts: error ${err.code}: ${err.message}\n  usage: e2e/gpu/check.sh [--plan] [--seconds N] [--height N] [--workers 16,8,4,2,1] [--cores N] [--budget SECS] [--out FILE] [--allow-no-gpu]\n`,
  );
  process.exitCode = 2;
}
