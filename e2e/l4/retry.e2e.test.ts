// Level L4: a retry and reuse on a real control plane (e2e/l4/env.ts: the L3 cluster, the operator
// and the shim as local processes with the chart's env, the kubelet harness running each worker
// pod's command). A job of 4 episodes whose last 2 sources answer 404 finishes with those 2
// failed; the sources are put in place and the job is retried through the shim's REST API: the
// retry runs exactly 2 Kubernetes Jobs for episodes (the failed ones; the 2 finished episodes are
// reused from the first job's staging) and its merged file holds all 4 chapters. A later job naming
// one of the first job's sources again reuses that finished episode: status says reusedFrom, and
// no Job runs it.
//
// Skipped, with the reason in the title, when the Kubernetes binaries or helm are not built.
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sBinariesBuilt } from "../cluster/cluster.ts";
import { until } from "../src/until.ts";
import { helmBuilt, type L4, startL4, TENANT_NS } from "./env.ts";
import { type StaticServer, serveDir } from "../../worker-image/src/cli/serve.ts";
import { type Sources, serveSources } from "./media.ts";

const run = promisify(execFile);
const ready = k8sBinariesBuilt() && helmBuilt();
const why = "the Kubernetes binaries or helm are not built; run scripts/bootstrap.sh";
if (!ready && process.env.REEL_E2E_REQUIRE) throw new Error(`[retry.e2e.test] cannot run: ${why}`);
if (!ready) console.warn(`[retry.e2e.test] SKIPPED: ${why}`);

type Episode = { index: number; phase: string; reusedFrom?: string; error?: { code: string } };
type Status = { phase?: string; episodes?: Episode[]; output?: { location: string; chapters?: number } };

