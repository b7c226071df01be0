// The cluster's list pod as the operator runs it (`reel worker`, REEL_MODE=list): the real yt-dlp
// behind the egress proxy lists a podcast feed served on loopback, the listing lands in staging on a
// real S3 server (versitygw), and the operator's reader (crds parseListing + recordExpansion) takes
// exactly what the pod wrote.
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { buildListEnv, LISTING_FILE, listedPlaylists, parseListing, recordExpansion } from "@reel/crds";
import type { S3Server } from "@reel/e2e/services";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { podcastFeed, serveSite, type TestSite } from "../fetch/test-site.ts";
import { startS3WithBucket } from "../testing/s3.ts";
import { listMain } from "./list.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let site: TestSite;
let s3: S3Server;
let client: S3Client;

beforeAll(async () => {
  tmp = await makeTempDir("reel-list-pod-");
  ({ s3, client } = await startS3WithBucket("videos"));
  const o = "http://127.0.0.2:9";
  const items = [
    { title: "Newest: the finale", url: `${o}/c.mp4` },
    { title: "Older: the pilot", url: `${o}/b.mp4` },
    { title: "Oldest: a teaser", url: `${o}/a.mp4` },
  ];
  site = await serveSite(tmp.dir, { "/feed.xml": { type: "application/rss+xml", body: podcastFeed("Show", items) } });
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await site?.close();
  await s3?.stop();
  await tmp?.cleanup();
});

const manifest = (episodes: unknown[]) => ({
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "show", namespace: "media", uid: "uid-1" },
  spec: { episodes, output: { s3: { bucket: "videos", credentialsSecret: "s3" } } },
});

/** Runs the list pod for `doc` and answers its exit code and the listing text it left in staging. */
async function runListPod(doc: ReturnType<typeof manifest>, uid: string) {
  const staging = `s3://videos/out/.reel-staging/${uid}/`;
  const vars = buildListEnv({
    videojob: "media/show",
    uid,
    staging,
    playlists: listedPlaylists(doc),
    egressAllow: ["127.0.0.2/32"],
    cacheDir: tmp.dir,
    stagingEndpoint: s3.endpoint,
    stagingRegion: s3.region,
  });
  const env = {
    ...process.env,
    ...Object.fromEntries(vars.map((v) => [v.name, v.value])),
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  const code = await listMain(env, pino({ level: "silent" }));
  const got = await client.send(
    new GetObjectCommand({ Bucket: "videos", Key: `out/.reel-staging/${uid}/${LISTING_FILE}` }),
  );
  return { code, text: (await got.Body?.transformToString("utf8")) ?? "" };
}

describe("the list pod", () => {
  it("lists a reversed range of a feed into staging, and the operator records it as episodes with the feed's titles", async () => {
    const doc = manifest([
      { url: "https://cdn.example/intro.mp4" },
      { playlist: `${site.origin}/feed.xml`, items: "1-2", reverse: true },
    ]);
    const { code, text } = await runListPod(doc, "uid-1");
    expect(code).toBe(0);
    const listing = parseListing(text, "uid-1");
    expect(listing?.error).toBeUndefined();
    const record = recordExpansion(doc, listing ?? { v: 1, uid: "uid-1", listedAt: "" });
    expect(record).toHaveLength(1);
    expect(record[0]?.at).toBe(1);
    expect(record[0]?.episodes).toEqual([
      { url: "http://127.0.0.2:9/b.mp4", title: "Older: the pilot" },
      { url: "http://127.0.0.2:9/c.mp4", title: "Newest: the finale" },
    ]);
    // Another VideoJob's reader (a job recreated under the name) does not take it.
    expect(parseListing(text, "uid-2")).toBeUndefined();
  }, 120_000);

  it("leaves the listing's coded error for the operator when the feed is gone", async () => {
    const doc = manifest([{ playlist: `${site.origin}/gone.xml` }]);
    const { code, text } = await runListPod(doc, "uid-3");
    expect(code).toBe(0);
    const listing = parseListing(text, "uid-3");
    expect(listing?.error?.code).toMatch(/^REEL_/);
    expect(() => recordExpansion(doc, listing ?? { v: 1, uid: "uid-3", listedAt: "" })).toThrow(
      expect.objectContaining({ code: listing?.error?.code, message: expect.stringContaining("spec.episodes.0") }),
    );
  }, 120_000);
});
