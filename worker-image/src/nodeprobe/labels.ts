// What a node's probe results say in labels, for the operator's scheduler (operator/src/scheduling/gpu.ts
// reads them; e2e/cluster/nodes.yaml models them). Pure: table-tested against described machines.
//
// A label is written only for what was really tested on the node: an encoder whose test encode ran,
// a decoder whose device was there to open. "false" means tested and failed; an absent label means
// not tested (no such device) — the scheduler treats both as "cannot", only "true" attracts work.
import type { HwCapabilities } from "../hw/capabilities.ts";

export const LABEL_PREFIX = "reel.dev/";
export const VENDOR_LABEL = "reel.dev/gpu-vendor";
export const PROBE_ANNOTATION = "reel.dev/probe";
export const encoderLabel = (encoder: string) => `reel.dev/encoder.${encoder}`;
export const decoderLabel = (hwaccel: string) => `reel.dev/decoder.${hwaccel}`;

/** The annotation stays well under the apiserver's limits and readable in `kubectl describe node`. */
export const MAX_ANNOTATION_BYTES = 4096;

export type GpuVendor = "nvidia" | "amd" | "intel";

/** PCI vendor ids of the GPUs whose encoders Reel drives. */
const pciVendors: Record<string, GpuVendor> = { "0x10de": "nvidia", "0x8086": "intel", "0x1002": "amd" };

/** GPU encoder name suffixes per vendor (VAAPI drives both AMD and Intel). */
const vendorEncoders: Record<GpuVendor, string[]> = {
  nvidia: ["_nvenc"],
  intel: ["_qsv", "_vaapi"],
  amd: ["_vaapi"],
};

export interface NodeFacts {
  /** When the tests ran. */
  probedAt: Date;
  /** PCI vendor id per render node ("0x8086"), read from sysfs; missing when unreadable. */
  renderVendors?: Record<string, string>;
}

export interface NodeMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const decodeKinds = ["cuda", "vaapi", "qsv"] as const;

/** The hwaccels whose device test ran (probeHardware tests one only when its device is there). */
function testedDecoders(caps: HwCapabilities): (typeof decodeKinds)[number][] {
  const { devices, hwaccels } = caps.inventory;
  const present = { cuda: devices.nvidia, vaapi: caps.renderNode !== undefined, qsv: caps.renderNode !== undefined };
  return decodeKinds.filter((k) => present[k] && hwaccels.includes(k));
}

const worksFor = (caps: HwCapabilities, vendor: GpuVendor) =>
  Object.entries(caps.encoders).some(([enc, o]) => o.ok && vendorEncoders[vendor].some((s) => enc.endsWith(s)));

/** GPU vendors with a device on this node, NVIDIA first. */
export function presentVendors(caps: HwCapabilities, renderVendors: Record<string, string> = {}): GpuVendor[] {
  const out = new Set<GpuVendor>();
  if (caps.inventory.devices.nvidia) out.add("nvidia");
  for (const node of caps.inventory.devices.renderNodes) {
    const id = renderVendors[node]?.trim().toLowerCase();
    const vendor = id ? pciVendors[id] : undefined;
    if (vendor) out.add(vendor);
    // sysfs unreadable: only a working QSV encoder says Intel for sure (VAAPI could be either vendor).
    // A known id of another vendor (virtio-gpu in a VM) is no GPU Reel can use.
    else if (id === undefined && Object.entries(caps.encoders).some(([enc, o]) => o.ok && enc.endsWith("_qsv"))) {
      out.add("intel");
    }
  }
  return [...out];
}

/**
 * The one vendor label a node gets. With two GPUs (an NVIDIA card and an Intel iGPU) the one whose
 * encoder works wins: the scheduler sends GPU work by vendor and encoder together.
 */
export function gpuVendor(caps: HwCapabilities, renderVendors: Record<string, string> = {}): GpuVendor | undefined {
  const present = presentVendors(caps, renderVendors);
  return present.find((v) => worksFor(caps, v)) ?? present[0];
}

