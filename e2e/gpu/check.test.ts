// The GPU check's plan (arguments, the commands it would run) and its table, without a GPU.
import { describe, expect, it } from "vitest";
import type { SourceInfo } from "../../worker-image/src/ffmpeg/args.ts";
import { cpuSecondsSoFar, parseUtilisation } from "./measure.ts";
import { curveRuns, decodeRuns, parseArgs, sourceArgs, UsageError } from "./plan.ts";
import { type CheckReport, renderTable, tableRows, withSpeedups } from "./table.ts";

const source1080: SourceInfo = { demuxer: "mov", width: 1920, height: 1080, videoCodec: "h264", hasAudio: true };
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe("parseArgs", () => {
  it("defaults to the issue's check: 120 s at 1080p, 16/8/4/2/1 workers on the machine's cores, 480 s budget", () => {
    const o = parseArgs([], 16);
    expect(o).toMatchObject({ seconds: 120, height: 1080, cores: 16, workers: [16, 8, 4, 2, 1], budgetSecs: 480 });
    expect(o).toMatchObject({ decodeQuality: "720p", curveQuality: "1080p", preset: "balanced", level: 5 });
    expect(o.planOnly || o.allowNoGpu).toBe(false);
  });

  it("reads every flag, driver libraries included", () => {
    const o = parseArgs(
      ["--seconds", "6", "--height", "144", "--workers", "2,1", "--cores", "2", "--budget", "60", "--plan"].concat([
        "--driver-lib",
        "libcuda.so.1=/usr/lib/x86_64-linux-gnu/libcuda.so.1",
        "--allow-no-gpu",
        "--out",
        "r.json",
      ]),
      16,
    );
    expect(o).toMatchObject({ seconds: 6, height: 144, workers: [2, 1], cores: 2, budgetSecs: 60, out: "r.json" });
    expect(o.driverLibs).toEqual({ "libcuda.so.1": "/usr/lib/x86_64-linux-gnu/libcuda.so.1" });
    expect(o.planOnly && o.allowNoGpu).toBe(true);
  });

  it.each([
    [["--workers", "4,0"], "--workers wants a positive integer"],
    [["--height", "1081"], "--height must be even"],
    [["--preset", "slowest"], "--preset wants one of fast, balanced, small"],
    [["--level", "10"], "--level wants 1..9"],
    [["--driver-lib", "libcuda.so.1"], "--driver-lib wants name=path"],
    [["--gpu"], "unknown argument --gpu"],
  ])("refuses %j with a usage error", (argv, message) => {
    expect(() => parseArgs(argv, 16)).toThrow(UsageError);
    expect(() => parseArgs(argv, 16)).toThrow(message);
  });
});

describe("the planned commands", () => {
  it("makes a 16:9 30 fps H.264 + AAC source with a keyframe every 2 s", () => {
    const args = sourceArgs({ seconds: 120, height: 1080 }, "/w/source.mp4");
    expect(args).toContain("testsrc2=size=1920x1080:rate=30");
    expect(after(args, "-t")).toBe("120");
    expect(after(args, "-g")).toBe("60");
    expect(after(args, "-c:v")).toBe("libx264");
    expect(args.at(-1)).toBe("/w/source.mp4");
  });

  it("decodes and scales on the GPU for cuda>cpu (NVDEC, scale_cuda, download, libx264) and on the CPU for none>cpu", () => {
    const [cuda, cpu] = decodeRuns(parseArgs([], 16), source1080, "/w/source.mp4", "/w");
    expect(cuda?.path).toBe("cuda>cpu");
    const input = cuda?.args.indexOf("-i") ?? -1;
    expect(cuda?.args.slice(0, input).join(" ")).toContain("-hwaccel cuda -hwaccel_output_format cuda");
    expect(after(cuda?.args ?? [], "-vf")).toBe(
      "scale_cuda=w=1280:h=720:format=nv12,hwdownload,format=nv12,setsar=1,format=yuv420p",
    );
    expect(cpu?.path).toBe("none>cpu");
    expect(cpu?.args).not.toContain("-hwaccel");
    expect(after(cpu?.args ?? [], "-vf")).toMatch(/^scale=1280:720:/);
    for (const run of [cuda, cpu]) {
      expect(after(run?.args ?? [], "-c:v")).toBe("libx264");
      expect(after(run?.args ?? [], "-threads")).toBe("16");
      expect(run?.args.at(-1)).toBe(`file:${run?.output}`); // outputPath(): never read as a protocol
    }
    expect(cuda?.output).not.toBe(cpu?.output);
  });

  it("times the baseline first, then 16..1 workers splitting 16 cores, then 16 workers with NVDEC where it works", () => {
    const o = parseArgs([], 16);
    expect(curveRuns(o, true).map((r) => `${r.mode}/${r.workers}x${r.threads}/${r.decode}`)).toEqual([
      "whole/1x16/none",
      "segments/16x1/none",
      "segments/8x2/none",
      "segments/4x4/none",
      "segments/2x8/none",
      "segments/1x16/none",
      "segments/16x1/cuda",
    ]);
    expect(curveRuns(o, false).some((r) => r.decode === "cuda")).toBe(false);
    expect(curveRuns({ cores: 2, workers: [4] }, false)[1]?.threads).toBe(1);
  });
});

