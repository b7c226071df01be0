import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type HwCapabilities, probeHardware } from "../hw/capabilities.ts";
import { type FakeMachine, fakeHost } from "../hw/fake-host.ts";
import { MAX_ANNOTATION_BYTES, nodeLabels, PROBE_ANNOTATION, probeWarnings } from "./labels.ts";

// What Debian 12's ffmpeg claims to have, whatever the machine.
const compiledIn = ["libx264", "libx265", "libsvtav1", "libaom-av1"].concat(
  ["h264_nvenc", "hevc_nvenc", "av1_nvenc", "h264_vaapi", "hevc_vaapi", "av1_vaapi", "h264_qsv", "hevc_qsv", "av1_qsv"],
  ["h264_videotoolbox", "hevc_videotoolbox"],
);
const hwaccels = ["vdpau", "cuda", "vaapi", "qsv", "drm", "opencl", "vulkan"];
const cpu = ["libx264", "libx265", "libsvtav1"];
const render = "/dev/dri/renderD128";

interface Case {
  machine: FakeMachine;
  renderVendors?: Record<string, string>;
  /** The node in e2e/cluster/nodes.yaml that models this machine. */
  simulated?: string;
  labels: Record<string, string>;
}

const cpuLabels = { "reel.dev/encoder.libx264": "true", "reel.dev/encoder.libx265": "true" };
const allCpu = { ...cpuLabels, "reel.dev/encoder.libsvtav1": "true" };

