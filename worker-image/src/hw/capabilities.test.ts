import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execCommand } from "../ffmpeg/exec.ts";
import { defaultBinaries } from "../ffmpeg/run.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { candidates, clearCapabilityCache, probeHardware } from "./capabilities.ts";
import { fakeHost, machines } from "./fake-host.ts";
import { parseEncoders, parseHwaccels, parseNvidiaSmi, parseVersion, realHost } from "./inventory.ts";
import { planEncode } from "./plan.ts";

beforeEach(() => clearCapabilityCache());

describe("inventory parsing", () => {
  it("reads version, hwaccels, video encoders and nvidia-smi names", () => {
    expect(parseVersion("ffmpeg version 5.1.9-0+deb12u1 Copyright")).toBe("5.1.9-0+deb12u1");
    expect(parseHwaccels("Hardware acceleration methods:\nvdpau\ncuda\n\n")).toEqual(["vdpau", "cuda"]);
    const enc = "Encoders:\n V..... = Video\n ------\n V....D libx264   x\n A....D aac  y\n V....D h264_nvenc  z\n";
    expect(parseEncoders(enc)).toEqual(["libx264", "h264_nvenc"]);
    expect(parseNvidiaSmi("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-abc)\n")).toEqual(["NVIDIA H100 80GB HBM3"]);
  });
});

describe("probeHardware (fake machines)", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir("reel-hw-");
  });
  afterAll(() => tmp.cleanup());

  it("test-encodes only encoders whose device is present", async () => {
    const caps = await probeHardware({ host: fakeHost(machines.h100) });
    expect(Object.keys(caps.encoders).sort()).toEqual(
      ["h264_nvenc", "hevc_nvenc", "libsvtav1", "libx264", "libx265"].sort(),
    );
    expect(caps.encoders.h264_nvenc?.ok).toBe(false);
    expect(caps.encoders.h264_nvenc?.error).toMatch(/unsupported device/);
    expect(caps.decode).toEqual({ cuda: true, vaapi: false, qsv: false, videotoolbox: false });
    expect(caps.inventory.devices.nvidiaGpus).toEqual(["NVIDIA H100 80GB HBM3"]);
  });

  it("caches results in a JSON file keyed by ffmpeg version and devices", async () => {
    const cachePath = join(tmp.dir, "hw.json");
    await probeHardware({ host: fakeHost(machines.rtx), cachePath });
    clearCapabilityCache();
    const again = fakeHost(machines.rtx);
    const caps = await probeHardware({ host: again, cachePath });
    expect(caps.encoders.h264_nvenc?.ok).toBe(true);
    expect(again.calls.some((c) => c.includes("testsrc2=size=256x144:rate=10:duration=1"))).toBe(false);
    // Another machine (different devices) does not reuse it.
    clearCapabilityCache();
    const other = fakeHost(machines.amd);
    await probeHardware({ host: other, cachePath });
    expect(other.calls.some((c) => c.includes("h264_vaapi"))).toBe(true);
  });

  it("tests again with refresh even when the cache knows the machine, and caches the new outcome", async () => {
    const cachePath = join(tmp.dir, "refresh.json");
    await probeHardware({ host: fakeHost(machines.rtx), cachePath });
    // Same devices and ffmpeg, but NVENC now fails (a broken driver): only a fresh test sees it.
    const broken = fakeHost({ ...machines.rtx, working: machines.cpuOnly.working });
    const caps = await probeHardware({ host: broken, cachePath, refresh: true });
    expect(caps.encoders.h264_nvenc?.ok).toBe(false);
    clearCapabilityCache();
    const later = await probeHardware({ host: fakeHost(machines.rtx), cachePath });
    expect(later.encoders.h264_nvenc?.ok).toBe(false);
  });

  it("caches and returns nothing from a cancelled probe", async () => {
    const cachePath = join(tmp.dir, "cancelled.json");
    const ac = new AbortController();
    const host = fakeHost(machines.rtx);
    const runner = host.runner;
    host.runner = async (cmd, args, opts) => {
      if (args.includes("-c:v")) ac.abort(new Error("SIGTERM"));
      return runner(cmd, args, opts);
    };
    await expect(probeHardware({ host, cachePath, signal: ac.signal })).rejects.toThrow("SIGTERM");
    clearCapabilityCache();
    const fresh = fakeHost(machines.rtx);
    await probeHardware({ host: fresh, cachePath });
    expect(fresh.calls.some((c) => c.includes("h264_nvenc"))).toBe(true);
  });

  it("lists no GPU candidates on a Linux box without devices", () => {
    const inv = {
      ffmpegVersion: "5.1",
      platform: "linux",
      hwaccels: [],
      encoders: ["libx264", "h264_nvenc", "h264_vaapi", "h264_videotoolbox"],
      devices: { nvidia: false, nvidiaGpus: [], renderNodes: [] },
    };
    expect(candidates(inv).map((c) => c.encoder)).toEqual(["libx264"]);
  });
});

describe("probeHardware (this machine, real ffmpeg)", () => {
  it("concludes CPU only here, with x264, x265 and SVT-AV1 working", async () => {
    const caps = await probeHardware({ host: realHost(execCommand, defaultBinaries) });
    for (const e of ["libx264", "libx265", "libsvtav1"]) expect(caps.encoders[e]).toEqual({ ok: true });
    const gpu = Object.keys(caps.encoders).filter((e) => !e.startsWith("lib"));
    // Without /dev/nvidia0 or /dev/dri no GPU encoder is even tried.
    if (!caps.inventory.devices.nvidia && caps.inventory.devices.renderNodes.length === 0) expect(gpu).toEqual([]);
    const plan = planEncode(caps, { codec: "h264", gpu: { policy: "auto" } });
    if (!caps.decode.cuda) expect(plan.fallbackChain.map((s) => s.encoder)).toEqual(["libx264"]);
  });
});