describe.skipIf(!ready)(`L4: retry and reuse${ready ? "" : ` (SKIPPED: ${why})`}`, () => {
  let dir: string;
  let env: L4;
  let sources: Sources;
  /** The same files with a strong ETag: the worker records only an ETag as the validator reuse needs. */
  let cdn: StaticServer;
  const headers = () => ({ Authorization: `Bearer ${env.apiKey}`, "content-type": "application/json" });

  const spec = (name: string, episodes: Array<{ path: string; title: string }>) => ({
    episodes: episodes.map((e) => ({ url: `${cdn.origin}${e.path}`, title: e.title })),
    quality: "480p",
    gpu: { policy: "off" },
    output: {
      s3: {
        bucket: "videos",
        prefix: `${name}/`,
        endpoint: env.s3.endpoint,
        region: env.s3.region,
        credentialsSecret: "s3-creds",
      },
    },
  });
  const submit = async (name: string, episodes: Array<{ path: string; title: string }>) => {
    const r = await fetch(`${env.shimUrl}/api/v1/jobs`, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ name, spec: spec(name, episodes) }),
    });
    expect(r.status, await r.clone().text()).toBe(201);
  };
  const final = (name: string) =>
    until(
      `${name} to finish`,
      async () => {
        const r = await fetch(`${env.shimUrl}/api/v1/jobs/${name}/status`, { headers: headers() });
        const s = (await r.json()) as Status;
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      150_000,
      500,
    );
  /** The Kubernetes Jobs the operator made for `name`'s episodes: their episode indexes. */
  const episodeJobs = async (name: string) =>
    (
      await env.kubectl([
        ...["get", "jobs", "-n", TENANT_NS, "-l", `reel.dev/videojob=${name},reel.dev/role=episode`],
        ...["-o", 'jsonpath={range .items[*]}{.metadata.labels.reel\\.dev/episode}{"\\n"}{end}'],
      ])
    )
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .sort();
  const chapters = async (location: string) => {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
    if (!m) throw new Error(`not an S3 location: ${location}`);
    const obj = await env.s3Client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    const file = join(dir, m[2].replace(/\//g, "_"));
    await writeFile(file, (await obj.Body?.transformToByteArray()) ?? new Uint8Array());
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", file]);
    return (JSON.parse(stdout) as { chapters: Array<{ tags?: { title?: string } }> }).chapters.map(
      (c) => c.tags?.title,
    );
  };

  /** The operator's log lines about reuse, for a failure's message. */
  const reuseLog = async () =>
    (await env.operator.logs())
      .split("\n")
      .filter((l) => /reuse/i.test(l))
      .join("\n");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-l4-retry-"));
    [sources, env] = await Promise.all([serveSources(join(dir, "sources")), startL4(join(dir, "env"))]);
    cdn = await serveDir(sources.dir, { etag: true });
    await env.kubectl([
      ...["create", "secret", "generic", "s3-creds", "-n", TENANT_NS],
      `--from-literal=accessKeyId=${env.s3.accessKeyId}`,
      `--from-literal=secretAccessKey=${env.s3.secretAccessKey}`,
    ]);
  }, 180_000);

  afterAll(async () => {
    await env?.stop();
    await cdn?.close();
    await sources?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  const trip = [
    { path: "/show/ep1.mp4", title: "Arrival" },
    { path: "/show/ep3.mkv", title: "Bridge" },
    { path: "/late/crossing.mp4", title: "Crossing" },
    { path: "/late/departure.mkv", title: "Departure" },
  ];

  it("retries a job with 2 of 4 episodes failed: exactly 2 episode Jobs run, the merged file has all 4 chapters", async () => {
    await submit("trip", trip);
    const first = await final("trip");
    expect(first.episodes?.map((e) => [e.phase, e.error?.code])).toEqual([
      ["Completed", undefined],
      ["Completed", undefined],
      ["Failed", "REEL_SOURCE_NOT_FOUND"],
      ["Failed", "REEL_SOURCE_NOT_FOUND"],
    ]);
    // The missing sources appear (as a CDN's late upload would), then the retry.
    await mkdir(join(sources.dir, "late"), { recursive: true });
    await copyFile(join(sources.dir, "show", "ep1.mp4"), join(sources.dir, "late", "crossing.mp4"));
    await copyFile(join(sources.dir, "show", "ep3.mkv"), join(sources.dir, "late", "departure.mkv"));
    const retry = await fetch(`${env.shimUrl}/api/v1/jobs/trip/retry`, {
      method: "POST",
      headers: { Authorization: `Bearer ${env.apiKey}` },
    });
    expect(retry.status, await retry.clone().text()).toBe(201);
    expect(await retry.json()).toMatchObject({ id: "trip-r1" });

    const again = await final("trip-r1");
    expect(again.phase).toBe("Completed");
    expect(
      again.episodes?.map((e) => [e.phase, e.reusedFrom]),
      await reuseLog(),
    ).toEqual([
      ["Completed", "trip/1"],
      ["Completed", "trip/2"],
      ["Completed", undefined],
      ["Completed", undefined],
    ]);
    expect(await episodeJobs("trip-r1")).toEqual([2, 3]);
    expect(await chapters(again.output?.location ?? "")).toEqual(["Arrival", "Bridge", "Crossing", "Departure"]);
  }, 360_000);

  it("reuses a finished episode in a later job: reusedFrom in status and no Job for it", async () => {
    await copyFile(join(sources.dir, "show", "ep1.mp4"), join(sources.dir, "late", "encore.mp4"));
    // /show/ep1.mp4 is staged, finished, in trip (a job with failed episodes keeps its staging for
    // a retry; trip-r1, all Completed, removed its own once merged).
    await submit("encore", [
      { path: "/show/ep1.mp4", title: "Arrival" },
      { path: "/late/encore.mp4", title: "Encore" },
    ]);
    const s = await final("encore");
    expect(s.phase).toBe("Completed");
    expect(
      s.episodes?.map((e) => [e.phase, e.reusedFrom]),
      await reuseLog(),
    ).toEqual([
      ["Completed", "trip/1"],
      ["Completed", undefined],
    ]);
    expect(await episodeJobs("encore")).toEqual([1]);
    expect(await chapters(s.output?.location ?? "")).toEqual(["Arrival", "Encore"]);
  }, 240_000);
});
