// The `reel` client commands as a user runs them: the real binary as a child process (its own HOME
// and XDG_CONFIG_HOME) against the real shim on PostgreSQL, Redis and the L2 control plane. No
// operator runs: the test writes VideoJob status the way the operator would (kubectl patch
// --subresource=status) and publishes worker progress on Redis the way the pods do.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progressChannel, progressMessage } from "@reel/crds";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../../../e2e/cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "../../../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../../../e2e/src/services/redis.ts";
import { until } from "../../../../e2e/src/until.ts";
import { addUser } from "../../../../api-shim/src/admin.ts";
import { parseConfig } from "../../../../api-shim/src/config.ts";
import { connectPostgres } from "../../../../api-shim/src/db/database.ts";
import { migrate } from "../../../../api-shim/src/db/migrate.ts";
import { type RunningShim, startShim } from "../../../../api-shim/src/main.ts";
import type { Job, JobEvent, JobList } from "./types.ts";

const built = k8sBinariesBuilt();
const root = join(import.meta.dirname, "..", "..", "..", "..");
const main = join(root, "worker-image", "src", "cli", "main.ts");
const crd = join(root, "crds", "generated", "videojob.crd.yaml");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe.skipIf(!built)(
  "reel login/submit/list/status/watch/cancel against the real shim (PostgreSQL, Redis, L2)",
  () => {
    let dir: string;
    let cluster: Cluster;
    let pg: PostgresServer;
    let redis: RedisServer;
    let shim: RunningShim;
    let base: string;
    let olgaKey: string;
    let bobKey: string;
    const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
    const setStatus = (name: string, status: Record<string, unknown>) =>
      kubectl([
        "-n",
        "media",
        "patch",
        "videojob",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status }),
      ]);

    /** Starts `reel <args>` (`stdin` is written and closed); `output()` reads what it printed so far. */
    function start(args: string[], o: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
      const child = spawn(process.execPath, [main, ...args], {
        env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), ...o.env },
      });
      const out = { stdout: "", stderr: "" };
      child.stdout.on("data", (c) => {
        out.stdout += c;
      });
      child.stderr.on("data", (c) => {
        out.stderr += c;
      });
      child.stdin.end(o.stdin ?? "");
      const done = new Promise<Run>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, ...out }));
      });
      return { done, output: () => out };
    }
    const reel = (args: string[], o: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) => start(args, o).done;
    const sseClients = async () => {
      const text = await (await fetch(`${base}/api/metrics`)).text();
      return Number(/^reel_shim_sse_clients (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const manifest = async (name: string) => {
      const path = join(dir, `${name}.yaml`);
      await writeFile(
        path,
        stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name },
          spec: {
            episodes: [
              { url: "https://cdn.example.com/show/ep1.mp4", title: "Pilot" },
              { url: "https://cdn.example.com/show/ep2/master.m3u8", title: "The Signal" },
            ],
            quality: "720p",
            gpu: { policy: "off" },
            merge: { enabled: true, chapters: true, allowPartial: true },
            output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
            tags: ["drama", "season-1"],
          },
        }),
      );
      return path;
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "reel-client-"));
      await mkdir(join(dir, "config"));
      [cluster, pg, redis] = await Promise.all([
        clusterUp({ level: 2, dir: join(dir, "cluster") }),
        startPostgres(),
        startRedis(),
      ]);
      process.env.KUBECONFIG = cluster.kubeconfig; // the shim's watch reads it
      await kubectl(["apply", "--server-side", "-f", crd]);
      await kubectl(["create", "namespace", "media"]);
      await kubectl(["create", "namespace", "studio"]);
      await until("the CRD to be served", async () => (await kubectl(["get", "videojobs", "-A"])) !== undefined);
      const sql = connectPostgres(pg.url, 1);
      await migrate(sql);
      olgaKey = (await addUser(sql, { name: "olga", role: "operator", tenant: "media" })).key;
      bobKey = (await addUser(sql, { name: "bob", role: "operator", tenant: "studio" })).key;
      await sql.end();
      shim = await startShim(
        parseConfig({
          REEL_SHIM_PORT: "0",
          REEL_SHIM_HOST: "127.0.0.1",
          DATABASE_URL: pg.url,
          REEL_REDIS_URL: redis.url,
          REEL_SSE_HEARTBEAT_MS: "1000",
          LOG_LEVEL: "warn",
        }),
        { webhooks: false },
      );
      base = `http://127.0.0.1:${shim.port}`;
      await until("the shim to be healthy", async () => (await fetch(`${base}/api/health`)).ok, 60_000);
    }, 180_000);

    afterAll(async () => {
      await shim?.stop();
      await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop()]);
      await rm(dir, { recursive: true, force: true });
    });

    it("logs in with the key on stdin, checks it with /me and stores it mode 0600, never printing it", async () => {
      const r = await reel(["login", "--server", base], { stdin: `${olgaKey}\n` });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const path = join(dir, "config", "reel", "credentials.json");
      expect(r.stdout).toBe(
        `logged in to ${base} as olga (operator, tenant media, namespace media)\nkey saved in ${path} (mode 0600)\n`,
      );
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(r.stdout).not.toContain(olgaKey);

      const bad = await reel(["login", "--server", base, "--key", `${olgaKey.slice(0, -4)}AAAA`]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error REEL_AUTH_INVALID: /);
      expect(bad.stderr).toContain(`then: reel login --server ${base}\n`);
    });

    it("submits a manifest checked locally first, then lists it and shows its status", async () => {
      const bad = join(dir, "bad.yaml");
      await writeFile(
        bad,
        stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name: "x" },
          spec: { episodes: [] },
        }),
      );
      const refused = await reel(["submit", bad]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^error REEL_JOB_INVALID: invalid VideoJob:\n {2}- spec\.episodes: /);

      const r = await reel(["submit", await manifest("season-1")]);
      expect(r.stderr).toBe("");
      expect(r).toMatchObject({
        code: 0,
        stdout: "submitted season-1 to media (2 episodes)\nfollow it: reel watch season-1\n",
      });
      const vj = JSON.parse(await kubectl(["-n", "media", "get", "videojob", "season-1", "-o", "json"]));
      expect(vj.spec.tags).toEqual(["drama", "season-1"]);

      const again = await reel(["submit", await manifest("season-1")]);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/^error REEL_JOB_EXISTS: job season-1 already exists\n/);

      await until("the job in the list", async () => {
        const l = await reel(["list", "--json"]);
        return (JSON.parse(l.stdout) as JobList).items.some((j) => j.id === "season-1");
      });
      const table = await reel(["list", "--tag", "drama"]);
      expect(table.stdout).toMatch(
        /^ID +PHASE +PROGRESS +EPISODES +TAGS +AGE\nseason-1 +Pending +- +0\/2 +drama,season-1 +\d+s\n$/,
      );
      expect((await reel(["list", "--phase", "Completed"])).stdout).toBe("no jobs\n");

      const status = await reel(["status", "season-1"]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(
        /^job season-1 in media, created \d+s ago, tags drama,season-1\nphase Pending, 0% done/,
      );
      expect(status.stdout).toContain("1  Pilot       Pending  0%");
      const json = JSON.parse((await reel(["status", "season-1", "--json"])).stdout) as Job;
      expect(json).toMatchObject({ id: "season-1", namespace: "media", tags: ["drama", "season-1"] });

      // Another tenant's key does not see it (404, not 403).
      const other = await reel(["status", "season-1"], { env: { REEL_SERVER: base, REEL_API_KEY: bobKey } });
      expect(other).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error REEL_JOB_NOT_FOUND: /) });
    });

    it("watches the job live — phases and episode progress — until it is Completed, exit 0", async () => {
      const watching = start(["watch", "season-1"]);
      await until("the watch's event stream", async () => (await sseClients()) >= 1);
      await setStatus("season-1", { phase: "Downloading", progress: 5, episodesSummary: "0/2" });
      // A worker pod's progress on Redis (the contract's writer), relayed by the shim as a progress event.
      const pub = new Redis(redis.url);
      try {
        await until("the worker's progress in the watch", async () => {
          await pub.publish(
            progressChannel("media/season-1"),
            JSON.stringify(progressMessage({ index: 0, stage: "encode", fraction: 0.5 })),
          );
          return watching.output().stderr.includes("episode 1 (Pilot): Transcoding\n");
        });
      } finally {
        pub.disconnect();
      }
      await setStatus("season-1", {
        phase: "Processing",
        progress: 50,
        episodesSummary: "1/2",
        episodes: [
          {
            index: 0,
            title: "Pilot",
            phase: "Completed",
            progress: 100,
            attempts: 1,
            encoder: "libx264",
            bytesOutput: 374000,
            quality: { ssim: 0.9897 },
          },
          { index: 1, title: "The Signal", phase: "Transcoding", progress: 40, attempts: 1 },
        ],
      });
      await setStatus("season-1", {
        phase: "Completed",
        progress: 100,
        episodesSummary: "2/2",
        episodes: [
          {
            index: 0,
            title: "Pilot",
            phase: "Completed",
            progress: 100,
            attempts: 1,
            encoder: "libx264",
            bytesOutput: 374000,
            quality: { ssim: 0.9897 },
          },
          {
            index: 1,
            title: "The Signal",
            phase: "Completed",
            progress: 100,
            attempts: 1,
            encoder: "libx264",
            bytesOutput: 83500,
            quality: { ssim: 0.9966 },
          },
        ],
        output: { location: "s3://videos/season-1/season-1.mp4", sizeBytes: 457500, chapters: 2 },
      });
      const r = await watching.done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^season-1: Pending/);
      expect(r.stderr).toContain("season-1: Downloading (5%)\n");
      expect(r.stderr).toContain("episode 1 (Pilot): Completed\n");
      expect(r.stderr).toMatch(/season-1: Completed \(100%\)\n$/);
      expect(r.stdout).toContain("phase Completed, 100% done, episodes 2/2");
      expect(r.stdout).toContain("output: s3://videos/season-1/season-1.mp4 (458 KB, 2 chapters)");
      // The link is the shim's route, which signs a fresh URL each time; by uid, so it stays this run's.
      const uid = (JSON.parse((await reel(["status", "season-1", "--json"])).stdout) as Job).uid;
      expect(r.stdout).toContain(`  download: ${base}/api/v1/jobs/${uid}/outputs/0/download\n`);
    });

    it("cancels another job and prints --json output that parses; watch --json ends with exit 1 on Cancelled", async () => {
      const sub = await reel(["submit", await manifest("season-2"), "--json"]);
      expect(sub.code, sub.stderr).toBe(0);
      expect(JSON.parse(sub.stdout)).toMatchObject({ id: "season-2", namespace: "media" });

      await until("the last watch's stream to close", async () => (await sseClients()) === 0);
      const watching = reel(["watch", "season-2", "--json"]);
      await until("the watch's event stream", async () => (await sseClients()) >= 1);
      const c = await reel(["cancel", "season-2", "--json"]);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stderr).toBe("");
      expect((JSON.parse(c.stdout) as Job).spec.cancel).toBe(true);
      const vj = JSON.parse(await kubectl(["-n", "media", "get", "videojob", "season-2", "-o", "json"]));
      expect(vj.spec.cancel).toBe(true);
      // The operator would now stop the episodes and write the phase.
      await setStatus("season-2", { phase: "Cancelled", progress: 0, episodesSummary: "0/2" });
      const w = await watching;
      expect(w.code).toBe(1);
      expect(w.stderr).toBe("");
      const events = w.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as JobEvent);
      expect(events.at(-1)).toMatchObject({ job: "season-2", phase: "Cancelled" });
      // Ids as the shim gives them: "<resourceVersion>-<seq>", valid on every replica (API.md).
      expect(events.every((e) => typeof e.id === "string" && /^\d+-\d+$/.test(e.id))).toBe(true);

      // The season-1 job is still there, untouched.
      expect((JSON.parse((await reel(["status", "season-1", "--json"])).stdout) as Job).spec.cancel).toBeFalsy();
    });

    it("retries a failed job: reel retry names the new VideoJob, which has the same spec; a running one is refused, exit 2", async () => {
      const sub = await reel(["submit", await manifest("season-3")]);
      expect(sub.code, sub.stderr).toBe(0);
      const refused = await reel(["retry", "season-3"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^error REEL_JOB_NOT_RETRYABLE: job season-3: the job is Pending; retry it once/);
      const failed = { index: 0, phase: "Failed", progress: 0, attempts: 1 };
      await setStatus("season-3", { phase: "Failed", progress: 0, episodesSummary: "0/2", episodes: [failed] });
      await until("the shim to see season-3 failed", async () => {
        const r = await reel(["status", "season-3", "--json"]);
        return (JSON.parse(r.stdout) as Job).status?.phase === "Failed" || undefined;
      });
      const r = await reel(["retry", "season-3"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(
        "retry season-3-r1 created from season-3: finished episodes with an unchanged source are reused, the rest run again (reel watch season-3-r1)\n",
      );
      const get = async (name: string) =>
        JSON.parse(await kubectl(["-n", "media", "get", "videojob", name, "-o", "json"])) as { spec: unknown };
      expect((await get("season-3-r1")).spec).toEqual((await get("season-3")).spec);
    });

    it("answers an unknown job and an unreachable server with their codes and next steps, exit 2", async () => {
      const nf = await reel(["cancel", "nope"]);
      expect(nf.code).toBe(2);
      expect(nf.stderr).toMatch(/^error REEL_JOB_NOT_FOUND: job nope not found\n {2}/);
      const closed = await freePort();
      const down = await reel(["list"], { env: { REEL_SERVER: `http://127.0.0.1:${closed}`, REEL_API_KEY: olgaKey } });
      expect(down.code).toBe(2);
      expect(down.stderr).toContain(
        `error REEL_SHIM_UNREACHABLE: cannot reach http://127.0.0.1:${closed}: connection refused`,
      );
    });

    it("logout forgets the key", async () => {
      expect((await reel(["logout"])).stdout).toBe(`logged out of ${base}\n`);
      expect((await reel(["list"])).stderr).toMatch(/^error REEL_NOT_LOGGED_IN: /);
    });
  },
);
