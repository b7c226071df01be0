// workerMain's failures before any work: exit codes, the termination message and the log lines.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exitCodeOf, workerMain } from "./main.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-worker-main-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runWith(env: NodeJS.ProcessEnv) {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString()));
  const code = await workerMain({ REEL_TERMINATION_LOG: join(dir, "termination-log"), ...env }, { logStream: stream });
  const termination = JSON.parse(await readFile(join(dir, "termination-log"), "utf8"));
  const lines = chunks
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, termination, lines };
}

const base = {
  REEL_MODE: "episode",
  REEL_VIDEOJOB: "media/season-1",
  REEL_VIDEOJOB_UID: "uid-1",
  REEL_EPISODE_INDEX: "0",
  REEL_EPISODE_URL: "https://cdn.example.com/ep1.mp4",
  REEL_STAGING: "s3://videos/.reel-staging/uid-1/",
  AWS_ACCESS_KEY_ID: "AKIATEST",
  AWS_SECRET_ACCESS_KEY: "do-not-log-this-secret",
};

describe("workerMain", () => {
  it("exits 2 on an invalid REEL_SPEC with REEL_JOB_INVALID in the termination message and the log", async () => {
    const r = await runWith({ ...base, REEL_SPEC: JSON.stringify({ episodes: [], output: {} }) });
    expect(r.code).toBe(2);
    expect(r.termination).toMatchObject({ mode: "episode", index: 0, phase: "Failed" });
    expect(r.termination.error.code).toBe("REEL_JOB_INVALID");
    expect(r.termination.error.message).toContain("spec.episodes");
    const failed = r.lines.find((l) => l.msg === "worker failed");
    expect(failed).toMatchObject({ videojob: "media/season-1", episode: 0, code: "REEL_JOB_INVALID", level: 50 });
    expect(JSON.stringify(r.lines)).not.toContain("do-not-log-this-secret");
  });

  it("exits 2 with REEL_WORKER_ENV_INVALID when the operator left a variable out", async () => {
    const r = await runWith({ ...base, REEL_MODE: "merge", REEL_SPEC: "{}" });
    expect(r.code).toBe(2);
    expect(r.termination).toMatchObject({ mode: "merge", phase: "Failed", error: { code: "REEL_WORKER_ENV_INVALID" } });
    expect(r.termination.error.message).toContain("REEL_MERGE_EPISODES");
  });

  it("still exits with the right code when the termination log cannot be written", async () => {
    const code = await workerMain(
      { ...base, REEL_SPEC: "not json", REEL_TERMINATION_LOG: join(dir, "missing", "dir", "log") },
      { logStream: new PassThrough() },
    );
    expect(code).toBe(2);
  });
});

describe("exitCodeOf", () => {
  it.each([
    [{ mode: "episode", phase: "Completed" }, 0],
    [{ mode: "episode", phase: "Failed", error: { code: "REEL_SOURCE_NOT_FOUND", message: "" } }, 2],
    [{ mode: "episode", phase: "Failed", error: { code: "REEL_EGRESS_DENIED", message: "" } }, 2],
    [{ mode: "episode", phase: "Failed", error: { code: "REEL_SOURCE_UNREACHABLE", message: "" } }, 1],
    [{ mode: "merge", phase: "Failed", error: { code: "REEL_STORAGE_FAILED", message: "" } }, 1],
    [{ mode: "episode", phase: "Cancelled", error: { code: "REEL_CANCELLED", message: "" } }, 1],
    [{ mode: "episode", phase: "Failed", error: { code: "REEL_ENCODER_FAILED", message: "" } }, 3],
  ] as const)("%j exits %i", (result, code) => {
    expect(exitCodeOf(result as Parameters<typeof exitCodeOf>[0])).toBe(code);
  });
});