const cases: Record<string, Case> = {
  "H100 (NVDEC, no NVENC)": {
    machine: {
      encoders: compiledIn,
      hwaccels,
      nvidiaGpus: ["NVIDIA H100 80GB HBM3"],
      working: cpu,
      devicesOk: ["cuda"],
    },
    simulated: "nvidia-1",
    labels: {
      ...allCpu,
      "reel.dev/encoder.h264_nvenc": "false",
      "reel.dev/encoder.hevc_nvenc": "false",
      "reel.dev/encoder.av1_nvenc": "false",
      "reel.dev/decoder.cuda": "true",
      "reel.dev/gpu-vendor": "nvidia",
    },
  },
  "L4 (NVENC and NVDEC)": {
    machine: {
      encoders: compiledIn,
      hwaccels,
      nvidiaGpus: ["NVIDIA L4"],
      working: [...cpu, "h264_nvenc", "hevc_nvenc", "av1_nvenc"],
      devicesOk: ["cuda"],
    },
    simulated: "nvidia-2",
    labels: {
      ...allCpu,
      "reel.dev/encoder.h264_nvenc": "true",
      "reel.dev/encoder.hevc_nvenc": "true",
      "reel.dev/encoder.av1_nvenc": "true",
      "reel.dev/decoder.cuda": "true",
      "reel.dev/gpu-vendor": "nvidia",
    },
  },
  "Intel Arc (QSV and VAAPI)": {
    machine: {
      encoders: compiledIn,
      hwaccels,
      renderNodes: [render],
      working: [...cpu, "h264_qsv", "hevc_qsv", "av1_qsv", "h264_vaapi", "hevc_vaapi", "av1_vaapi"],
      devicesOk: ["vaapi", "qsv"],
    },
    renderVendors: { [render]: "0x8086\n" },
    simulated: "intel-1",
    labels: {
      ...allCpu,
      "reel.dev/encoder.h264_qsv": "true",
      "reel.dev/encoder.hevc_qsv": "true",
      "reel.dev/encoder.av1_qsv": "true",
      "reel.dev/encoder.h264_vaapi": "true",
      "reel.dev/encoder.hevc_vaapi": "true",
      "reel.dev/encoder.av1_vaapi": "true",
      "reel.dev/decoder.vaapi": "true",
      "reel.dev/decoder.qsv": "true",
      "reel.dev/gpu-vendor": "intel",
    },
  },
  "AMD Radeon (VAAPI; QSV tested and false)": {
    machine: {
      encoders: compiledIn,
      hwaccels,
      renderNodes: [render],
      working: [...cpu, "h264_vaapi", "hevc_vaapi", "av1_vaapi"],
      devicesOk: ["vaapi"],
    },
    renderVendors: { [render]: "0x1002" },
    simulated: "amd-1",
    labels: {
      ...allCpu,
      "reel.dev/encoder.h264_vaapi": "true",
      "reel.dev/encoder.hevc_vaapi": "true",
      "reel.dev/encoder.av1_vaapi": "true",
      "reel.dev/encoder.h264_qsv": "false",
      "reel.dev/encoder.hevc_qsv": "false",
      "reel.dev/encoder.av1_qsv": "false",
      "reel.dev/decoder.vaapi": "true",
      "reel.dev/decoder.qsv": "false",
      "reel.dev/gpu-vendor": "amd",
    },
  },
  "CPU only": {
    machine: { encoders: compiledIn, hwaccels, working: cpu },
    simulated: "cpu-1",
    labels: allCpu,
  },
  "CPU only, an ffmpeg without SVT-AV1": {
    machine: { encoders: ["libx264", "libx265", "h264_nvenc"], hwaccels, working: cpu },
    labels: cpuLabels,
  },
  "NVIDIA card plus an Intel iGPU: the vendor whose encoder works": {
    machine: {
      encoders: compiledIn,
      hwaccels,
      nvidiaGpus: ["NVIDIA A100-SXM4-40GB"],
      renderNodes: [render],
      working: [...cpu, "h264_qsv", "hevc_qsv"],
      devicesOk: ["cuda", "qsv"],
    },
    renderVendors: { [render]: "0x8086" },
    labels: {
      ...allCpu,
      ...Object.fromEntries(["h264_nvenc", "hevc_nvenc", "av1_nvenc"].map((e) => [`reel.dev/encoder.${e}`, "false"])),
      ...Object.fromEntries(
        ["av1_qsv", "h264_vaapi", "hevc_vaapi", "av1_vaapi"].map((e) => [`reel.dev/encoder.${e}`, "false"]),
      ),
      "reel.dev/encoder.h264_qsv": "true",
      "reel.dev/encoder.hevc_qsv": "true",
      "reel.dev/decoder.cuda": "true",
      "reel.dev/decoder.vaapi": "false",
      "reel.dev/decoder.qsv": "true",
      "reel.dev/gpu-vendor": "intel",
    },
  },
  "a virtio-gpu render node in a VM is no GPU vendor": {
    machine: { encoders: compiledIn, hwaccels, renderNodes: [render], working: cpu },
    renderVendors: { [render]: "0x1af4" },
    labels: {
      ...allCpu,
      ...Object.fromEntries(
        ["h264_vaapi", "hevc_vaapi", "av1_vaapi", "h264_qsv", "hevc_qsv", "av1_qsv"].map((e) => [
          `reel.dev/encoder.${e}`,
          "false",
        ]),
      ),
      "reel.dev/decoder.vaapi": "false",
      "reel.dev/decoder.qsv": "false",
    },
  },
  "sysfs unreadable: a working QSV encoder still says Intel": {
    machine: {
      encoders: ["libx264", "h264_qsv"],
      hwaccels,
      renderNodes: [render],
      working: ["libx264", "h264_qsv"],
      devicesOk: ["qsv"],
    },
    labels: {
      "reel.dev/encoder.libx264": "true",
      "reel.dev/encoder.h264_qsv": "true",
      "reel.dev/decoder.vaapi": "false",
      "reel.dev/decoder.qsv": "true",
      "reel.dev/gpu-vendor": "intel",
    },
  },
};

const probedAt = new Date("2026-03-01T12:00:00Z");
const probe = (m: FakeMachine) => probeHardware({ host: fakeHost(m), refresh: true });

