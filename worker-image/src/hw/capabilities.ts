// What really works: a one-second test encode per candidate encoder and a device test per GPU
// decode path, cached by ffmpeg version and device list (probing costs seconds; devices rarely change).
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { tailLines } from "../ffmpeg/exec.ts";
import { defaultRenderNode, type HwDecode } from "../ffmpeg/hwargs.ts";
import type { VideoCodec } from "../ffmpeg/ladder.ts";
import { type EncoderFamily, encoderNames } from "../ffmpeg/presets.ts";
import { type HostPort, type HwInventory, takeInventory } from "./inventory.ts";

export interface Candidate {
  family: EncoderFamily;
  codec: VideoCodec;
  encoder: string;
}

export interface TestOutcome {
  ok: boolean;
  /** Last stderr lines when it failed. */
  error?: string;
}

export interface HwCapabilities {
  inventory: HwInventory;
  /** Outcome per encoder name. */
  encoders: Record<string, TestOutcome>;
  /** Whether decoding can run on the GPU, per hwaccel. */
  decode: Record<Exclude<HwDecode, "none">, boolean>;
  /** Render node used for VAAPI/QSV. */
  renderNode: string | undefined;
}

const codecs: VideoCodec[] = ["h264", "hevc", "av1"];

/** Encoders worth a test encode: compiled into ffmpeg and with the device they need present. */
export function candidates(inv: HwInventory): Candidate[] {
  const hasDevice: Record<EncoderFamily, boolean> = {
    cpu: true,
    nvenc: inv.devices.nvidia,
    vaapi: inv.devices.renderNodes.length > 0,
    qsv: inv.devices.renderNodes.length > 0,
    videotoolbox: inv.platform === "darwin",
  };
  const out: Candidate[] = [];
  for (const family of Object.keys(encoderNames) as EncoderFamily[]) {
    if (!hasDevice[family]) continue;
    for (const codec of codecs) {
      const encoder = encoderNames[family][codec];
      if (encoder && inv.encoders.includes(encoder)) out.push({ family, codec, encoder });
    }
  }
  return out;
}

const testSource = ["-f", "lavfi", "-i", "testsrc2=size=256x144:rate=10:duration=1"];
const sink = ["-f", "null", "-"];

/** A one-second encode of a synthetic picture into the null muxer. */
export function testEncodeArgs(c: Candidate, renderNode = defaultRenderNode): string[] {
  const head = ["-nostdin", "-hide_banner", "-v", "error"];
  switch (c.family) {
    case "cpu":
    case "nvenc":
    case "videotoolbox":
      return [...head, ...testSource, "-vf", "format=yuv420p", "-c:v", c.encoder, ...sink];
    case "vaapi":
      return [
        ...head,
        "-vaapi_device",
        renderNode,
        ...testSource,
        "-vf",
        "format=nv12,hwupload",
        "-c:v",
        c.encoder,
      ].concat(sink);
    case "qsv":
      return [
        ...head,
        "-init_hw_device",
        `qsv=qsv:hw_any,child_device=${renderNode}`,
        "-filter_hw_device",
        "qsv",
      ].concat(testSource, ["-vf", "format=nv12,hwupload=extra_hw_frames=64", "-c:v", c.encoder], sink);
  }
}

/**
 * Opens the GPU device and uploads frames to it. Every NVIDIA GPU that CUDA can open has NVDEC
 * (the data-centre parts lack only NVENC), so a working CUDA device means GPU decoding works.
 */
export function testDecodeArgs(kind: "cuda" | "vaapi" | "qsv", renderNode = defaultRenderNode): string[] {
  const head = ["-nostdin", "-hide_banner", "-v", "error"];
  const device = {
    cuda: ["-init_hw_device", "cuda=hw"],
    vaapi: ["-init_hw_device", `vaapi=hw:${renderNode}`],
    qsv: ["-init_hw_device", `qsv=hw:hw_any,child_device=${renderNode}`],
  }[kind];
  const upload = kind === "cuda" ? "format=nv12,hwupload_cuda" : "format=nv12,hwupload";
  return [...head, ...device, "-filter_hw_device", "hw", ...testSource, "-vf", upload, ...sink];
}

