// A described machine for tests: answers the commands hw/ runs from a table instead of a real host.
import type { CommandRunner, ExecResult } from "../ffmpeg/exec.ts";
import type { HostPort } from "./inventory.ts";

export interface FakeMachine {
  platform?: string;
  encoders: string[];
  hwaccels?: string[];
  nvidiaGpus?: string[];
  renderNodes?: string[];
  /** Encoders whose test encode succeeds. */
  working: string[];
  /** Hardware devices that initialise: cuda, vaapi, qsv. */
  devicesOk?: string[];
}

const ok = (stdout = ""): ExecResult => ({ code: 0, signal: null, stdout, stderr: "", timedOut: false });
const fail = (stderr: string): ExecResult => ({ code: 1, signal: null, stdout: "", stderr, timedOut: false });

export function fakeHost(m: FakeMachine): HostPort & { calls: string[][] } {
  const calls: string[][] = [];
  const runner: CommandRunner = async (cmd, args) => {
    calls.push([cmd, ...args]);
    if (cmd === "nvidia-smi") {
      return ok((m.nvidiaGpus ?? []).map((g, i) => `GPU ${i}: ${g} (UUID: GPU-${i})`).join("\n"));
    }
    if (args.includes("-version")) return ok("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026\n");
    if (args.includes("-hwaccels")) return ok(`Hardware acceleration methods:\n${(m.hwaccels ?? []).join("\n")}\n`);
    if (args.includes("-encoders")) {
      return ok(["Encoders:", " ------", ...m.encoders.map((e) => ` V....D ${e.padEnd(20)} test`)].join("\n"));
    }
    const encoder = args[args.indexOf("-c:v") + 1];
    if (args.includes("-c:v") && encoder) {
      return m.working.includes(encoder)
        ? ok()
        : fail(`[${encoder} @ 0x1] OpenEncodeSessionEx failed: unsupported device`);
    }
    const init = args[args.indexOf("-init_hw_device") + 1] ?? "";
    const kind = init.split("=")[0] ?? "";
    return m.devicesOk?.includes(kind) ? ok() : fail(`Device creation failed: -1.`);
  };
  return {
    runner,
    binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
    platform: m.platform ?? "linux",
    exists: async (p) => p === "/dev/nvidia0" && (m.nvidiaGpus?.length ?? 0) > 0,
    listDir: async (p) => (p === "/dev/dri" ? (m.renderNodes ?? []).map((n) => n.replace("/dev/dri/", "")) : []),
    calls,
  };
}

const allEncoders = ["libx264", "libx265", "libsvtav1", "libaom-av1"].concat(
  ["h264_nvenc", "hevc_nvenc", "h264_vaapi", "hevc_vaapi", "h264_qsv", "hevc_qsv"],
  ["h264_videotoolbox", "hevc_videotoolbox"],
);
const cpu = ["libx264", "libx265", "libsvtav1"];
const linuxAccels = ["vdpau", "cuda", "vaapi", "qsv", "drm", "opencl", "vulkan"];

/** Machines the planner must handle. */
export const machines = {
  cpuOnly: { encoders: allEncoders, hwaccels: linuxAccels, working: cpu },
  h100: {
    encoders: allEncoders,
    hwaccels: linuxAccels,
    nvidiaGpus: ["NVIDIA H100 80GB HBM3"],
    working: cpu, // NVENC test encodes fail: no encoder silicon
    devicesOk: ["cuda"],
  },
  rtx: {
    encoders: allEncoders,
    hwaccels: linuxAccels,
    nvidiaGpus: ["NVIDIA GeForce RTX 4090"],
    working: [...cpu, "h264_nvenc", "hevc_nvenc"],
    devicesOk: ["cuda"],
  },
  intel: {
    encoders: allEncoders,
    hwaccels: linuxAccels,
    renderNodes: ["/dev/dri/renderD128"],
    working: [...cpu, "h264_qsv", "hevc_qsv", "h264_vaapi", "hevc_vaapi"],
    devicesOk: ["vaapi", "qsv"],
  },
  amd: {
    encoders: allEncoders,
    hwaccels: linuxAccels,
    renderNodes: ["/dev/dri/renderD128"],
    working: [...cpu, "h264_vaapi", "hevc_vaapi"],
    devicesOk: ["vaapi"],
  },
  mac: {
    platform: "darwin",
    encoders: allEncoders,
    hwaccels: ["videotoolbox"],
    working: [...cpu, "h264_videotoolbox", "hevc_videotoolbox"],
  },
} satisfies Record<string, FakeMachine>;
