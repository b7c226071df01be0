// A page episode's pod of a job with spec.ytdlp.cookiesSecret whose Secret or key is missing: the
// optional volume leaves no file, and the pod fails at once (exit 2) naming the Secret and key.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { COOKIES_PATH } from "@reel/crds";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { workerMain } from "./main.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-worker-cookies-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const url = "http://127.0.0.2:9/watch?v=1";
const env = (spec: Record<string, unknown>) => ({
  REEL_MODE: "episode",
  REEL_VIDEOJOB: "media/season-1",
  REEL_VIDEOJOB_UID: "uid-1",
  REEL_EPISODE_INDEX: "0",
  REEL_EPISODE_URL: url,
  REEL_STAGING: join(dir, "staging") + "/",
  REEL_CACHE_DIR: join(dir, "cache"),
  REEL_TERMINATION_LOG: join(dir, "termination-log"),
  REEL_SPEC: JSON.stringify({ episodes: [{ url }], output: { local: { path: join(dir, "out") } }, ...spec }),
});

describe("workerMain with spec.ytdlp.cookiesSecret", () => {
  it("fails a page episode with REEL_COOKIES_INVALID naming the Secret and key when the file is absent", async (t) => {
    if (
      await readFile(COOKIES_PATH).then(
        () => true,
        () => false,
      )
    )
      t.skip(); // a real mount here
    const stream = new PassThrough();
    const logs: string[] = [];
    stream.on("data", (c: Buffer) => logs.push(c.toString()));
    const ref = { name: "site-cookies", key: "cookies.txt" };
    const code = await workerMain(env({ ytdlp: { cookiesSecret: ref } }), { logStream: stream });
    const termination = JSON.parse(await readFile(join(dir, "termination-log"), "utf8"));
    expect(code).toBe(2);
    expect(termination.error).toEqual({
      code: "REEL_COOKIES_INVALID",
      message: "cookies file Secret site-cookies key cookies.txt does not exist",
    });
    expect(logs.join("")).toContain("REEL_COOKIES_INVALID");
  });
});
