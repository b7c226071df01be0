import { describe, expect, it } from "vitest";
import { parseWorkerEnv, volumeOutputDir } from "./env.ts";

const spec = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    episodes: [{ url: "https://cdn.example.com/ep3.mp4", title: "Three" }],
    output: { s3: { bucket: "videos", prefix: "shows/", credentialsSecret: "s3-creds", endpoint: "http://s3.local" } },
    ...over,
  });

const episodeEnv = (over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  REEL_MODE: "episode",
  REEL_VIDEOJOB: "media/season-1",
  REEL_VIDEOJOB_UID: "uid-1",
  REEL_EPISODE_INDEX: "2",
  REEL_EPISODE_URL: "https://cdn.example.com/ep3.mp4",
  REEL_SPEC: spec(),
  REEL_STAGING: "s3://videos/shows/.reel-staging/uid-1/",
  REEL_EGRESS_ALLOW: "",
  REEL_CACHE_DIR: "/scratch",
  AWS_ACCESS_KEY_ID: "AKIA",
  AWS_SECRET_ACCESS_KEY: "secret",
  ...over,
});

const mergeEnv = (over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  REEL_MODE: "merge",
  REEL_VIDEOJOB: "media/season-1",
  REEL_VIDEOJOB_UID: "uid-1",
  REEL_SPEC: spec({
    episodes: [{ url: "https://a.example/1.mp4", title: "Pilot" }, { url: "https://a.example/2.mp4" }],
  }),
  REEL_STAGING: "s3://videos/shows/.reel-staging/uid-1/",
  REEL_MERGE_EPISODES: JSON.stringify([{ index: 0, title: "Pilot" }, { index: 1 }]),
  AWS_ACCESS_KEY_ID: "AKIA",
  AWS_SECRET_ACCESS_KEY: "secret",
  ...over,
});