export function cacheKey(inv: HwInventory): string {
  const basis = JSON.stringify([inv.ffmpegVersion, inv.platform, inv.devices, inv.encoders, inv.hwaccels]);
  return createHash("sha256").update(basis).digest("hex").slice(0, 16);
}

export interface ProbeHardwareOptions {
  host: HostPort;
  /** JSON cache file; skipped when absent. */
  cachePath?: string;
  testTimeoutMs?: number;
  /**
   * Test again even when results are known, then remember the new ones. The node probe does: a
   * driver can break (or be fixed) without the ffmpeg version or the device list changing.
   */
  refresh?: boolean;
  /** Stops the test encodes; nothing is cached or returned from a cancelled probe. */
  signal?: AbortSignal;
}

const memory = new Map<string, HwCapabilities>();

/** Forgets in-memory results (tests, or after a device was hot-plugged). */
export function clearCapabilityCache(): void {
  memory.clear();
}

async function readCache(path: string, key: string): Promise<HwCapabilities | undefined> {
  try {
    const data = JSON.parse(await readFile(path, "utf8")) as { key?: string; capabilities?: HwCapabilities };
    return data.key === key ? data.capabilities : undefined;
  } catch {
    return undefined; // missing or corrupt cache: probe again
  }
}

async function outcome(host: HostPort, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<TestOutcome> {
  try {
    const r = await host.runner(host.binaries.ffmpeg, args, { timeoutMs, ...(signal ? { signal } : {}) });
    if (r.code === 0) return { ok: true };
    return { ok: false, error: r.timedOut ? "timed out" : tailLines(r.stderr, 3).join("; ") };
  } catch (err) {
    // A cancelled test says nothing about the encoder: stop instead of recording a failure.
    signal?.throwIfAborted();
    return { ok: false, error: (err as Error).message };
  }
}

/** Probes (or recalls) what this machine can encode and decode. */
export async function probeHardware(options: ProbeHardwareOptions): Promise<HwCapabilities> {
  const { host, cachePath, testTimeoutMs = 15_000, refresh = false, signal } = options;
  const inv = await takeInventory(host);
  const key = cacheKey(inv);
  const known = refresh ? undefined : (memory.get(key) ?? (cachePath ? await readCache(cachePath, key) : undefined));
  if (known) {
    memory.set(key, known);
    return known;
  }
  const renderNode = inv.devices.renderNodes[0];
  const encoders: Record<string, TestOutcome> = {};
  // One at a time: parallel test encodes on a GPU can fail for session limits, not capability.
  for (const c of candidates(inv))
    encoders[c.encoder] = await outcome(host, testEncodeArgs(c, renderNode), testTimeoutMs, signal);
  const decodeTest = async (kind: "cuda" | "vaapi" | "qsv", present: boolean) =>
    present && inv.hwaccels.includes(kind)
      ? (await outcome(host, testDecodeArgs(kind, renderNode), testTimeoutMs, signal)).ok
      : false;
  const caps: HwCapabilities = {
    inventory: inv,
    encoders,
    decode: {
      cuda: await decodeTest("cuda", inv.devices.nvidia),
      vaapi: await decodeTest("vaapi", renderNode !== undefined),
      qsv: await decodeTest("qsv", renderNode !== undefined),
      videotoolbox: inv.platform === "darwin" && inv.hwaccels.includes("videotoolbox"),
    },
    renderNode,
  };
  signal?.throwIfAborted();
  memory.set(key, caps);
  if (cachePath) {
    await mkdir(dirname(cachePath), { recursive: true });
    await writeFile(cachePath, JSON.stringify({ key, capabilities: caps }, null, 2));
  }
  return caps;
}