const h100: CheckReport = {
  version: 1,
  startedAt: "2026-12-05T16:00:00.000Z",
  machine: { cores: 16, node: "v24.21.0", driverLibs: { "libcuda.so.1": "/usr/lib/x86_64-linux-gnu/libcuda.so.1" } },
  options: { ...parseArgs([], 16) },
  detection: {
    gpus: ["NVIDIA H100 80GB HBM3"],
    ffmpeg: "ffmpeg 5.1.9-0+deb12u1",
    encoders: {
      libx264: { ok: true },
      h264_nvenc: { ok: false, error: "[h264_nvenc @ 0x55] OpenEncodeSessionEx failed: unsupported device (2)" },
    },
    decode: { cuda: true, vaapi: false, qsv: false, videotoolbox: false },
    labels: {
      "reel.dev/decoder.cuda": "true",
      "reel.dev/encoder.h264_nvenc": "false",
      "reel.dev/gpu-vendor": "nvidia",
    },
    warnings: ["NVIDIA H100 80GB HBM3 present but every nvidia GPU encoder failed its test encode (h264_nvenc)"],
  },
  decode: [
    {
      path: "cuda>cpu",
      status: "ok",
      wallSecs: 20.5,
      cpuSecs: 150.25,
      ssim: 0.98761,
      gpuPeak: { decoder: 31, sm: 4, samples: 80 },
    },
    { path: "none>cpu", status: "ok", wallSecs: 24, cpuSecs: 190.5, ssim: 0.98765, frames: 3600 },
  ],
  curve: withSpeedups([
    { mode: "whole", workers: 1, threads: 16, decode: "none", status: "ok", wallSecs: 60, cpuSecs: 600 },
    {
      mode: "segments",
      workers: 16,
      threads: 1,
      decode: "none",
      status: "ok",
      wallSecs: 30,
      cpuSecs: 610,
      segments: 16,
    },
    { mode: "segments", workers: 1, threads: 16, decode: "none", status: "skipped", reason: "over the time budget" },
  ]),
};

describe("the table", () => {
  it("says decode yes, encode no and the labels on an H100, then the timed rows with SSIM and speedup", () => {
    const text = renderTable(tableRows(h100));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^part\s+row\s+result\s+wall s\s+cpu s\s+ssim\s+speedup\s+note$/);
    const line = (part: string, row: string) => lines.find((l) => l.startsWith(part) && l.includes(row)) ?? "";
    expect(line("detect", "GPU")).toContain("NVIDIA H100 80GB HBM3");
    expect(line("detect", "libcuda.so.1")).toContain("/usr/lib/x86_64-linux-gnu/libcuda.so.1");
    expect(line("detect", "decode cuda")).toMatch(/decode cuda\s+yes/);
    expect(line("detect", "encode h264_nvenc")).toMatch(/h264_nvenc\s+no\s+.*OpenEncodeSessionEx failed/);
    expect(line("detect", "encode libx264")).toMatch(/libx264\s+yes/);
    expect(line("label", "reel.dev/gpu-vendor")).toMatch(/nvidia$/);
    expect(line("warn", "node-probe")).toContain("failed its test encode");
    expect(line("decode", "cuda>cpu")).toMatch(
      /ok\s+20\.5\s+150\.3\s+0\.9876\s+NVDEC peak 31%, SM peak 4% \(80 samples\)$/,
    );
    expect(line("decode", "none>cpu")).toMatch(/ok\s+24\.0\s+190\.5\s+0\.9877\s+3600 frames$/);
    expect(line("segments", "one ffmpeg, -threads 16")).toMatch(/ok\s+60\.0\s+600\.0\s+1\.00x$/);
    expect(line("segments", "16 workers x 1 thread")).toMatch(/ok\s+30\.0\s+610\.0\s+2\.00x\s+16 segments$/);
    expect(line("segments", "1 worker x 16 threads")).toMatch(/skipped\s+over the time budget$/);
    // every line has its columns in the same places
    const speedupAt = lines[0]?.indexOf("speedup") ?? -1;
    expect(
      line("segments", "16 workers")
        .slice(speedupAt, speedupAt + 7)
        .trim(),
    ).toBe("2.00x");
  });

  it("leaves speedup out where the baseline did not run", () => {
    const curve = withSpeedups([
      { mode: "whole", workers: 1, threads: 2, decode: "none", status: "failed", reason: "REEL_FFMPEG_FAILED" },
      { mode: "segments", workers: 2, threads: 1, decode: "none", status: "ok", wallSecs: 3, cpuSecs: 5 },
    ]);
    expect(curve.map((c) => c.speedup)).toEqual([undefined, undefined]);
  });

  it("ends with the reason when the check stopped early", () => {
    const rows = tableRows({
      ...h100,
      detection: undefined,
      decode: [],
      curve: [],
      error: "REEL_ENCODER_UNAVAILABLE: no NVIDIA GPU here",
    });
    expect(rows).toEqual([
      { part: "error", row: "check", result: "stopped", note: "REEL_ENCODER_UNAVAILABLE: no NVIDIA GPU here" },
    ]);
  });
});

describe("measurements", () => {
  it("reads nvidia-smi's utilisation lines, keeping the peaks", () => {
    expect(parseUtilisation("0, 1\n31, 4\n12, 9\n[N/A], 3\n")).toEqual({ decoder: 31, sm: 9, samples: 3 });
    expect(parseUtilisation("")).toEqual({ decoder: 0, sm: 0, samples: 0 });
  });

  it("counts reaped children's CPU time from /proc/self/stat (cutime + cstime)", () => {
    // pid (comm with ) and spaces) state ppid … utime stime cutime cstime
    const stat = `123 (node (x) y) S ${Array.from({ length: 10 }, () => "0").join(" ")} 5 6 250 150 20 0`;
    const self = process.cpuUsage();
    const children = cpuSecondsSoFar(stat) - (self.user + self.system) / 1e6;
    expect(children).toBeGreaterThanOrEqual(4); // 400 ticks at 100 per second
    expect(children).toBeLessThan(4.5);
  });
});
