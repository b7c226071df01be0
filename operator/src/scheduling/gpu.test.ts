import { describe, expect, it } from "vitest";
import { type ObservedNode, type PlacementInput, placeEpisode } from "./gpu.ts";

// The simulated cluster of e2e/cluster/nodes.yaml, in short.
const nodes: ObservedNode[] = [
  { name: "cpu-1", labels: { "reel.dev/encoder.libx264": "true" } },
  {
    name: "nvidia-1", // H100: NVDEC, no NVENC
    labels: {
      "reel.dev/gpu-vendor": "nvidia",
      "reel.dev/encoder.h264_nvenc": "false",
      "reel.dev/decoder.cuda": "true",
    },
  },
  {
    name: "nvidia-2", // L4: NVENC works
    labels: {
      "reel.dev/gpu-vendor": "nvidia",
      "reel.dev/encoder.h264_nvenc": "true",
      "reel.dev/encoder.hevc_nvenc": "true",
    },
  },
  { name: "intel-1", labels: { "reel.dev/gpu-vendor": "intel", "reel.dev/encoder.h264_qsv": "true" } },
  { name: "amd-1", labels: { "reel.dev/gpu-vendor": "amd", "reel.dev/encoder.h264_vaapi": "true" } },
];

const input = (over: Partial<PlacementInput> = {}): PlacementInput => ({
  gpu: { policy: "auto" },
  codec: "h264",
  nodes,
  failedNodes: [],
  ...over,
});

const place = (over: Partial<PlacementInput>) => {
  const r = placeEpisode(input(over));
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.placement;
};

describe("placeEpisode", () => {
  it("sends an NVIDIA h264 encode only to a node whose NVENC passed its test encode, with the GPU limit", () => {
    const p = place({ gpu: { policy: "require", vendor: "nvidia" } });
    expect(p).toMatchObject({
      kind: "gpu",
      vendor: "nvidia",
      encoder: "h264_nvenc",
      limits: { "nvidia.com/gpu": "1" },
    });
    expect(p.required).toEqual([
      { key: "reel.dev/gpu-vendor", operator: "In", values: ["nvidia"] },
      { key: "reel.dev/encoder.h264_nvenc", operator: "In", values: ["true"] },
    ]);
    expect(p.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  });

  it.each([
    ["intel", "h264_qsv", "gpu.intel.com/i915"],
    ["amd", "h264_vaapi", "amd.com/gpu"],
  ] as const)("uses %s's encoder %s and resource %s", (vendor, encoder, resource) => {
    const p = place({ gpu: { policy: "require", vendor } });
    expect(p.encoder).toBe(encoder);
    expect(p.limits).toEqual({ [resource]: "1" });
  });

  it("retries on another capable node, never the one that failed (anti-affinity)", () => {
    const p = place({ gpu: { policy: "auto", vendor: "nvidia" }, failedNodes: ["nvidia-2"] });
    // nvidia-1 cannot encode (H100), nvidia-2 failed: auto falls back to CPU, away from nvidia-2.
    expect(p.kind).toBe("cpu");
    expect(p.required).toEqual([{ key: "kubernetes.io/hostname", operator: "NotIn", values: ["nvidia-2"] }]);
    expect(p.reason).toContain("failed on nvidia-2");
  });

  it("with two capable nodes, a failure moves the episode to the other one", () => {
    const more = [
      ...nodes,
      { name: "nvidia-3", labels: { "reel.dev/gpu-vendor": "nvidia", "reel.dev/encoder.h264_nvenc": "true" } },
    ];
    const p = place({ gpu: { policy: "require", vendor: "nvidia" }, nodes: more, failedNodes: ["nvidia-2"] });
    expect(p.kind).toBe("gpu");
    expect(p.required).toContainEqual({ key: "kubernetes.io/hostname", operator: "NotIn", values: ["nvidia-2"] });
    expect(p.reason).toContain("retrying on another nvidia node");
  });

  it("require with no capable node is refused with a code instead of waiting forever", () => {
    const r = placeEpisode(input({ gpu: { policy: "require", vendor: "nvidia" }, codec: "av1" }));
    expect(r).toMatchObject({ ok: false, code: "REEL_ENCODER_UNAVAILABLE" });
  });

  it("auto without a capable node, or after the GPU attempts are exhausted, goes to the CPU", () => {
    expect(place({ codec: "av1" })).toMatchObject({ kind: "cpu", encoder: "libsvtav1" });
    expect(place({ gpuExhausted: true })).toMatchObject({ kind: "cpu", encoder: "libx264" });
  });

  it("policy off keeps CPU work off GPU nodes when it can", () => {
    const p = place({ gpu: { policy: "off" } });
    expect(p).toMatchObject({ kind: "cpu", limits: {}, tolerations: [] });
    expect(p.preferred).toEqual([{ key: "reel.dev/gpu-vendor", operator: "DoesNotExist" }]);
  });

  it("auto without a vendor picks any vendor whose encoder works, and skips cordoned nodes", () => {
    expect(place({}).vendor).toBe("nvidia");
    const cordoned = nodes.map((n) => (n.name === "nvidia-2" ? { ...n, unschedulable: true } : n));
    expect(place({ nodes: cordoned }).vendor).toBe("intel");
  });

  it("Apple GPUs are not schedulable: auto goes to CPU, require is refused", () => {
    expect(place({ gpu: { policy: "auto", vendor: "apple" } }).kind).toBe("cpu");
    expect(placeEpisode(input({ gpu: { policy: "require", vendor: "apple" } }))).toMatchObject({ ok: false });
  });
});