describe("nodeLabels", () => {
  it.each(Object.entries(cases))("labels a node: %s", async (_name, c) => {
    const caps = await probe(c.machine);
    const { labels, annotations } = nodeLabels(caps, { probedAt, renderVendors: c.renderVendors ?? {} });
    expect(labels).toEqual(c.labels);
    expect(Object.keys(annotations)).toEqual([PROBE_ANNOTATION]);
  });

  it("writes the labels the simulated cluster's nodes carry (what the operator's scheduler reads)", async () => {
    const file = join(import.meta.dirname, "..", "..", "..", "e2e", "cluster", "nodes.yaml");
    const nodes = parseAllDocuments(readFileSync(file, "utf8")).map(
      (d) => d.toJS() as { metadata: { name: string; labels: Record<string, string> } },
    );
    for (const c of Object.values(cases)) {
      if (!c.simulated) continue;
      const node = nodes.find((n) => n.metadata.name === c.simulated);
      expect(node, c.simulated).toBeDefined();
      const simulated = Object.entries(node?.metadata.labels ?? {}).filter(([k]) => k.startsWith("reel.dev/"));
      const { labels } = nodeLabels(await probe(c.machine), { probedAt, renderVendors: c.renderVendors ?? {} });
      // Every capability label the scheduler is tested against is one the probe writes, with the same value.
      for (const [k, v] of simulated) expect(labels[k], `${c.simulated} ${k}`).toBe(v);
    }
  });

  it("annotates the probe time, ffmpeg version, GPUs and why each failed encoder failed", async () => {
    const caps = await probe(cases["H100 (NVDEC, no NVENC)"]?.machine as FakeMachine);
    const { annotations } = nodeLabels(caps, { probedAt });
    const note = JSON.parse(annotations[PROBE_ANNOTATION] ?? "");
    expect(note).toMatchObject({
      time: "2026-03-01T12:00:00.000Z",
      ffmpeg: "5.1.9-0+deb12u1",
      gpus: ["NVIDIA H100 80GB HBM3"],
      failed: {
        av1_nvenc: "OpenEncodeSessionEx failed: unsupported device",
        h264_nvenc: "OpenEncodeSessionEx failed: unsupported device",
        hevc_nvenc: "OpenEncodeSessionEx failed: unsupported device",
      },
    });
    expect(note.warnings[0]).toMatch(/NVDEC but no NVENC/);
  });

  it("keeps the annotation under 4 KiB however long ffmpeg's errors are", async () => {
    const caps = await probe(cases["AMD Radeon (VAAPI; QSV tested and false)"]?.machine as FakeMachine);
    const noisy: HwCapabilities = {
      ...caps,
      encoders: Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`enc${i}_qsv`, { ok: false, error: "x".repeat(5000) }]),
      ),
    };
    const json = nodeLabels(noisy, { probedAt }).annotations[PROBE_ANNOTATION] ?? "";
    expect(Buffer.byteLength(json)).toBeLessThan(MAX_ANNOTATION_BYTES);
    expect(Object.keys(JSON.parse(json).failed)).toHaveLength(40);
  });
});

describe("probeWarnings", () => {
  it("explains a GPU whose every encoder failed, and stays quiet when one works or there is no GPU", async () => {
    const warn = async (name: string) => {
      const c = cases[name] as Case;
      return probeWarnings(await probe(c.machine), c.renderVendors ?? {});
    };
    const h100 = await warn("H100 (NVDEC, no NVENC)");
    expect(h100).toHaveLength(1);
    expect(h100[0]).toMatch(/NVIDIA H100 80GB HBM3 present but every nvidia GPU encoder failed/);
    expect(h100[0]).toMatch(/data-centre NVIDIA GPUs \(A100, H100, H200, B200\) have NVDEC but no NVENC/);
    expect(h100[0]).toMatch(/decodes on the GPU/);
    expect(await warn("L4 (NVENC and NVDEC)")).toEqual([]);
    expect(await warn("CPU only")).toEqual([]);
    expect(await warn("Intel Arc (QSV and VAAPI)")).toEqual([]);
    // The A100 fails NVENC but the node's Intel iGPU encodes: still worth saying.
    expect(await warn("NVIDIA card plus an Intel iGPU: the vendor whose encoder works")).toHaveLength(1);
  });

  it("points at the driver when a render node is there but VAAPI and QSV fail", async () => {
    const caps = await probe({ encoders: compiledIn, hwaccels, renderNodes: [render], working: cpu });
    expect(probeWarnings(caps, { [render]: "0x1002" })).toEqual([
      expect.stringMatching(/^amd GPU \(\/dev\/dri\/renderD128\) present but every amd GPU encoder failed .*driver/),
    ]);
  });
});
