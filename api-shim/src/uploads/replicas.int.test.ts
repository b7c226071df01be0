// tus uploads across two real shim replicas on one PostgreSQL, one Redis and one S3 (versitygw),
// as the chart runs them behind one Service: an upload started on replica A is resumed on replica
// B from the offset B reads out of S3; two PATCHes of one upload sent at once, one to each replica,
// never both write (the second is refused 423 by the Redis lock); and the sweep, on real S3:
// an expired unfinished upload is aborted (its multipart upload gone, its bytes back in the quota),
// one being written is left, a finished upload a VideoJob names is kept and one no job names goes.
// Also the per-upload size limit and the Upload-Expires header.
import { createHash, randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sBinariesBuilt } from "../../../e2e/cluster/cluster.ts";
import type { S3Server } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import type { Config } from "../config.ts";
import type { RunningShim } from "../main.ts";
import { type ShimServices, s3Client, seedUsers, startShimServices, uploadEnv } from "../testing/services.ts";
import { createUploadSweeper, type SweepResult } from "./sweep.ts";
import { createTusUploads, tusOptionsOf } from "./tus.ts";

const MiB = 1024 * 1024;
const BUCKET = "reel-uploads";
const DAY = 24 * 3600 * 1000;
const title = "tus uploads across two shim replicas (PostgreSQL, Redis, versitygw, L2)";

