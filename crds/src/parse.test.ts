import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  MAX_MANIFEST_BYTES,
  parseVideoJob,
  parseVideoJobManifest,
  readVideoJobManifest,
  unknownSpecFields,
  VideoJobInvalidError,
} from "./parse.ts";

const base = {
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "season-1" },
  spec: {
    episodes: [{ url: "https://cdn.example.com/ep1.mp4", title: "Pilot" }],
    output: { local: { path: "./out" } },
  },
};

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VideoJobInvalidError);
    expect((e as VideoJobInvalidError).code).toBe("REEL_JOB_INVALID");
    return (e as VideoJobInvalidError).issues;
  }
  return [];
}

const withSpec = (spec: object) => ({ ...base, spec: { ...base.spec, ...spec } });

describe("parseVideoJob refuses unknown fields, naming the closest known one", () => {
  it.each([
    [{ qualty: "720p" }, "spec.qualty: unknown field; did you mean quality?"],
    [{ merge: { alowPartial: true } }, "spec.merge.alowPartial: unknown field; did you mean allowPartial?"],
    [
      { episodes: [{ url: "https://a.example/x.mp4", tilte: "x" }] },
      "spec.episodes.0.tilte: unknown field; did you mean title?",
    ],
    [
      { output: { s3: { bucket: "abc", credentialsSecret: "s", urlExpiri: "1h" } } },
      "spec.output.s3.urlExpiri: unknown field; did you mean urlExpiry?",
    ],
    [
      { zzzzzzzz: 1 },
      "spec.zzzzzzzz: unknown field (known: episodes, sources, quality, codec, compression, audio, subtitles, hdr, gpu, priority, output, merge, split, qualityMetrics, notification, ytdlp, politeness, tags, cancel)",
    ],
  ])("%j", (spec, issue) => {
    expect(issuesOf(() => parseVideoJob(withSpec(spec)))).toContain(issue);
  });

  it("refuses an unknown top-level field", () => {
    expect(issuesOf(() => parseVideoJob({ ...base, sepc: {} }))).toContain("sepc: unknown field; did you mean spec?");
  });

  it("names them in a spec alone (the shim's request body)", () => {
    expect(unknownSpecFields({ ...base.spec, merge: { alowPartial: true } })).toEqual([
      "spec.merge.alowPartial: unknown field; did you mean allowPartial?",
    ]);
    expect(unknownSpecFields(base.spec)).toEqual([]);
  });

  it("ignores them when asked (a spec written by a newer API server)", () => {
    expect(parseVideoJob(withSpec({ qualty: "1080p" }), { unknownFields: "ignore" }).spec.quality).toBe("720p");
  });

  it("takes a manifest as `kubectl get -o yaml` writes it (metadata Reel does not read, a status)", () => {
    const got = {
      ...base,
      metadata: { name: "a", managedFields: [{ manager: "kubectl" }], ownerReferences: [], selfLink: "x" },
      status: { phase: "Completed", somethingNew: 1 },
    };
    expect(() => parseVideoJob(got)).not.toThrow();
  });

  it("accepts labels and annotations with any keys", () => {
    expect(() => parseVideoJob({ ...base, metadata: { name: "a", labels: { anything: "x" } } })).not.toThrow();
  });
});

describe("hdr: keep", () => {
  it.each([
    [{ hdr: "keep", codec: "h264" }, false],
    [{ hdr: "keep", codec: "hevc", gpu: { policy: "require" } }, false],
    [{ hdr: "keep", codec: "hevc" }, true],
    [{ hdr: "keep", codec: "av1", gpu: { policy: "off" } }, true],
    [{ codec: "h264" }, true],
  ])("%j accepted: %s", (spec, ok) => {
    const issues = issuesOf(() => parseVideoJob(withSpec(spec)));
    if (ok) expect(issues).toEqual([]);
    else expect(issues.join()).toContain("hdr: keep needs codec hevc or av1");
  });
});

describe("durations are bounded", () => {
  it.each([
    [{ split: { minDuration: "99999999h" } }, "spec.split.minDuration: must be at most 7d"],
    [{ split: { segmentDuration: "0s" } }, "spec.split.segmentDuration: must be at least 1s"],
    [{ split: { segmentDuration: "48h" } }, "spec.split.segmentDuration: must be at most 24h"],
    [
      { output: { s3: { bucket: "abc", credentialsSecret: "s", urlExpiry: "8d" } } },
      "spec.output.s3.urlExpiry: must be at most 7d (the longest an S3 presigned URL lives)",
    ],
  ])("%j", (spec, issue) => {
    expect(issuesOf(() => parseVideoJob(withSpec(spec)))).toContain(issue);
  });

  it("accepts the bounds themselves", () => {
    const job = parseVideoJob(
      withSpec({
        split: { minDuration: "7d", segmentDuration: "24h" },
        output: { s3: { bucket: "abc", credentialsSecret: "s", urlExpiry: "6d24h" } },
      }),
    );
    expect(job.spec.output.s3?.urlExpiry).toBe("6d24h");
  });
});

describe("parseVideoJobManifest", () => {
  it("parses a YAML manifest", () => {
    expect(parseVideoJobManifest(stringify(base), "job.yaml").metadata.name).toBe("season-1");
  });

  it("refuses a manifest over the size cap before parsing it", () => {
    const text = `${stringify(base)}\n#${"x".repeat(MAX_MANIFEST_BYTES)}`;
    const issues = issuesOf(() => parseVideoJobManifest(text, "big.yaml"));
    expect(issues[0]).toMatch(/^big\.yaml: the manifest is \d+ bytes; at most 4194304 \(4 MiB\)/);
  });

  it("refuses a billion-laughs YAML without expanding it", () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      lines.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const issues = issuesOf(() => parseVideoJobManifest(lines.join("\n"), "laughs.yaml"));
    expect(issues[0]).toMatch(/^laughs\.yaml: not valid YAML: .*alias/i);
  });

  it("refuses a manifest that is not one mapping", () => {
    expect(issuesOf(() => parseVideoJobManifest("- a\n- b\n", "list.yaml"))[0]).toBe(
      "list.yaml: not a VideoJob manifest (a mapping with apiVersion, kind, metadata and spec)",
    );
  });
});

describe("readVideoJobManifest", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-manifest-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads and parses a manifest file", async () => {
    const file = join(dir, "job.yaml");
    await writeFile(file, stringify(base));
    expect((await readVideoJobManifest(file)).metadata.name).toBe("season-1");
  });

  it("refuses a file over the cap without reading it whole", async () => {
    const file = join(dir, "big.yaml");
    await writeFile(file, Buffer.alloc(MAX_MANIFEST_BYTES * 12, 0x20));
    await expect(readVideoJobManifest(file)).rejects.toMatchObject({ code: "REEL_JOB_INVALID" });
  });

  it("says when the file cannot be read", async () => {
    await expect(readVideoJobManifest(join(dir, "absent.yaml"))).rejects.toThrow(/cannot read .*absent\.yaml/);
  });
});
