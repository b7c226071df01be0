// The page's pure modules (api-shim/public/*.js: no DOM at import), tested in Node.
import {
  episodeTitle,
  JobEvent,
  outputDownloadPath,
  progressChannel,
  progressMessage,
  storedFiles as contractFiles,
  VideoJobStatus,
} from "@reel/crds";
import { describe, expect, it } from "vitest";
import { codesIn } from "../../public/errors.js";
import { formatBytes, formatDuration, formatQuality, formatStage } from "../../public/format.js";
import { describeFile, livePod, outputPath, storedFiles } from "../../public/outputs.js";
import { buildCreateBody, parseEpisodes, parseTags, pathSegments, placeDetail } from "../../public/spec.js";
import { parseProgress, progressEvent } from "../live/progress.ts";

describe("parseEpisodes", () => {
  it("reads `URL | title` lines, skipping blank and # lines, and remembers each episode's line", () => {
    const text =
      "\nhttps://a.example/1.mp4 | Pilot\n# a note\n  https://a.example/2.mp4  \nhttps://a.example/3.mp4 | A | B\n";
    expect(parseEpisodes(text)).toEqual({
      episodes: [
        { url: "https://a.example/1.mp4", title: "Pilot" },
        { url: "https://a.example/2.mp4" },
        { url: "https://a.example/3.mp4", title: "A | B" },
      ],
      lines: [2, 4, 5],
    });
  });
});

describe("buildCreateBody", () => {
  const values = {
    name: "",
    episodes: "https://a.example/1.mp4 | One",
    quality: "1080p",
    codec: "hevc",
    preset: "small",
    level: "7",
    gpuPolicy: "off",
    gpuVendor: "",
    merge: true,
    chapters: true,
    allowPartial: true,
    bucket: " videos ",
    prefix: "s1/",
    endpoint: "",
    credentialsSecret: "s3-creds",
    tags: "news, weekly weekly",
  };

  it("builds the spec the API takes, leaving out what was left empty", () => {
    expect(buildCreateBody(values).body).toEqual({
      spec: {
        episodes: [{ url: "https://a.example/1.mp4", title: "One" }],
        quality: "1080p",
        codec: "hevc",
        compression: { preset: "small", level: 7 },
        gpu: { policy: "off" },
        merge: { enabled: true, chapters: true, allowPartial: true },
        output: { s3: { bucket: "videos", prefix: "s1/", credentialsSecret: "s3-creds" } },
        tags: ["news", "weekly"],
      },
    });
  });

  it("adds the name, GPU vendor and endpoint when given", () => {
    const { body } = buildCreateBody({ ...values, name: "show", gpuVendor: "nvidia", endpoint: "http://minio:9000" });
    expect(body.name).toBe("show");
    expect(body.spec).toMatchObject({
      gpu: { policy: "off", vendor: "nvidia" },
      output: { s3: { endpoint: "http://minio:9000" } },
    });
  });

  it("splits tags on commas and spaces", () => {
    expect(parseTags(" a,b  c,,a ")).toEqual(["a", "b", "c"]);
  });
});

describe("placeDetail", () => {
  it("reads every spelling of a path", () => {
    const want = ["spec", "episodes", 0, "url"];
    expect(pathSegments("spec.episodes.0.url")).toEqual(want);
    expect(pathSegments("spec.episodes[0].url")).toEqual(want);
    expect(pathSegments("/spec/episodes/0/url")).toEqual(want);
    expect(pathSegments(["spec", "episodes", 0, "url"])).toEqual(want);
  });

  it("points an episode's error at its line in the episodes box", () => {
    expect(placeDetail({ path: "spec.episodes.1.url", message: "must be an http:// or https:// URL" }, [2, 5])).toEqual(
      {
        field: "episodes",
        message: "Line 5 url: must be an http:// or https:// URL",
      },
    );
  });

  it("puts output, compression, tag and name errors next to their fields", () => {
    expect(placeDetail({ path: "spec.output.s3.bucket", message: "too short" }).field).toBe("bucket");
    expect(placeDetail({ path: "spec.output.s3.credentialsSecret", message: "x" }).field).toBe("credentials-secret");
    expect(placeDetail({ path: "spec.output", message: "exactly one output" })).toEqual({
      field: "bucket",
      message: "exactly one output",
    });
    expect(placeDetail({ path: "spec.compression.level", message: "at most 9" }).field).toBe("level");
    expect(placeDetail({ path: "spec.tags.1", message: "bad" })).toEqual({ field: "tags", message: "Tag 2: bad" });
    expect(placeDetail({ path: "name", message: "not a DNS name" }).field).toBe("name");
    // A spec-relative path (no leading "spec") is read as inside the spec.
    expect(placeDetail({ path: "gpu.policy", message: "bad" }).field).toBe("gpu-policy");
  });

  it("leaves what has no field to the form as a whole", () => {
    expect(placeDetail({ path: "status", message: "not accepted here: status" })).toEqual({
      field: undefined,
      message: "spec.status: not accepted here: status",
    });
    expect(placeDetail({ path: "(body)", message: "expected object" }).field).toBeUndefined();
  });
});