describe.skipIf(!k8sBinariesBuilt())(
  k8sBinariesBuilt() ? title : `${title} — skipped, needs the Kubernetes binaries`,
  () => {
    let svc: ShimServices;
    let s3: S3Server;
    let config: Config;
    let a: RunningShim;
    let b: RunningShim;
    let client: S3Client;
    let peek: Redis;
    let key = "";

    const call = (shim: RunningShim, path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${shim.port}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${key}`, "tus-resumable": "1.0.0", ...(init.headers ?? {}) },
      });
    const create = async (shim: RunningShim, length: number): Promise<string> => {
      const r = await call(shim, "/uploads", { method: "POST", headers: { "upload-length": String(length) } });
      expect(r.status).toBe(201);
      return (r.headers.get("location") ?? "").split("/").pop() ?? "";
    };
    const patch = (shim: RunningShim, id: string, offset: number, body: RequestInit["body"]) =>
      call(shim, `/uploads/${id}`, {
        method: "PATCH",
        headers: { "content-type": "application/offset+octet-stream", "upload-offset": String(offset) },
        body,
        duplex: "half",
      } as RequestInit);
    const offsetOn = async (shim: RunningShim, id: string) =>
      Number((await call(shim, `/uploads/${id}`, { method: "HEAD" })).headers.get("upload-offset"));
    const stored = async (id: string) => {
      const o = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `uploads/media/${id}` }));
      return Buffer.from((await o.Body?.transformToByteArray()) ?? []);
    };
    const multipart = async (id: string) =>
      (
        (await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `uploads/media/${id}` })))
          .Uploads ?? []
      ).length;
    const objects = async (id: string) =>
      (
        (await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `uploads/media/${id}` }))).Contents ?? []
      ).map((o) => o.Key);
    const used = async () =>
      ((await (await call(a, "/uploads")).json()) as { usedBytes: number; uploads: { id: string }[] }).usedBytes;
    const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

    beforeAll(async () => {
      svc = await startShimServices({ prefix: "reel-upload-replicas-", s3: true, namespaces: ["media"] });
      s3 = svc.s3;
      key = (await seedUsers(svc.pg.url, { vera: { role: "operator", tenant: "media" } })).vera.key;
      client = s3Client(s3);
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
      peek = new Redis(svc.redis.url);
      config = svc.config({
        ...uploadEnv(s3, BUCKET),
        REEL_UPLOAD_QUOTA_BYTES: "200Mi",
        REEL_UPLOAD_PART_BYTES: "5Mi",
        REEL_UPLOAD_SWEEP_INTERVAL_MS: "1000",
        REEL_UPLOAD_MAX_BYTES: "64Mi",
      });
      [a, b] = await Promise.all([svc.startShim(config), svc.startShim(config)]);
    }, 180_000);

    afterAll(async () => {
      peek?.disconnect();
      client?.destroy();
      await svc?.close();
    });

    it("resumes on replica B an upload started on replica A, from the offset B reads in S3, byte for byte", async () => {
      const file = randomBytes(12 * MiB);
      const id = await create(a, file.length);
      // 6 MiB on A: one 5 MiB part and a 1 MiB tail (.part object) that B must count too.
      const first = await patch(a, id, 0, file.subarray(0, 6 * MiB));
      expect(first.status).toBe(204);
      expect(await offsetOn(b, id)).toBe(6 * MiB);
      // B refuses an offset other than the stored one, and takes the rest from there.
      expect((await patch(b, id, 4 * MiB, file.subarray(4 * MiB))).status).toBe(409);
      const rest = await patch(b, id, 6 * MiB, file.subarray(6 * MiB));
      expect(rest.status).toBe(204);
      expect(rest.headers.get("upload-offset")).toBe(String(file.length));
      expect(await offsetOn(a, id)).toBe(file.length);
      expect(sha(await stored(id))).toBe(sha(file));
      expect(((await (await call(a, `/uploads/${id}`)).json()) as { complete: boolean }).complete).toBe(true);
    }, 60_000);

    it("refuses a PATCH on replica B (423) while replica A writes the same upload, and A's bytes are the file's", async () => {
      const file = randomBytes(7 * MiB);
      const id = await create(b, file.length);
      // A's PATCH sends 1 MiB, then holds its body open until B has been answered.
      let letGo: () => void = () => {};
      const held = new Promise<void>((r) => {
        letGo = r;
      });
      const body = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(file.subarray(0, MiB));
          await held;
          c.enqueue(file.subarray(MiB));
          c.close();
        },
      });
      const onA = patch(a, id, 0, body);
      await until("A to hold the upload's lock", async () =>
        (await peek.exists(`reel:upload-lock:uploads/media/${id}`)) === 1 ? true : undefined,
      );
      const onB = await patch(b, id, 0, file);
      letGo();
      expect(onB.status).toBe(423);
      expect(await onB.text()).toContain("REEL_UPLOAD_LOCKED");
      const answered = await onA;
      expect(answered.status).toBe(204);
      expect(answered.headers.get("upload-offset")).toBe(String(file.length));
      expect(sha(await stored(id))).toBe(sha(file));
      // The lock went with A's PATCH: B may write (and is told the upload is already whole).
      expect(await peek.exists(`reel:upload-lock:uploads/media/${id}`)).toBe(0);
      expect(await offsetOn(b, id)).toBe(file.length);
    }, 60_000);

    it("refuses an upload over REEL_UPLOAD_MAX_BYTES before reserving it, and tells a client when an upload expires", async () => {
      const before = await used();
      const over = await call(a, "/uploads", { method: "POST", headers: { "upload-length": String(64 * MiB + 1) } });
      expect(over.status).toBe(413);
      expect(((await over.json()) as { error: { code: string } }).error.code).toBe("REEL_BODY_TOO_LARGE");
      expect(await used()).toBe(before);
      const t0 = Date.now();
      const made = await call(a, "/uploads", { method: "POST", headers: { "upload-length": String(MiB) } });
      expect(made.status).toBe(201);
      const id = (made.headers.get("location") ?? "").split("/").pop() ?? "";
      // REEL_UPLOAD_EXPIRY's default, 24h from creation (the header has whole seconds); a PATCH says it too.
      const expires = Date.parse(made.headers.get("upload-expires") ?? "");
      expect(Math.abs(expires - (t0 + DAY))).toBeLessThan(5_000);
      const half = await patch(b, id, 0, randomBytes(MiB / 2));
      expect(half.status).toBe(204);
      expect(Date.parse(half.headers.get("upload-expires") ?? "")).toBe(expires);
      expect((await call(a, `/uploads/${id}`, { method: "DELETE" })).status).toBe(204);
    });

    it("sweeps an expired unfinished upload (multipart aborted, quota freed) and an unused finished one, not one in use", async () => {
      // Unfinished: 6 MiB of 20 stored (a part and a tail), then abandoned.
      const abandoned = await create(a, 20 * MiB);
      expect((await patch(a, abandoned, 0, randomBytes(6 * MiB))).status).toBe(204);
      expect(await multipart(abandoned)).toBe(1);
      // Unfinished and being written when the sweep comes: its lock is held.
      const writing = await create(a, 10 * MiB);
      expect((await patch(a, writing, 0, randomBytes(MiB))).status).toBe(204);
      // Finished: one named by a VideoJob, one by none.
      const named = await create(b, MiB);
      expect((await patch(b, named, 0, randomBytes(MiB))).status).toBe(204);
      const unnamed = await create(b, MiB);
      expect((await patch(b, unnamed, 0, randomBytes(MiB))).status).toBe(204);
      const job = await call(a, "/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          name: "uses-upload",
          spec: {
            quality: "480p",
            episodes: [{ upload: named }],
            output: { s3: { bucket: "videos", endpoint: s3.endpoint, credentialsSecret: "reel-output" } },
          },
        }),
      });
      expect(job.status, await job.clone().text()).toBe(201);
      await until("replica A's cache to hold the job", async () => a.deps.cache.get("media", "uses-upload"));
      const listed = (await (await call(a, "/uploads")).json()) as {
        usedBytes: number;
        uploads: { id: string; length: number; complete: boolean }[];
      };
      // Unused at 8 days on: `unnamed` and the finished uploads of the tests above.
      const unused = listed.uploads.filter((u) => u.complete && u.id !== named);
      expect(unused.map((u) => u.id)).toContain(unnamed);
      const unusedBytes = unused.reduce((n, u) => n + u.length, 0);

      // The sweep as of 8 days on: past the expiry (24h) and the retention (7d) of all four.
      const tus = createTusUploads(tusOptionsOf(config, a.deps.redis, async () => {}));
      const sweeper = createUploadSweeper(a.deps, tus);
      const lockKey = `reel:upload-lock:uploads/media/${writing}`;
      await peek.set(lockKey, "a PATCH on another replica", "PX", 60_000);
      const result = await until("this sweep to get the turn", async () => {
        const r: SweepResult = await sweeper.sweep(Date.now() + 8 * DAY);
        return r.ran ? r : undefined;
      });
      await peek.del(lockKey);
      tus.close();
      expect(result).toMatchObject({
        expired: 1,
        unused: unused.length,
        skipped: 1,
        freedBytes: 20 * MiB + unusedBytes,
      });
      expect(await multipart(abandoned)).toBe(0);
      expect(await objects(abandoned)).toEqual([]);
      expect(await objects(unnamed)).toEqual([]);
      expect((await call(b, `/uploads/${abandoned}`, { method: "HEAD" })).status).toBe(404);
      expect(await used()).toBe(listed.usedBytes - 20 * MiB - unusedBytes);
      for (const u of unused) expect(await objects(u.id)).toEqual([]);
      // What the sweep left: the upload being written, and the one the job names.
      expect(await multipart(writing)).toBe(1);
      expect(await objects(named)).toContain(`uploads/media/${named}`);
      expect((await call(b, `/uploads/${named}`)).status).toBe(200);
      const metric = await a.deps.metrics.registry.getSingleMetricAsString("reel_shim_uploads_swept_total");
      expect(metric).toContain('reel_shim_uploads_swept_total{reason="expired"} 1');
      expect(metric).toContain(`reel_shim_uploads_swept_total{reason="unused"} ${unused.length}`);
    }, 90_000);
  },
);
