import { describe, expect, it } from "vitest";
import { buildWorkerEnv, parseWorkerEnvVars, type WorkerEnvVars, WorkerEnvError } from "./worker-env.ts";

const common = {
  videojob: "media/season-1",
  uid: "3f2a",
  staging: "s3://videos/season-1/.reel-staging/3f2a/",
  spec: JSON.stringify({ episodes: [{ url: "https://cdn.example.com/a.mp4" }] }),
  egressAllow: ["10.0.0.0/8", "127.0.0.0/8"],
  cacheDir: "/scratch",
  terminationLog: "/dev/termination-log",
  redisUrl: "redis://redis:6379",
};
const asRecord = (vars: { name: string; value: string }[]) => Object.fromEntries(vars.map((v) => [v.name, v.value]));

const cases: Array<[string, WorkerEnvVars, Record<string, string>]> = [
  [
    "an episode pod on a GPU node",
    {
      ...common,
      mode: "episode",
      episode: { index: 2, url: "https://cdn.example.com/a.mp4", title: "Pilot" },
      encoderHint: "h264_nvenc",
      onEncoderFailure: "exit",
    },
    {},
  ],
  ["an episode pod on the CPU, untitled", { ...common, mode: "episode", episode: { index: 0, url: "u" } }, {}],
  [
    "a segment pod (JOB_COMPLETION_INDEX from Kubernetes)",
    { ...common, mode: "segment", episode: { index: 1, url: "u", title: "Two" }, encoderHint: "libx264" },
    { JOB_COMPLETION_INDEX: "7" },
  ],
  [
    "a merge pod",
    {
      ...common,
      mode: "merge",
      episodes: [
        { index: 0, title: "One" },
        { index: 2, title: "Three", segments: 12 },
      ],
    },
    {},
  ],
  [
    "a merge pod without Redis or egress",
    { ...common, redisUrl: undefined, egressAllow: [], mode: "merge", episodes: [{ index: 0 }] } as WorkerEnvVars,
    {},
  ],
];

describe("the worker env contract (the operator builds it, the worker parses it)", () => {
  it.each(cases)("reads back what was built for %s", (_what, x, fromKube) => {
    const back = parseWorkerEnvVars({ ...asRecord(buildWorkerEnv(x)), ...fromKube });
    const { segment, ...rest } = back as typeof back & { segment?: number };
    const expected = JSON.parse(JSON.stringify(x));
    expect(rest).toEqual(expected);
    expect(segment).toBe(fromKube.JOB_COMPLETION_INDEX ? Number(fromKube.JOB_COMPLETION_INDEX) : undefined);
  });

  it("builds the variables in one fixed order (planned Jobs hash them)", () => {
    const names = buildWorkerEnv(cases[0]?.[1] as WorkerEnvVars).map((v) => v.name);
    expect(names).toEqual([
      "REEL_MODE",
      "REEL_VIDEOJOB",
      "REEL_VIDEOJOB_UID",
      "REEL_STAGING",
      "REEL_EPISODE_INDEX",
      "REEL_EPISODE_URL",
      "REEL_EPISODE_TITLE",
      "REEL_SPEC",
      "REEL_ENCODER_HINT",
      "REEL_ON_ENCODER_FAILURE",
      "REEL_EGRESS_ALLOW",
      "REEL_CACHE_DIR",
      "REEL_TERMINATION_LOG",
      "REEL_REDIS_URL",
    ]);
  });

  it.each([
    [{ REEL_MODE: "transcode" }, /REEL_MODE: must be "episode", "segment" or "merge"/],
    [
      {
        ...asRecord(buildWorkerEnv({ ...common, mode: "episode", episode: { index: 0, url: "u" } })),
        REEL_EPISODE_INDEX: "-1",
      },
      /REEL_EPISODE_INDEX: must be a whole number/,
    ],
    [
      { ...asRecord(buildWorkerEnv({ ...common, mode: "segment", episode: { index: 0, url: "u" } })) },
      /JOB_COMPLETION_INDEX: missing/,
    ],
    [
      { ...asRecord(buildWorkerEnv({ ...common, mode: "merge", episodes: [{ index: 0 }] })), REEL_MERGE_EPISODES: "[" },
      /REEL_MERGE_EPISODES: not JSON/,
    ],
    [
      { ...asRecord(buildWorkerEnv({ ...common, mode: "merge", episodes: [{ index: 0 }] })), REEL_STAGING: "videos/x" },
      /REEL_STAGING: must be s3/,
    ],
  ])("names the bad variable: %j", (env, message) => {
    expect(() => parseWorkerEnvVars(env)).toThrow(WorkerEnvError);
    expect(() => parseWorkerEnvVars(env)).toThrow(message);
  });

  it("reads the namespace's Redis user, both halves from the Secret, or names the missing half", () => {
    const built = asRecord(buildWorkerEnv({ ...common, mode: "episode", episode: { index: 0, url: "u" } }));
    const back = parseWorkerEnvVars({ ...built, REEL_REDIS_USERNAME: "reel-w-media", REEL_REDIS_PASSWORD: "pw" });
    expect(back.redisAuth).toEqual({ username: "reel-w-media", password: "pw" });
    expect(parseWorkerEnvVars(built).redisAuth).toBeUndefined();
    expect(() => parseWorkerEnvVars({ ...built, REEL_REDIS_USERNAME: "reel-w-media" })).toThrow(
      /REEL_REDIS_PASSWORD: missing/,
    );
    expect(() => parseWorkerEnvVars({ ...built, REEL_REDIS_PASSWORD: "pw" })).toThrow(/REEL_REDIS_USERNAME: missing/);
  });
});
