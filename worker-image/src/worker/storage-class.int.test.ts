// The outputs' storage class through real `reel worker` pods (in-process, as main.int.test.ts runs
// them): two episode pods and a merge pod, real ffmpeg, versitygw behind a recording proxy, with
// REEL_S3_STORAGE_CLASS=STANDARD_IA in every pod's environment (the operator gives it to the merge
// pod only; here the episode pods have it too, to show the worker itself keeps staging out of it).
// Every object-creating request is recorded: the merged file, its seek thumbnails (index and
// sheet) and the episode posters carry x-amz-storage-class STANDARD_IA; every staged file (ep<i>.mp4,
// ep<i>.json, merge.json) carries none. versitygw records no class (HeadObject answers STANDARD for
// any), which is why the wire is what is checked — see output/storage-class.int.test.ts.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { episodePosterName } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StaticServer } from "../cli/serve.ts";
import { type RecordingS3, s3RequestKind, startRecordingS3 } from "../testing/s3.ts";
import type { PodRun } from "../testing/worker-pod.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;
let rec: RecordingS3;
let pod: (env: NodeJS.ProcessEnv) => Promise<PodRun<{ phase: string }>>;
/** [key, x-amz-storage-class] of every PutObject and CreateMultipartUpload. */
const writes = (): Array<[string, string | undefined]> =>
  rec.seen
    .filter((r) => ["PutObject", "CreateMultipartUpload"].includes(s3RequestKind(r)))
    .map((r) => [
      decodeURIComponent(r.path.split("?")[0] ?? "").replace(/^\/videos\//, ""),
      r.headers["x-amz-storage-class"] as string | undefined,
    ]);

beforeAll(async () => {
  // Read by the worker's config at import, as in a pod: the imports that load it come after.
  process.env.REEL_S3_STORAGE_CLASS = "STANDARD_IA";
  const { serveDir } = await import("../cli/serve.ts");
  const { podRunner } = await import("../testing/worker-pod.ts");
  const { makeTempDir, makeTestClip } = await import("../ffmpeg/test-media.ts");
  tmp = await makeTempDir("reel-storage-class-pods-");
  const src = join(tmp.dir, "src");
  await mkdir(src, { recursive: true });
  await makeTestClip(join(src, "a.mp4"), { seconds: 2 });
  await makeTestClip(join(src, "b.mp4"), { seconds: 1.5 });
  server = await serveDir(src, { host: "127.0.0.2" });
  rec = await startRecordingS3("videos");
  pod = podRunner(tmp.dir, { AWS_ACCESS_KEY_ID: rec.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: rec.s3.secretAccessKey });
}, 600_000);

afterAll(async () => {
  delete process.env.REEL_S3_STORAGE_CLASS;
  await server?.close();
  await rec?.close();
  await tmp?.cleanup();
});

describe("reel worker pods with REEL_S3_STORAGE_CLASS=STANDARD_IA", () => {
  it("every output (merged file, thumbnails, posters) is written STANDARD_IA; every staged file with none", async () => {
    const episodes = [
      { url: `${server.origin}/a.mp4`, title: "Pilot" },
      { url: `${server.origin}/b.mp4`, title: "Second" },
    ];
    const spec = {
      episodes,
      quality: "480p",
      compression: { preset: "fast", level: 6 },
      output: { s3: { bucket: "videos", prefix: "shows/", endpoint: rec.endpoint, credentialsSecret: "s3" } },
    };
    const common = {
      REEL_VIDEOJOB: "media/season-1",
      REEL_VIDEOJOB_UID: "uid-1",
      REEL_STAGING: "s3://videos/shows/.reel-staging/uid-1/",
    };
    for (const [i, ep] of episodes.entries()) {
      const p = await pod({
        ...common,
        REEL_MODE: "episode",
        REEL_EPISODE_INDEX: String(i),
        REEL_EPISODE_URL: ep.url,
        REEL_EPISODE_TITLE: ep.title,
        REEL_SPEC: JSON.stringify({ ...spec, episodes: [ep] }),
      });
      expect(p.code, p.logs).toBe(0);
    }
    const m = await pod({
      ...common,
      REEL_MODE: "merge",
      REEL_SPEC: JSON.stringify(spec),
      REEL_MERGE_EPISODES: JSON.stringify(episodes.map((e, index) => ({ index, title: e.title }))),
    });
    expect(m.code, m.logs).toBe(0);

    const staging = writes().filter(([k]) => k.startsWith("shows/.reel-staging/"));
    const outputs = writes().filter(([k]) => !k.startsWith("shows/.reel-staging/"));
    expect(staging.map(([k]) => k)).toEqual(
      expect.arrayContaining([
        "shows/.reel-staging/uid-1/ep0.mp4",
        "shows/.reel-staging/uid-1/ep0.json",
        "shows/.reel-staging/uid-1/ep1.json",
        "shows/.reel-staging/uid-1/merge.json",
      ]),
    );
    expect(staging.filter(([, c]) => c !== undefined)).toEqual([]);
    expect(outputs.map(([k]) => k)).toEqual(
      expect.arrayContaining([
        "shows/season-1.mp4",
        "shows/season-1-thumbs.vtt",
        "shows/season-1-thumbs-001.jpg",
        `shows/${episodePosterName("season-1", 0)}`,
        `shows/${episodePosterName("season-1", 1)}`,
      ]),
    );
    expect(outputs.filter(([, c]) => c !== "STANDARD_IA")).toEqual([]);
    // versitygw keeps no class: if this fails, it learned to, and the class at rest can be checked.
    const head = await rec.client.send(new HeadObjectCommand({ Bucket: "videos", Key: "shows/season-1.mp4" }));
    expect(head.StorageClass ?? "STANDARD").toBe("STANDARD");
  }, 300_000);
});
