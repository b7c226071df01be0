// Playlists on a real control plane (L2: etcd + kube-apiserver) with the real S3 server of our tests
// (versitygw) and a podcast feed served on loopback. Nothing runs Jobs: the test plays the list pod
// by running the worker's real list mode (real yt-dlp through the egress proxy) with the env of the
// list Job the operator created, then the Job controller. The expansion recorded in status is what
// the episode Jobs are planned from, and a restarted operator keeps it although the feed changed.
import type { S3Client } from "@aws-sdk/client-s3";
import type { PlaylistExpansion } from "@reel/crds";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import type { S3Server } from "../../e2e/src/services/s3.ts";
import { until } from "../../e2e/src/until.ts";
import { makeTempDir } from "../../worker-image/src/ffmpeg/test-media.ts";
import { podcastFeed, type Route, serveSite, type TestSite } from "../../worker-image/src/fetch/test-site.ts";
import { startS3WithBucket } from "../../worker-image/src/testing/s3.ts";
import { listMain } from "../../worker-image/src/worker/list.ts";
import type { RunningOperator } from "./main.ts";
import { controlPlaneUp, createS3Secret, startReadyOperator } from "./testing/control-plane.ts";
import { kubeReader } from "./testing/kube-read.ts";
import { finishJob } from "./testing/kube-status.ts";

type Env = { name: string; value?: string }[];
interface Job {
  metadata: { name: string; uid: string; labels: Record<string, string> };
  spec: { template: { spec: { containers: { env: Env }[] } } };
}
interface VJ {
  metadata: { uid: string };
  status?: { phase?: string; expansion?: PlaylistExpansion[]; conditions?: { type: string; message?: string }[] };
}

const OPERATOR_ENV = { REEL_LEADER_ELECT: "false", REEL_RESYNC_SECONDS: "2", REEL_EGRESS_ALLOW: "127.0.0.2/32" };

describe.skipIf(!k8sBinariesBuilt())("playlists on a real kube-apiserver and S3 (L2)", () => {
  let cluster: Cluster;
  let s3: S3Server;
  let client: S3Client;
  let op: RunningOperator;
  let site: TestSite;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const routes: Record<string, Route> = {};
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  const { jobsOf, vjOf } = kubeReader<Job, VJ>(kubectl, "media");
  const envOf = (j: Job) =>
    Object.fromEntries((j.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  const feed = (titles: string[]) => ({
    type: "application/rss+xml",
    body: podcastFeed(
      "Show",
      titles.map((t, i) => ({ title: t, url: `${site.origin}/${t.toLowerCase().replace(/\W+/g, "-")}-${i}.mp4` })),
    ),
  });

  function videoJob(name: string, episodes: unknown[]) {
    return JSON.stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name, namespace: "media" },
      spec: {
        episodes,
        gpu: { policy: "off" },
        output: { s3: { bucket: "videos", prefix: "shows/", endpoint: s3.endpoint, credentialsSecret: "s3-creds" } },
      },
    });
  }

  /** Plays the list pod (the worker's real list mode, with the Job's env) and the Job controller. */
  async function runListPod(vj: string): Promise<number> {
    const job = await until(`${vj}'s list Job`, async () =>
      (await jobsOf(vj)).find((j) => j.metadata.labels["reel.dev/role"] === "list"),
    );
    const env = {
      ...process.env,
      ...envOf(job),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const code = await listMain({ ...env, REEL_CACHE_DIR: tmp.dir }, pino({ level: "silent" }));
    await finishJob(kubectl, "media", job.metadata.name, code === 0 ? "Complete" : "Failed");
    return code;
  }

  beforeAll(async () => {
    tmp = await makeTempDir("reel-playlist-int-");
    site = await serveSite(tmp.dir, routes);
    routes["/feed.xml"] = feed(["Newest", "Middle", "Oldest"]);
    [cluster, { s3, client }] = await Promise.all([
      controlPlaneUp({ level: 2, namespaces: ["media"] }),
      startS3WithBucket("videos"),
    ]);
    await kubectl(["-n", "media", "create", "serviceaccount", "default"]);
    await createS3Secret(cluster, "media", "s3-creds", s3);
    op = await startReadyOperator(OPERATOR_ENV, 20_000);
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    client?.destroy();
    await Promise.all([cluster?.down(), s3?.stop(), site?.close()]);
    await tmp?.cleanup();
  });

  it("lists a playlist once, records it in status, plans the episodes from it and keeps it across an operator restart", async () => {
    const intro = `${site.origin}/intro.mp4`;
    await kubectl(
      ["apply", "-f", "-"],
      videoJob("show", [
        { url: intro, title: "Intro" },
        { playlist: `${site.origin}/feed.xml`, items: "1-2", reverse: true },
      ]),
    );
    expect(await runListPod("show")).toBe(0);
    const expansion = await until("show's recorded expansion", async () => (await vjOf("show")).status?.expansion);
    expect(expansion).toEqual([
      expect.objectContaining({
        at: 1,
        playlist: `${site.origin}/feed.xml`,
        items: "1-2",
        reverse: true,
        episodes: [
          { url: `${site.origin}/middle-1.mp4`, title: "Middle" },
          { url: `${site.origin}/newest-0.mp4`, title: "Newest" },
        ],
      }),
    ]);
    const episodeUrls = async () => {
      const jobs = (await jobsOf("show")).filter((j) => j.metadata.labels["reel.dev/role"] === "episode");
      return jobs.length === 3
        ? jobs
            .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
            .map((j) => [envOf(j).REEL_EPISODE_URL, envOf(j).REEL_EPISODE_TITLE])
        : undefined;
    };
    const planned = await until("show's three episode Jobs", episodeUrls);
    expect(planned).toEqual([
      [intro, "Intro"],
      [`${site.origin}/middle-1.mp4`, "Middle"],
      [`${site.origin}/newest-0.mp4`, "Newest"],
    ]);
    const listJob = (await jobsOf("show")).find((j) => j.metadata.labels["reel.dev/role"] === "list");
    const feedReads = site.requests.filter((r) => r === "/feed.xml").length;
    expect(feedReads).toBe(1);

    // The feed changes (a new episode on top) and the operator restarts: nothing is listed again.
    routes["/feed.xml"] = feed(["Brand new", "Newest", "Middle", "Oldest"]);
    await op.stop();
    op = await startReadyOperator(OPERATOR_ENV, 20_000);
    await new Promise((r) => setTimeout(r, 5000)); // two resyncs (REEL_RESYNC_SECONDS 2)
    expect((await vjOf("show")).status?.expansion).toEqual(expansion);
    expect(await episodeUrls()).toEqual(planned);
    const lists = (await jobsOf("show")).filter((j) => j.metadata.labels["reel.dev/role"] === "list");
    expect(lists.map((j) => j.metadata.uid)).toEqual([listJob?.metadata.uid]);
    expect(site.requests.filter((r) => r === "/feed.xml").length).toBe(feedReads);
  }, 180_000);

  it("fails the job with the listing's code and a next step when the playlist is gone", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("gone", [{ playlist: `${site.origin}/gone.xml` }]));
    expect(await runListPod("gone")).toBe(0);
    const vj = await until("gone to fail", async () => {
      const v = await vjOf("gone");
      return v.status?.phase === "Failed" ? v : undefined;
    });
    const ready = vj.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.message).toMatch(/^REEL_[A-Z_]+: spec\.episodes\.0: /);
    expect(vj.status?.expansion).toBeUndefined();
    expect((await jobsOf("gone")).filter((j) => j.metadata.labels["reel.dev/role"] === "episode")).toEqual([]);
  }, 120_000);
});
