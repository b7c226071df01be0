import { describe, expect, it } from "vitest";
import { videoJobCrd } from "./crd.ts";
import { render } from "./generate.ts";
import { parseVideoJob, VideoJobInvalidError } from "./parse.ts";
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { join } from "node:path";

const base = {
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "season-1", namespace: "media" },
  spec: {
    episodes: [{ url: "https://cdn.example.com/ep1.mp4", title: "Pilot" }],
    output: { local: { path: "./out" } },
  },
};

function issuesOf(input: unknown): string[] {
  try {
    parseVideoJob(input);
  } catch (e) {
    expect(e).toBeInstanceOf(VideoJobInvalidError);
    return (e as VideoJobInvalidError).issues;
  }
  return [];
}

const withSpec = (spec: object) => ({ ...base, spec: { ...base.spec, ...spec } });

describe("parseVideoJob", () => {
  it("fills defaults for a minimal job", () => {
    const job = parseVideoJob(base);
    expect(job.spec.quality).toBe("720p");
    expect(job.spec.codec).toBe("h264");
    expect(job.spec.compression).toEqual({ preset: "balanced", level: 5 });
    expect(job.spec.gpu.policy).toBe("auto");
    expect(job.spec.merge).toEqual({ enabled: true, chapters: true, allowPartial: false });
    expect(job.spec.cancel).toBe(false);
  });

  it("takes merge.chapterMarks episodes, source or both, leaves it absent by default, and refuses another", () => {
    for (const marks of ["episodes", "source", "both"] as const) {
      expect(parseVideoJob(withSpec({ merge: { chapterMarks: marks } })).spec.merge.chapterMarks).toBe(marks);
    }
    expect(parseVideoJob(base).spec.merge).not.toHaveProperty("chapterMarks");
    expect(() => parseVideoJob(withSpec({ merge: { chapterMarks: "all" } }))).toThrow(/chapterMarks/);
  });

  it.each([
    ["no episodes", { episodes: [] }, "spec.episodes"],
    [
      "501 episodes",
      { episodes: Array.from({ length: 501 }, () => ({ url: "https://a.example/x" })) },
      "spec.episodes",
    ],
    ["a file: URL", { episodes: [{ url: "file:///etc/passwd" }] }, "spec.episodes.0.url"],
    ["an ftp URL", { episodes: [{ url: "ftp://example.com/a.mp4" }] }, "spec.episodes.0.url"],
    ["an unknown quality", { quality: "1440p" }, "spec.quality"],
    ["level 12", { compression: { level: 12 } }, "spec.compression.level"],
    [
      "two outputs",
      { output: { local: { path: "x" }, volume: { claimName: "c" } } },
      "exactly one of s3, volume or local",
    ],
    ["no output", { output: {} }, "exactly one of s3, volume or local"],
    ["vendor with gpu off", { gpu: { policy: "off", vendor: "nvidia" } }, "gpu.vendor cannot be set"],
    ["an SSIM target of 98", { compression: { targetQuality: { metric: "ssim", score: 98 } } }, "between 0 and 1"],
    ["a tag with a space", { tags: ["two words"] }, "spec.tags.0"],
    ["a bad secret name", { output: { s3: { bucket: "videos", credentialsSecret: "Bad_Name" } } }, "credentialsSecret"],
    ["a two-letter audio language", { audio: { languages: ["en"] } }, "spec.audio.languages.0"],
    ["an audio language twice", { audio: { languages: ["eng", "eng"] } }, "each language once"],
    ["an audio default not asked for", { audio: { languages: ["jpn"], default: "eng" } }, "spec.audio.default"],
    ["an unknown audio.missing", { audio: { languages: ["jpn"], missing: "skip" } }, "spec.audio.missing"],
    [
      "a subtitle default not asked for",
      { subtitles: { languages: ["eng"], default: "jpn" } },
      "spec.subtitles.default",
    ],
    ["a subtitle default without languages", { subtitles: { default: "eng" } }, "spec.subtitles.default"],
  ])("refuses %s, naming the field", (_name, spec, expected) => {
    const issues = issuesOf(withSpec(spec));
    expect(issues.join("\n")).toContain(expected);
  });

  it("accepts the commented example in examples/videojob.yaml", async () => {
    const { parse } = await import("yaml");
    const text = await readFile(join(import.meta.dirname, "..", "..", "examples", "videojob.yaml"), "utf8");
    const job = parseVideoJob(parse(text));
    expect(job.spec.episodes).toHaveLength(4);
    expect(job.spec.output.s3?.bucket).toBe("videos");
  });

  it("keeps audio languages in the order asked, with their default and missing rule", () => {
    const job = parseVideoJob(withSpec({ audio: { languages: ["jpn", "eng"], default: "eng", missing: "fail" } }));
    expect(job.spec.audio).toMatchObject({
      languages: ["jpn", "eng"],
      default: "eng",
      missing: "fail",
      layout: "stereo",
    });
  });

  it("refuses a wrong apiVersion", () => {
    expect(issuesOf({ ...base, apiVersion: "reel.dev/v1" }).join()).toContain("apiVersion");
  });
});

describe("the CRD", () => {
  type SchemaNode = { [k: string]: unknown; properties?: Record<string, SchemaNode>; items?: SchemaNode };
  interface Crd {
    metadata: { name: string };
    spec: {
      names: { shortNames: string[] };
      versions: {
        subresources: unknown;
        additionalPrinterColumns: { name: string }[];
        schema: { openAPIV3Schema: SchemaNode };
      }[];
    };
  }
  const crd = videoJobCrd() as unknown as Crd;
  const version = crd.spec.versions[0] as Crd["spec"]["versions"][number];

  it("has the status subresource, short name and printer columns", () => {
    expect(crd.metadata.name).toBe("videojobs.reel.dev");
    expect(crd.spec.names.shortNames).toEqual(["vj"]);
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual([
      "Phase",
      "Progress",
      "Episodes",
      "Activity",
      "Age",
    ]);
  });

  it("is structural: every object has a type and never additionalProperties beside properties", () => {
    const walk = (node: SchemaNode, path: string) => {
      if (node.properties) {
        expect(node.type, path).toBe("object");
        expect(node.additionalProperties, path).toBeUndefined();
        for (const [k, v] of Object.entries(node.properties)) walk(v, `${path}.${k}`);
      }
      if (node.items) walk(node.items, `${path}[]`);
      for (const bad of ["$schema", "$ref", "anyOf", "oneOf", "allOf"])
        expect(node[bad], `${path} ${bad}`).toBeUndefined();
    };
    walk(version.schema.openAPIV3Schema, "");
  });

  it("carries every CEL rule with its message", () => {
    const text = JSON.stringify(version.schema.openAPIV3Schema);
    expect(text).toContain("exactly one of s3, volume or local");
    expect(text).toContain("cannot be resumed");
  });

  it("reads the same under YAML 1.1 (kubectl's parser): `off` stays a string, not false", async () => {
    const text = (await render())["videojob.crd.yaml"] ?? "";
    const old = parse(text, { version: "1.1" });
    expect(old).toEqual(parse(text));
    const policy = old.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.gpu.properties.policy;
    expect(policy.enum).toEqual(["off", "auto", "require"]);
  });

  it("committed generated files are up to date (run npm run generate -w @reel/crds)", async () => {
    const files = await render();
    for (const [name, content] of Object.entries(files)) {
      const committed = await readFile(join(import.meta.dirname, "..", "generated", name), "utf8");
      expect(committed, name).toBe(content);
    }
  });
});
