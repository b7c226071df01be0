import { ReelError } from "@reel/crds";
import { beforeEach, describe, expect, it } from "vitest";
import type { VideoCodec } from "../ffmpeg/ladder.ts";
import { clearCapabilityCache, probeHardware } from "./capabilities.ts";
import { type FakeMachine, fakeHost, machines } from "./fake-host.ts";
import { type GpuSpec, planEncode } from "./plan.ts";

beforeEach(() => clearCapabilityCache());

async function plan(m: FakeMachine, codec: VideoCodec, gpu: GpuSpec) {
  const caps = await probeHardware({ host: fakeHost(m) });
  return planEncode(caps, { codec, gpu });
}

const short = (p: Awaited<ReturnType<typeof plan>>) => p.fallbackChain.map((s) => `${s.encoder}/${s.hwDecode}`);

describe("planEncode", () => {
  const cases: Array<{ name: string; m: FakeMachine; codec: VideoCodec; gpu: GpuSpec; chain: string[] }> = [
    {
      name: "CPU-only machine, auto -> x264",
      m: machines.cpuOnly,
      codec: "h264",
      gpu: { policy: "auto" },
      chain: ["libx264/none"],
    },
    {
      name: "CPU-only machine, off -> x264",
      m: machines.cpuOnly,
      codec: "h264",
      gpu: { policy: "off" },
      chain: ["libx264/none"],
    },
    {
      name: "H100 (NVDEC, no NVENC), auto -> decode on GPU, encode on CPU, then all-CPU",
      m: machines.h100,
      codec: "h264",
      gpu: { policy: "auto", vendor: "nvidia" },
      chain: ["libx264/cuda", "libx264/none"],
    },
    {
      name: "H100, off -> no GPU at all",
      m: machines.h100,
      codec: "hevc",
      gpu: { policy: "off" },
      chain: ["libx265/none"],
    },
    {
      name: "RTX, auto -> NVENC with CUDA decode, NVENC alone, then CPU",
      m: machines.rtx,
      codec: "hevc",
      gpu: { policy: "auto" },
      chain: ["hevc_nvenc/cuda", "hevc_nvenc/none", "libx265/cuda", "libx265/none"],
    },
    {
      name: "RTX, require -> GPU steps only",
      m: machines.rtx,
      codec: "h264",
      gpu: { policy: "require", vendor: "nvidia" },
      chain: ["h264_nvenc/cuda", "h264_nvenc/none"],
    },
    {
      name: "RTX has no AV1 encoder in ffmpeg 5.1 -> auto AV1 falls to SVT-AV1",
      m: machines.rtx,
      codec: "av1",
      gpu: { policy: "auto" },
      chain: ["libsvtav1/cuda", "libsvtav1/none"],
    },
    {
      name: "Intel, auto -> QSV, then VAAPI, then CPU",
      m: machines.intel,
      codec: "h264",
      gpu: { policy: "auto", vendor: "intel" },
      chain: ["h264_qsv/qsv", "h264_qsv/none", "h264_vaapi/vaapi", "h264_vaapi/none", "libx264/none"],
    },
    {
      name: "AMD, require -> VAAPI",
      m: machines.amd,
      codec: "hevc",
      gpu: { policy: "require", vendor: "amd" },
      chain: ["hevc_vaapi/vaapi", "hevc_vaapi/none"],
    },
    {
      name: "Mac, auto -> VideoToolbox, then CPU",
      m: machines.mac,
      codec: "h264",
      gpu: { policy: "auto", vendor: "apple" },
      chain: ["h264_videotoolbox/videotoolbox", "h264_videotoolbox/none", "libx264/none"],
    },
    {
      name: "vendor filter: asking for AMD on an NVIDIA machine gets the CPU under auto",
      m: machines.rtx,
      codec: "h264",
      gpu: { policy: "auto", vendor: "amd" },
      chain: ["libx264/none"],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const p = await plan(c.m, c.codec, c.gpu);
      expect(short(p)).toEqual(c.chain);
      expect(`${p.encoder}/${p.hwDecode}`).toBe(c.chain[0]);
    });
  }

  it("puts the render node on VAAPI steps and names the vendor only when asked", async () => {
    const anyGpu = await plan(machines.amd, "h264", { policy: "require" });
    expect([anyGpu.device, anyGpu.vendor]).toEqual(["/dev/dri/renderD128", undefined]);
    const amd = await plan(machines.amd, "h264", { policy: "require", vendor: "amd" });
    expect(amd.vendor).toBe("amd");
    const rtx = await plan(machines.rtx, "h264", { policy: "auto" });
    expect([rtx.vendor, rtx.device]).toEqual(["nvidia", undefined]);
  });

  const refusals: Array<{ name: string; m: FakeMachine; codec: VideoCodec; gpu: GpuSpec; want: RegExp }> = [
    {
      name: "require on a CPU-only machine",
      m: machines.cpuOnly,
      codec: "h264",
      gpu: { policy: "require" },
      want: /no working GPU encoder/,
    },
    {
      name: "require on an H100 explains it decodes only",
      m: machines.h100,
      codec: "h264",
      gpu: { policy: "require" },
      want: /decodes but has no encoder/,
    },
    {
      name: "require av1 on a Mac",
      m: machines.mac,
      codec: "av1",
      gpu: { policy: "require", vendor: "apple" },
      want: /no working apple GPU encoder for av1/,
    },
    {
      name: "auto when even the CPU encoder fails",
      m: { ...machines.cpuOnly, working: [] },
      codec: "h264",
      gpu: { policy: "auto" },
      want: /no working h264 encoder/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with REEL_ENCODER_UNAVAILABLE`, async () => {
      const err = await plan(r.m, r.codec, r.gpu).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReelError);
      expect((err as ReelError).code).toBe("REEL_ENCODER_UNAVAILABLE");
      expect((err as ReelError).message).toMatch(r.want);
    });
  }
});