/** A GPU is there but none of its encoders passed a test encode: say why, for the node's log. */
export function probeWarnings(caps: HwCapabilities, renderVendors: Record<string, string> = {}): string[] {
  const out: string[] = [];
  const gpuTried = (v: GpuVendor) =>
    Object.keys(caps.encoders).filter((enc) => vendorEncoders[v].some((s) => enc.endsWith(s)));
  for (const v of presentVendors(caps, renderVendors)) {
    if (worksFor(caps, v)) continue;
    const tried = gpuTried(v);
    const what = tried.length ? `every ${v} GPU encoder failed its test encode (${tried.join(", ")})` : "";
    if (v === "nvidia") {
      const gpus = caps.inventory.devices.nvidiaGpus.join(", ") || "an NVIDIA GPU";
      // H100 has NVDEC but no NVENC: decode on GPU, encode on CPU
      out.push(
        tried.length
          ? `${gpus} present but ${what}: data-centre NVIDIA GPUs (A100, H100, H200, B200) have NVDEC but no NVENC, ` +
              `so this node encodes on CPU${caps.decode.cuda ? " and decodes on the GPU (decoder.cuda=true)" : ""}`
          : `${gpus} present but this ffmpeg has no NVENC encoder: GPU encoding is unavailable on this node`,
      );
    } else {
      const nodes = caps.inventory.devices.renderNodes.join(", ");
      out.push(
        tried.length
          ? `${v} GPU (${nodes}) present but ${what}: check that the VA-API/oneVPL driver is in the image and the render node is readable`
          : `${v} GPU (${nodes}) present but this ffmpeg has no VAAPI/QSV encoder: GPU encoding is unavailable on this node`,
      );
    }
  }
  return out;
}

/** ffmpeg's "[h264_nvenc @ 0x55d0c8a0] " prefixes (as "[h264_nvenc] " once tailLines cleaned them) name the encoder the key already names. */
const shortReason = (error: string | undefined, max: number) => {
  const text = (error ?? "failed").replace(/\[([^\]@\s]+)( @ 0x[0-9a-f]+)?\] /g, "").trim() || "failed";
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
};

/** Compact JSON: probe time, ffmpeg version, GPUs, a short reason per failed encoder; under 4 KiB. */
export function probeAnnotation(caps: HwCapabilities, facts: NodeFacts, warnings: string[] = []): string {
  const failed = Object.entries(caps.encoders)
    .filter(([, o]) => !o.ok)
    .sort(([a], [b]) => a.localeCompare(b));
  const { nvidiaGpus, renderNodes } = caps.inventory.devices;
  const build = (max: number) =>
    JSON.stringify({
      time: facts.probedAt.toISOString(),
      ffmpeg: caps.inventory.ffmpegVersion,
      ...(nvidiaGpus.length ? { gpus: nvidiaGpus } : {}),
      ...(renderNodes.length ? { renderNodes } : {}),
      failed: Object.fromEntries(failed.map(([enc, o]) => [enc, shortReason(o.error, max)])),
      ...(warnings.length ? { warnings: warnings.map((w) => shortReason(w, max * 2)) } : {}),
    });
  // Shorter reasons until it fits; an encoder's name always stays.
  for (const max of [200, 120, 60, 24, 1]) {
    const json = build(max);
    if (Buffer.byteLength(json) < MAX_ANNOTATION_BYTES) return json;
  }
  return build(1);
}

/** Labels and annotations for the node, from what its probe found. */
export function nodeLabels(caps: HwCapabilities, facts: NodeFacts): NodeMetadata {
  const labels: Record<string, string> = {};
  for (const enc of Object.keys(caps.encoders).sort()) labels[encoderLabel(enc)] = String(caps.encoders[enc]?.ok);
  for (const kind of testedDecoders(caps)) labels[decoderLabel(kind)] = String(caps.decode[kind]);
  const vendor = gpuVendor(caps, facts.renderVendors);
  if (vendor) labels[VENDOR_LABEL] = vendor;
  const warnings = probeWarnings(caps, facts.renderVendors);
  return { labels, annotations: { [PROBE_ANNOTATION]: probeAnnotation(caps, facts, warnings) } };
}