function failure(env: NodeJS.ProcessEnv): { code: string; message: string } {
  try {
    parseWorkerEnv(env);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error("expected the environment to be refused");
}

describe("parseWorkerEnv", () => {
  it("runs a spec with a field this worker does not know (a CRD newer than the image)", () => {
    const w = parseWorkerEnv(episodeEnv({ REEL_SPEC: spec({ futureSetting: { mode: "on" } }) }));
    expect(w.job.spec.episodes).toHaveLength(1);
  });

  it("reads an episode pod's contract, with the spec's defaults applied", () => {
    const w = parseWorkerEnv(episodeEnv());
    if (w.mode !== "episode") throw new Error("mode");
    expect(w.ref).toBe("media/season-1");
    expect(w.job.metadata).toMatchObject({ name: "season-1", namespace: "media", uid: "uid-1" });
    expect(w.job.spec.quality).toBe("720p");
    expect(w.job.spec.compression).toEqual({ preset: "balanced", level: 5 });
    expect(w.episode).toEqual({ index: 2, url: "https://cdn.example.com/ep3.mp4", title: "Three" });
    expect(w.staging).toEqual({ kind: "s3", bucket: "videos", prefix: "shows/.reel-staging/uid-1/" });
    expect(w.terminationLog).toBe("/dev/termination-log");
    expect(w.config.REEL_EGRESS_ALLOW).toEqual([]);
    expect(w.redisUrl).toBeUndefined();
  });

  it("takes REEL_EPISODE_TITLE over the spec's title and names untitled episodes by their place in the job", () => {
    const titled = parseWorkerEnv(episodeEnv({ REEL_EPISODE_TITLE: "Drei" }));
    expect(titled.mode === "episode" && titled.episode.title).toBe("Drei");
    const untitled = parseWorkerEnv(
      episodeEnv({ REEL_SPEC: spec({ episodes: [{ url: "https://cdn.example.com/ep3.mp4" }] }) }),
    );
    expect(untitled.mode === "episode" && untitled.episode.title).toBe("Episode 3");
  });

  it("refuses a REEL_SPEC that is not JSON with REEL_JOB_INVALID", () => {
    const e = failure(episodeEnv({ REEL_SPEC: "{quality: 720p" }));
    expect(e.code).toBe("REEL_JOB_INVALID");
    expect(e.message).toContain("REEL_SPEC is not JSON");
  });

  it("refuses a REEL_SPEC that breaks the schema with REEL_JOB_INVALID, naming the field", () => {
    const e = failure(episodeEnv({ REEL_SPEC: spec({ quality: "1440p" }) }));
    expect(e.code).toBe("REEL_JOB_INVALID");
    expect(e.message).toContain("spec.quality");
  });

  it("refuses a REEL_SPEC that breaks a cross-field rule", () => {
    const e = failure(episodeEnv({ REEL_SPEC: spec({ gpu: { policy: "off", vendor: "nvidia" } }) }));
    expect(e.code).toBe("REEL_JOB_INVALID");
    expect(e.message).toContain("gpu.vendor");
  });

  it.each([
    ["no uid", { REEL_VIDEOJOB_UID: undefined }, "REEL_VIDEOJOB_UID: missing"],
    ["a bad videojob", { REEL_VIDEOJOB: "season-1" }, "REEL_VIDEOJOB: must be <namespace>/<name>"],
    ["an unknown mode", { REEL_MODE: "split" }, 'REEL_MODE: must be "episode", "segment" or "merge"'],
    ["a relative staging path", { REEL_STAGING: "staging/" }, "REEL_STAGING"],
    ["a negative index", { REEL_EPISODE_INDEX: "-1" }, "REEL_EPISODE_INDEX"],
    ["a URL other than the spec's", { REEL_EPISODE_URL: "https://other.example/x.mp4" }, "exactly its one episode"],
    [
      "a spec with two episodes",
      {
        REEL_SPEC: spec({
          episodes: [{ url: "https://cdn.example.com/ep3.mp4" }, { url: "https://cdn.example.com/ep4.mp4" }],
        }),
      },
      "exactly its one episode",
    ],
    ["S3 staging without credentials", { AWS_SECRET_ACCESS_KEY: undefined }, "AWS_ACCESS_KEY_ID"],
    [
      "S3 staging with a volume output",
      { REEL_SPEC: spec({ output: { volume: { claimName: "media" } } }) },
      "spec.output.s3 is absent",
    ],
  ])("refuses %s with REEL_WORKER_ENV_INVALID", (_name, over, expected) => {
    const e = failure(episodeEnv(over));
    expect(e.code).toBe("REEL_WORKER_ENV_INVALID");
    expect(e.message).toContain(expected);
  });

  it("never puts the S3 secret in a message", () => {
    const e = failure(episodeEnv({ REEL_VIDEOJOB_UID: "", AWS_SECRET_ACCESS_KEY: "very-secret-value" }));
    expect(e.message).not.toContain("very-secret-value");
  });

  it("reads a merge pod's list, filling titles from the spec", () => {
    const w = parseWorkerEnv(mergeEnv());
    if (w.mode !== "merge") throw new Error("mode");
    expect(w.episodes).toEqual([
      { index: 0, title: "Pilot" },
      { index: 1, title: "Episode 2" },
    ]);
    expect(w.outputDir).toBeUndefined();
  });

  it.each([
    ["not JSON", "[{index: 0}]", "not JSON"],
    ["empty", "[]", "REEL_MERGE_EPISODES"],
    ["out of range", JSON.stringify([{ index: 5 }]), "index 5 is out of range"],
    ["repeated", JSON.stringify([{ index: 1 }, { index: 1 }]), "index 1 is out of range or repeated"],
  ])("refuses a merge list that is %s", (_name, list, expected) => {
    const e = failure(mergeEnv({ REEL_MERGE_EPISODES: list }));
    expect(e.code).toBe("REEL_WORKER_ENV_INVALID");
    expect(e.message).toContain(expected);
  });

  it("puts a volume output beside .reel-staging, and refuses staging elsewhere", () => {
    const volume = spec({
      episodes: [{ url: "https://a.example/1.mp4" }],
      output: { volume: { claimName: "media", path: "/shows/s1" } },
    });
    const w = parseWorkerEnv(
      mergeEnv({
        REEL_SPEC: volume,
        REEL_STAGING: "/output/shows/s1/.reel-staging/uid-1/",
        REEL_MERGE_EPISODES: '[{"index":0}]',
      }),
    );
    expect(w.mode === "merge" && w.outputDir).toBe("/output/shows/s1");
    expect(volumeOutputDir("/output/.reel-staging/uid-1")).toBe("/output");
    const e = failure(
      mergeEnv({ REEL_SPEC: volume, REEL_STAGING: "/output/tmp/", REEL_MERGE_EPISODES: '[{"index":0}]' }),
    );
    expect(e.code).toBe("REEL_WORKER_ENV_INVALID");
    expect(e.message).toContain(".reel-staging/<uid>/");
  });
});
