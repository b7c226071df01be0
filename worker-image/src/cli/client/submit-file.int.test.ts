// `reel submit job.yaml --file ep1.mp4 --file ep2.mkv` as a user runs it: the real binary against
// the real shim (PostgreSQL, Redis, L2) with uploads into versitygw, through a loopback proxy that
// drops the first connection once 10 MiB went up it (in the second 8 MiB PATCH) — the upload
// resumes from the shim's offset and the job is created with both files as episodes.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../../../e2e/cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "../../../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../../../e2e/src/services/redis.ts";
import { type CutProxy, startCutProxy } from "../../../../e2e/src/services/cut-proxy.ts";
import { type S3Server, startS3 } from "../../../../e2e/src/services/s3.ts";
import { until } from "../../../../e2e/src/until.ts";
import { addUser } from "../../../../api-shim/src/admin.ts";
import { parseConfig } from "../../../../api-shim/src/config.ts";
import { connectPostgres } from "../../../../api-shim/src/db/database.ts";
import { migrate } from "../../../../api-shim/src/db/migrate.ts";
import { type RunningShim, startShim } from "../../../../api-shim/src/main.ts";

const root = join(import.meta.dirname, "..", "..", "..", "..");
const main = join(root, "worker-image", "src", "cli", "main.ts");
const crd = join(root, "crds", "generated", "videojob.crd.yaml");
const MiB = 1024 * 1024;
const BUCKET = "reel-uploads";

