// The dashboard's uploads page in a real chromium against the real shim (PostgreSQL, Redis, the L2
// control plane) and versitygw, reached through a loopback proxy that drops the connection once
// 10 MiB went up it (inside the second 8 MiB PATCH): the page's progress bar moves, the row says it
// is reconnecting, the upload goes on from the offset the shim kept, and the stored object is the file.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../../e2e/cluster/cluster.ts";
import { type CutProxy, startCutProxy } from "../../../e2e/src/services/cut-proxy.ts";
import { type PostgresServer, startPostgres } from "../../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../../e2e/src/services/redis.ts";
import { type S3Server, startS3 } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import { addUser } from "../admin.ts";
import { parseConfig } from "../config.ts";
import { connectPostgres } from "../db/database.ts";
import { migrate } from "../db/migrate.ts";
import { type RunningShim, startShim } from "../main.ts";
import { chromiumPath, launchChromium } from "./browser.ts";

const crd = join(import.meta.dirname, "..", "..", "..", "crds", "generated", "videojob.crd.yaml");
const MiB = 1024 * 1024;
const BUCKET = "reel-uploads";
const missing = [
  !k8sBinariesBuilt() && "the pinned Kubernetes binaries (bash e2e/scripts/build-k8s.sh)",
  !chromiumPath() && "chromium (apt-get install chromium, or scripts/bootstrap.sh)",
].filter(Boolean);
const title = "the dashboard's uploads page in chromium, on the shim and versitygw (L2)";

describe.skipIf(missing.length > 0)(
  missing.length ? `${title} — skipped, needs ${missing.join(" and ")}` : title,
  () => {
    let dir: string;
    let shots: string;
    let cluster: Cluster;
    let pg: PostgresServer;
    let redis: RedisServer;
    let s3: S3Server;
    let shim: RunningShim;
    let proxy: CutProxy;
    let browser: Browser;
    let page: Page;
    let key: string;
    const problems: string[] = [];
    const inPage = <T>(expression: string) => page.evaluate(expression) as Promise<T>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "reel-upload-page-"));
      shots = await mkdtemp(join(tmpdir(), "reel-dashboard-shots-"));
      [cluster, pg, redis, s3] = await Promise.all([
        clusterUp({ level: 2, dir: join(dir, "cluster") }),
        startPostgres(),
        startRedis(),
        startS3(),
      ]);
      process.env.KUBECONFIG = cluster.kubeconfig;
      await cluster.kubectl(["apply", "--server-side", "-f", crd]);
      const sql = connectPostgres(pg.url, 1);
      await migrate(sql);
      key = (await addUser(sql, { name: "vera", role: "operator", tenant: "media" })).key;
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
          REEL_UPLOAD_QUOTA_BYTES: String(100 * MiB),
          REEL_UPLOAD_PART_BYTES: String(5 * MiB),
        }),
        { webhooks: false },
      );
      await until("the shim to be healthy", async () => (await fetch(`http://127.0.0.1:${shim.port}/api/health`)).ok);
      proxy = await startCutProxy(shim.port, 10 * MiB);
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.setDefaultTimeout(30_000);
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
          problems.push(`console: ${m.text()}`);
      });
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      proxy?.close();
      await shim?.stop();
      await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop(), s3?.stop()]);
      await rm(dir, { recursive: true, force: true });
    });

    it("uploads a file with a progress bar, resumes after the connection drops, and lists it", async () => {
      const file = join(dir, "Pilot.mp4");
      execFileSync("ffmpeg", [
        ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=10"],
        ...["-f", "lavfi", "-i", "sine=f=440:d=10", "-c:v", "mpeg4", "-q:v", "2", "-b:v", "12M"],
        ...["-c:a", "aac", "-shortest", file],
      ]);
      const bytes = await readFile(file);
      expect(bytes.length).toBeGreaterThan(12 * MiB);

      await page.addInitScript(`sessionStorage.setItem("reel.apiKey", ${JSON.stringify(key)})`);
      await page.goto(`http://127.0.0.1:${proxy.port}/#/uploads`);
      await page.getByRole("heading", { name: "Uploads", exact: true }).waitFor();
      await page.locator("#upload-files").setInputFiles(file);
      await page.getByRole("button", { name: "Upload" }).click();

      // What the row showed on its way: its states and its bar's values, sampled every 25 ms.
      const states = new Set<string>();
      const values = new Set<number>();
      await until(
        "the row to say Uploaded",
        async () => {
          const r = await inPage<{ state?: string; value?: number }>(`(() => {
          const row = document.querySelector(".upload-row");
          return row ? { state: row.dataset.state, value: row.querySelector("progress").value } : {};
        })()`);
          if (r.state) states.add(r.state);
          if (r.value !== undefined) values.add(Math.round(r.value));
          return r.state === "done" || r.state === "failed" ? r.state : undefined;
        },
        120_000,
        25,
      );
      const row = page.locator(".upload-row");
      expect(await row.getAttribute("data-state"), (await row.textContent()) ?? "").toBe("done");
      expect(states).toContain("reconnecting");
      expect(
        [...values].some((v) => v > 0 && v < 100),
        [...values].join(","),
      ).toBe(true);
      expect(await row.locator("progress").evaluate((p) => (p as unknown as { value: number }).value)).toBe(100);
      // The connection was cut once, and the next PATCH went on from where the shim had stopped.
      expect(proxy.seen.cuts).toBe(1);
      expect(proxy.seen.offsets[0]).toBe(0);
      // (the shim keeps what arrived of the cut PATCH, so the next one may start past 8 MiB).
      const offsets = proxy.seen.offsets;
      expect(offsets.slice(0, 2), offsets.join(",")).toEqual([0, 8 * MiB]);
      expect(offsets.length, offsets.join(",")).toBeGreaterThanOrEqual(3);
      expect(
        offsets.slice(2).every((o) => o >= 8 * MiB && o < bytes.length),
        offsets.join(","),
      ).toBe(true);

      const id = /"upload": "([0-9a-f]{32})"/.exec((await row.locator(".upload-id").textContent()) ?? "")?.[1] ?? "";
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const client = new S3Client({
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      const stored = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `uploads/media/${id}` }));
      const storedBytes = (await stored.Body?.transformToByteArray()) ?? new Uint8Array();
      client.destroy();
      const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
      expect(sha(storedBytes)).toBe(sha(bytes));

      // The list below: the file, complete, and the quota used.
      await until("the list to show the upload", async () =>
        (await page.locator("#upload-list").textContent())?.includes(id) ? true : undefined,
      );
      const listed = (await page.locator("#upload-list").textContent()) ?? "";
      expect(listed).toContain("Pilot.mp4");
      expect(listed).toContain("complete");
      expect(await page.locator("#upload-usage").textContent()).toBe(
        `${(bytes.length / MiB).toFixed(1)} MiB of 100.0 MiB used`,
      );
      // The upload's URL is forgotten once it is done (a later choice of the file is a new upload).
      expect(await inPage<number>("localStorage.length")).toBe(0);
      expect(problems).toEqual([]);
      const shot = join(shots, "uploads.png");
      await page.screenshot({ path: shot, fullPage: true });
      process.stderr.write(`dashboard screenshot: ${shot}\n`);
    }, 180_000);
  },
);
