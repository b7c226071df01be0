import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Ctx } from "./context.ts";
import { Api } from "./http.ts";
import { readManifest } from "./jobs.ts";
import { uploadFiles } from "./upload.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-upload-cli-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const manifest = async (episodes: object[]) => {
  const path = join(dir, `job-${episodes.length}.yaml`);
  await writeFile(
    path,
    stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "season" },
      spec: { episodes, output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } } },
    }),
  );
  return path;
};

describe("reel submit --file, before the network", () => {
  it("accepts a manifest without episodes when files are given, and only then", async () => {
    const path = await manifest([]);
    const sub = await readManifest(path, undefined, { stdin: process.stdin }, 2);
    expect(sub.spec.episodes).toEqual([]);
    await expect(readManifest(path, undefined, { stdin: process.stdin })).rejects.toMatchObject({
      code: "REEL_JOB_INVALID",
    });
  });

  it("refuses a missing or non-regular file before any byte is sent", async () => {
    const ok = join(dir, "ep1.mp4");
    await writeFile(ok, "x");
    // Nothing listens on port 9: a request would fail as REEL_SHIM_UNREACHABLE, not as below.
    const api = new Api({ server: "http://127.0.0.1:9", key: "k" });
    const ctx = { stderr: { write: () => true } } as unknown as Ctx;
    await expect(uploadFiles(ctx, api, [ok, join(dir, "nope.mkv")])).rejects.toMatchObject({
      code: "REEL_INVALID_ARGUMENT",
      message: expect.stringContaining("nope.mkv"),
    });
    await expect(uploadFiles(ctx, api, [dir])).rejects.toMatchObject({
      code: "REEL_INVALID_ARGUMENT",
      message: expect.stringContaining("not a regular file"),
    });
  });
});