describe("formatting", () => {
  it("shows sizes, durations, stages and quality scores as people read them", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(734_003_200)).toBe("700 MiB");
    expect(formatDuration(65)).toBe("1:05");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatStage("transcoding")).toBe("Transcoding");
    expect(formatQuality({ ssim: 0.98765, psnr: 41.234, method: "encoder" })).toBe("SSIM 0.988 · PSNR 41.2 dB");
    expect(formatQuality(undefined)).toBe("");
  });

  it("finds each error code in a condition message once", () => {
    expect(
      codesIn("REEL_EPISODES_FAILED: episode 1 (a): REEL_SOURCE_NOT_FOUND; episode 2 (b): REEL_SOURCE_NOT_FOUND"),
    ).toEqual(["REEL_EPISODES_FAILED", "REEL_SOURCE_NOT_FOUND"]);
  });
});

describe("stored files and their links", () => {
  const statuses = [
    {
      outputs: [
        { location: "s3://videos/s1/a.mp4", episode: 0, sizeBytes: 10 },
        { location: "s3://videos/s1/b.mp4", episode: 1, expiredAt: "2026-02-01T00:00:00Z" },
        { location: "pvc://out/s1/c.mp4", episode: 2, title: "Three" },
      ],
    },
    { output: { location: "s3://videos/s1/all.mp4", chapters: 3, url: "https://x" } },
    { phase: "Processing" },
  ].map((s) => VideoJobStatus.parse(s));

  it("lists the same files as the REST contract, status.output as file 0 of an older status", () => {
    for (const st of statuses) expect(storedFiles(st)).toEqual(contractFiles(st));
    expect(storedFiles(undefined)).toEqual([]);
  });

  it("links each file through the shim's route, by uid when the job has one", () => {
    expect(`/api/v1${outputPath({ id: "s1", uid: "0a7d9e0e-1111-4c4c-8d8d-222233334444" }, 2)}`).toBe(
      outputDownloadPath("0a7d9e0e-1111-4c4c-8d8d-222233334444", 2),
    );
    expect(`/api/v1${outputPath({ id: "s 1" }, 0)}`).toBe(outputDownloadPath("s 1", 0));
  });

  it("offers a download for a file kept in S3 only, named by its episode", () => {
    const files = storedFiles(statuses[0]);
    const episodes = [{ title: "Pilot" }, {}, {}];
    expect(files.map((f, n) => describeFile(f, n, files.length, episodes))).toEqual([
      { name: "Pilot", title: "Pilot", state: "download" },
      { name: episodeTitle(undefined, 1), title: episodeTitle(undefined, 1), state: "expired" },
      { name: "Three", title: "Three", state: "volume" },
    ]);
    expect(describeFile(storedFiles(statuses[1])[0], 0, 1)).toEqual({
      name: "the video",
      title: undefined,
      state: "download",
    });
  });
});

describe("live pod progress", () => {
  /** A pod's message as the shim turns it into a stream event (live/progress.ts), as the page gets it. */
  const streamed = (m: Parameters<typeof progressMessage>[0]) => {
    const read = parseProgress(progressChannel("media/s1"), JSON.stringify(progressMessage(m)));
    if (!read) throw new Error("not read");
    return JobEvent.parse({ id: "1-1", job: "s1", at: "2026-01-02T03:04:05Z", ...progressEvent(read.msg) });
  };

  it("keeps an episode pod's and the merge pod's stage, phase and percent as the shim sends them", () => {
    expect(livePod(streamed({ index: 1, stage: "encode", fraction: 0.5 }))).toEqual({
      kind: "episode",
      index: 1,
      stage: "encode",
      phase: "Transcoding",
      progress: 61,
    });
    expect(livePod(streamed({ index: "merge", stage: "merge", fraction: 0.5 }))).toEqual({
      kind: "merge",
      stage: "merge",
      phase: "Merging",
      progress: 55,
    });
    expect(livePod({ type: "phase", phase: "Processing" })).toBeUndefined();
  });
});