const title = "reel submit --file against the real shim and versitygw (L2)";
describe.skipIf(!k8sBinariesBuilt())(
  k8sBinariesBuilt() ? title : `${title} — skipped, needs the Kubernetes binaries`,
  () => {
    let dir: string;
    let cluster: Cluster;
    let pg: PostgresServer;
    let redis: RedisServer;
    let s3: S3Server;
    let shim: RunningShim;
    let proxy: CutProxy;
    let key: string;

    const reel = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [main, ...args], {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            XDG_CONFIG_HOME: join(dir, "config"),
            REEL_SERVER: `http://127.0.0.1:${proxy.port}`,
            REEL_API_KEY: key,
          },
        });
        const out = { stdout: "", stderr: "" };
        child.stdout.on("data", (c) => {
          out.stdout += c;
        });
        child.stderr.on("data", (c) => {
          out.stderr += c;
        });
        child.stdin.end();
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, ...out }));
      });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "reel-submit-file-"));
      await mkdir(join(dir, "config"));
      [cluster, pg, redis, s3] = await Promise.all([
        clusterUp({ level: 2, dir: join(dir, "cluster") }),
        startPostgres(),
        startRedis(),
        startS3(),
      ]);
      process.env.KUBECONFIG = cluster.kubeconfig;
      await cluster.kubectl(["apply", "--server-side", "-f", crd]);
      await cluster.kubectl(["create", "namespace", "media"]);
      await until(
        "the CRD to be served",
        async () => (await cluster.kubectl(["get", "videojobs", "-A"])) !== undefined,
      );
      const sql = connectPostgres(pg.url, 1);
      await migrate(sql);
      key = (await addUser(sql, { name: "olga", role: "operator", tenant: "media" })).key;
      await sql.end();
      const client = new S3Client({
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
      client.destroy();
      shim = await startShim(
        parseConfig({
          REEL_SHIM_PORT: "0",
          REEL_SHIM_HOST: "127.0.0.1",
          DATABASE_URL: pg.url,
          REEL_REDIS_URL: redis.url,
          LOG_LEVEL: "warn",
          REEL_UPLOAD_S3_BUCKET: BUCKET,
          REEL_UPLOAD_S3_ENDPOINT: s3.endpoint,
          REEL_UPLOAD_S3_ACCESS_KEY_ID: s3.accessKeyId,
          REEL_UPLOAD_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          REEL_UPLOAD_QUOTA_BYTES: String(30 * MiB),
          REEL_UPLOAD_PART_BYTES: String(5 * MiB),
        }),
        { webhooks: false },
      );
      await until("the shim to be healthy", async () => (await fetch(`http://127.0.0.1:${shim.port}/api/health`)).ok);
      proxy = await startCutProxy(shim.port, 10 * MiB);
    }, 180_000);

    afterAll(async () => {
      proxy?.close();
      await shim?.stop();
      await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop(), s3?.stop()]);
      await rm(dir, { recursive: true, force: true });
    });

    it("uploads both files (the first resumed after a dropped connection) and creates the job with them", async () => {
      const ep1 = join(dir, "ep1.mp4");
      const ep2 = join(dir, "ep2.mkv");
      const media = (path: string, secs: number, codec: string[]) =>
        execFileSync("ffmpeg", [
          ...["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=s=1280x720:r=25:d=${secs}`, "-f", "lavfi", "-i"],
          ...[`sine=f=440:d=${secs}`, ...codec, "-c:a", "aac", "-shortest", path],
        ]);
      media(ep1, 10, ["-c:v", "mpeg4", "-q:v", "2", "-b:v", "12M"]);
      media(ep2, 2, ["-c:v", "libx264", "-preset", "ultrafast"]);
      const job = join(dir, "season.yaml");
      await writeFile(
        job,
        stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name: "season" },
          spec: {
            episodes: [{ url: "https://cdn.example.com/show/trailer.mp4", title: "Trailer" }],
            quality: "720p",
            output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
          },
        }),
      );
      const r = await reel(["submit", job, "--file", ep1, "--file", ep2]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain("submitted season to media (3 episodes)");
      expect(r.stderr).toMatch(/uploading ep1\.mp4: 100% of \d+ bytes/);
      // The second PATCH was cut; a later one carried on from the offset the shim had kept.
      expect(proxy.seen.cuts).toBe(1);
      expect(proxy.seen.offsets[0]).toBe(0);
      expect(await readFile(ep1).then((b) => b.length)).toBeGreaterThan(12 * MiB);
      // After the cut ep1 goes on from 8 MiB or past it (the shim keeps what arrived), never from
      // 0: the only PATCHes from 0 are ep1's first and ep2's.
      const offsets = proxy.seen.offsets;
      expect(offsets.slice(0, 2), offsets.join(",")).toEqual([0, 8 * MiB]);
      expect(offsets[2], offsets.join(",")).toBeGreaterThanOrEqual(8 * MiB);
      expect(offsets.filter((o) => o === 0).length, offsets.join(",")).toBe(2);

      const vj = JSON.parse(
        (await cluster.kubectl(["get", "videojob", "-n", "media", "season", "-o", "json"])) ?? "{}",
      ) as {
        metadata: { annotations: Record<string, string> };
        spec: { episodes: { url: string; title?: string }[] };
      };
      const eps = vj.spec.episodes;
      expect(eps.map((e) => e.title)).toEqual(["Trailer", "ep1", "ep2"]);
      const ids = vj.metadata.annotations["reel.dev/uploads"]?.split(",") ?? [];
      expect(ids).toHaveLength(2);
      expect(eps.slice(1).map((e) => e.url)).toEqual(ids.map((id) => `s3://${BUCKET}/uploads/media/${id}`));
      const client = new S3Client({
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
      for (const [i, file] of [ep1, ep2].entries()) {
        const o = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `uploads/media/${ids[i]}` }));
        expect(sha((await o.Body?.transformToByteArray()) ?? new Uint8Array()), file).toBe(sha(await readFile(file)));
      }
      client.destroy();
    }, 180_000);

    it("refuses a missing file before any network call, and names the quota when a file does not fit", async () => {
      const missing = await reel([
        "submit",
        join(dir, "season.yaml"),
        "--name",
        "other",
        "--file",
        join(dir, "nope.mp4"),
      ]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("REEL_INVALID_ARGUMENT");
      expect(missing.stderr).toContain("nope.mp4");
      const big = join(dir, "big.bin");
      await writeFile(big, Buffer.alloc(25 * MiB));
      const over = await reel(["submit", join(dir, "season.yaml"), "--name", "too-big", "--file", big]);
      expect(over.code).not.toBe(0);
      expect(over.stderr).toContain("REEL_UPLOAD_QUOTA_EXCEEDED");
      expect(await cluster.kubectl(["get", "videojob", "-n", "media", "too-big", "--ignore-not-found"])).toBeFalsy();
    }, 60_000);
  },
);
