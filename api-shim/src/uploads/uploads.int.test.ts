// tus uploads through the real shim (PostgreSQL, Redis, the L2 control plane) into a real S3
// (versitygw): an upload cut off mid-PATCH and resumed from the offset the shim reports, stored
// byte for byte as a multipart object in the tenant's upload area; the quota refused before any
// byte lands; another tenant's id answered 404 on HEAD, PATCH and DELETE; an uploaded file named as
// a job's `upload:` episode, processed by `reel run` from the VideoJob the shim created, and removed
// with that job.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Cluster, k8sBinariesBuilt } from "../../../e2e/cluster/cluster.ts";
import type { S3Server } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import {
  keysOf,
  type ShimServices,
  s3Client,
  seedUsers,
  shimUrl,
  startShimServices,
  uploadEnv,
} from "../testing/services.ts";

const MiB = 1024 * 1024;
const BUCKET = "reel-uploads";
const QUOTA = 40 * MiB;
const reelMain = join(import.meta.dirname, "..", "..", "..", "worker-image", "src", "cli", "main.ts");
const exec = promisify(execFile);
const title = "tus uploads through the shim into versitygw (L2)";

describe.skipIf(!k8sBinariesBuilt())(
  k8sBinariesBuilt() ? title : `${title} — skipped, needs the Kubernetes binaries`,
  () => {
    let svc: ShimServices;
    let dir: string;
    let cluster: Cluster;
    let s3: S3Server;
    let base: string;
    let client: S3Client;
    const keys: Record<"vera" | "otto" | "vic", string> = { vera: "", otto: "", vic: "" };

    const api = (who: keyof typeof keys, path: string, init: RequestInit = {}) =>
      fetch(`${base}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${keys[who]}`, "tus-resumable": "1.0.0", ...(init.headers ?? {}) },
      });
    const objects = async (prefix: string) =>
      ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map(
        (o) => o.Key ?? "",
      );
    const sha = (b: Buffer | Uint8Array) => createHash("sha256").update(b).digest("hex");

    /** 8 s of 1280x720 MPEG-4 part 2 at a high bitrate: about 12 MiB, three 5 MiB parts. */
    function makeEpisode(path: string): void {
      execFileSync("ffmpeg", [
        ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=8"],
        ...["-f", "lavfi", "-i", "sine=f=440:d=8", "-c:v", "mpeg4", "-q:v", "2", "-b:v", "12M"],
        ...["-c:a", "aac", "-shortest", path],
      ]);
    }

    beforeAll(async () => {
      svc = await startShimServices({ prefix: "reel-uploads-", s3: true, namespaces: ["media"] });
      ({ dir, cluster, s3 } = svc);
      const users = await seedUsers(svc.pg.url, {
        vera: { role: "operator", tenant: "media" },
        otto: { role: "operator", tenant: "news" },
        vic: { role: "viewer", tenant: "media" },
      });
      Object.assign(keys, keysOf(users));
      client = s3Client(s3);
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const config = svc.config({
        ...uploadEnv(s3, BUCKET),
        REEL_UPLOAD_QUOTA_BYTES: String(QUOTA),
        REEL_UPLOAD_PART_BYTES: String(5 * MiB),
        // A short whole-body deadline: a PATCH stream must not be held to it.
        REEL_REQUEST_TIMEOUT_MS: "1000",
      });
      base = shimUrl(await svc.startShim(config));
    }, 180_000);

    afterAll(async () => {
      client?.destroy();
      await svc?.close();
    });

    it("resumes an upload cut off mid-PATCH from the stored offset and keeps the file byte for byte", async () => {
      const path = join(dir, "ep1.mp4");
      makeEpisode(path);
      const file = await readFile(path);
      expect(file.length).toBeGreaterThan(10 * MiB);
      const patches: number[] = [];
      const options = (onProgress: (sent: number) => void) => ({
        endpoint: `${base}/api/v1/uploads`,
        headers: { authorization: `Bearer ${keys.vera}` },
        metadata: { filename: "ep1.mp4", filetype: "video/mp4" },
        chunkSize: 4 * MiB,
        retryDelays: [],
        onProgress: (sent: number) => onProgress(sent),
        onBeforeRequest: (req: { getMethod(): string; getHeader(h: string): string | undefined }) => {
          if (req.getMethod() === "PATCH") patches.push(Number(req.getHeader("Upload-Offset")));
        },
      });
      // First try: the connection is dropped once 6 MiB are on their way (in the second PATCH).
      const first = await new Promise<string>((resolve, reject) => {
        const up: Upload = new Upload(file, {
          ...options((sent) => {
            if (sent > 6 * MiB) {
              void up.abort();
              resolve(up.url ?? "");
            }
          }),
          onError: reject,
        });
        up.start();
      });
      expect(first).toMatch(new RegExp(`^${base}/api/v1/uploads/[0-9a-f]{32}$`));
      const id = first.slice(first.lastIndexOf("/") + 1);
      // What the shim kept: HEAD answers the offset a client resumes from.
      const head = await until("the cut PATCH to be stored", async () => {
        const r = await api("vera", `/uploads/${id}`, { method: "HEAD" });
        return r.status === 200 && Number(r.headers.get("upload-offset")) > 0 ? r : undefined;
      });
      const offset = Number(head.headers.get("upload-offset"));
      expect(offset).toBeGreaterThanOrEqual(4 * MiB);
      expect(offset).toBeLessThan(file.length);
      expect(Number(head.headers.get("upload-length"))).toBe(file.length);

      // Second try: the same URL, resumed where the shim says, not from 0.
      patches.length = 0;
      await new Promise<void>((resolve, reject) => {
        new Upload(file, {
          ...options(() => {}),
          uploadUrl: first,
          onError: reject,
          onSuccess: () => resolve(),
        }).start();
      });
      expect(patches[0]).toBe(offset);
      const stored = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `uploads/media/${id}` }));
      const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
      expect(bytes.length).toBe(file.length);
      expect(sha(bytes)).toBe(sha(file));
      // And it is still the episode: ffprobe reads 8 s of 1280x720 video from the stored copy.
      await writeFile(join(dir, "stored.mp4"), bytes);
      const probe = JSON.parse(
        execFileSync(
          "ffprobe",
          ["-v", "error", "-show_streams", "-show_format", "-of", "json", join(dir, "stored.mp4")],
          {
            encoding: "utf8",
          },
        ),
      ) as { format: { duration: string }; streams: { codec_type: string; width?: number }[] };
      expect(Number(probe.format.duration)).toBeCloseTo(8, 0);
      expect(probe.streams.find((s) => s.codec_type === "video")?.width).toBe(1280);

      const listed = (await (await api("vera", "/uploads")).json()) as {
        usedBytes: number;
        quotaBytes: number;
        uploads: { id: string; length: number; filename: string; complete: boolean }[];
      };
      expect(listed).toMatchObject({ usedBytes: file.length, quotaBytes: QUOTA });
      expect(listed.uploads).toEqual([
        expect.objectContaining({ id, length: file.length, filename: "ep1.mp4", complete: true }),
      ]);
    }, 120_000);

    it("answers another tenant's HEAD, PATCH and DELETE of an upload 404, and leaves the upload alone", async () => {
      const [mine] = ((await (await api("vera", "/uploads")).json()) as { uploads: { id: string }[] }).uploads;
      const id = mine?.id ?? "";
      for (const method of ["HEAD", "PATCH", "DELETE"]) {
        const r = await api("otto", `/uploads/${id}`, {
          method,
          ...(method === "PATCH"
            ? { body: "x", headers: { "content-type": "application/offset+octet-stream", "upload-offset": "0" } }
            : {}),
        });
        expect(r.status, method).toBe(404);
        if (method !== "HEAD")
          expect(((await r.json()) as { error: { code: string } }).error.code).toBe("REEL_NOT_FOUND");
      }
      expect((await api("otto", `/uploads/${id}`)).status).toBe(404);
      expect(((await (await api("otto", "/uploads")).json()) as { uploads: unknown[] }).uploads).toEqual([]);
      expect(await objects(`uploads/media/${id}`)).toContain(`uploads/media/${id}`);
      expect(await objects("uploads/news/")).toEqual([]);
      // A viewer of the tenant may list, not upload.
      const viewer = await api("vic", "/uploads", { method: "POST", headers: { "upload-length": "10" } });
      expect(viewer.status).toBe(403);
    });

    it("refuses an upload past the tenant's quota before any byte lands, and frees the quota on DELETE", async () => {
      const before = (await (await api("vera", "/uploads")).json()) as { usedBytes: number; uploads: { id: string }[] };
      const free = QUOTA - before.usedBytes;
      const objectsBefore = await objects("uploads/media/");
      const over = await api("vera", "/uploads", {
        method: "POST",
        headers: { "upload-length": String(free + 1), "content-type": "application/offset+octet-stream" },
        body: Buffer.alloc(1024),
      });
      expect(over.status).toBe(413);
      const body = (await over.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("REEL_UPLOAD_QUOTA_EXCEEDED");
      expect(body.error.message).toContain(`${before.usedBytes} of ${QUOTA} bytes`);
      expect(await objects("uploads/media/")).toEqual(objectsBefore);
      // Exactly the free bytes still fit.
      const fits = await api("vera", "/uploads", { method: "POST", headers: { "upload-length": String(free) } });
      expect(fits.status).toBe(201);
      const fitsId = (fits.headers.get("location") ?? "").split("/").pop();
      expect((await api("vera", `/uploads/${fitsId}`, { method: "DELETE" })).status).toBe(204);

      const id = before.uploads[0]?.id ?? "";
      expect((await api("vera", `/uploads/${id}`, { method: "DELETE" })).status).toBe(204);
      expect(await objects(`uploads/media/${id}`)).toEqual([]);
      expect((await api("vera", `/uploads/${id}`, { method: "HEAD" })).status).toBe(404);
      expect(((await (await api("vera", "/uploads")).json()) as { usedBytes: number }).usedBytes).toBe(0);
    });

    /** One whole upload with tus-js-client; its id. */
    const upload = (file: Buffer, filename: string) =>
      new Promise<string>((resolve, reject) => {
        const up = new Upload(file, {
          endpoint: `${base}/api/v1/uploads`,
          headers: { authorization: `Bearer ${keys.vera}` },
          metadata: { filename },
          retryDelays: [],
          onError: reject,
          onSuccess: () => resolve((up.url ?? "").split("/").pop() ?? ""),
        });
        up.start();
      });

    it("processes an upload named as a job's episode, and removes it with the job", async () => {
      const path = join(dir, "Pilot.mp4");
      execFileSync("ffmpeg", [
        ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3", "-f", "lavfi", "-i"],
        ...["sine=f=440:d=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        ...["-shortest", path],
      ]);
      const id = await upload(await readFile(path), "Pilot.mp4");
      const unfinished = await api("vera", "/uploads", { method: "POST", headers: { "upload-length": "100" } });
      const unfinishedId = (unfinished.headers.get("location") ?? "").split("/").pop() ?? "";
      const job = (episodes: object[]) => ({
        spec: {
          quality: "480p",
          compression: { preset: "fast", level: 6 },
          episodes,
          output: { s3: { bucket: "videos", endpoint: s3.endpoint, credentialsSecret: "reel-output" } },
        },
      });
      const post = (who: keyof typeof keys, body: object) =>
        api(who, "/jobs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const errorOf = async (r: Response) => ({
        status: r.status,
        ...((await r.json()) as { error: { code: string } }).error,
      });
      expect(await errorOf(await post("vera", job([{ upload: unfinishedId }])))).toMatchObject({
        status: 409,
        code: "REEL_UPLOAD_INCOMPLETE",
      });
      expect(await errorOf(await post("otto", job([{ upload: id }])))).toMatchObject({
        status: 400,
        code: "REEL_JOB_INVALID",
      });
      const created = await post("vera", { name: "from-upload", ...job([{ upload: id }]) });
      expect(created.status, await created.clone().text()).toBe(201);

      // The VideoJob reads the stored object as an S3 source, and names the upload for retention.
      const vj = JSON.parse(
        (await cluster.kubectl(["get", "videojob", "-n", "media", "from-upload", "-o", "json"])) ?? "{}",
      ) as { metadata: { annotations: Record<string, string> }; spec: { episodes: object[] } };
      expect(vj.metadata.annotations["reel.dev/uploads"]).toBe(id);
      expect(vj.spec.episodes).toEqual([
        {
          url: `s3://${BUCKET}/uploads/media/${id}`,
          title: "Pilot",
          s3: { endpoint: s3.endpoint, region: "us-east-1", credentialsSecret: "reel-uploads" },
        },
      ]);
      // reel run of that spec (output on disk instead of the cluster's bucket): fetched from S3 by
      // the worker's own s3:// path, encoded and merged with the file's name as its chapter.
      const manifest = join(dir, "from-upload.yaml");
      const spec = { ...vj.spec, output: { local: { path: join(dir, "out") } } };
      const doc = { apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name: "from-upload" }, spec };
      await writeFile(manifest, stringify(doc));
      const run = await exec(process.execPath, [reelMain, "run", manifest, "--json", "--allow", "127.0.0.1/32"], {
        env: {
          ...process.env,
          REEL_CACHE_DIR: join(dir, "reel-cache"),
          AWS_ACCESS_KEY_ID: s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        },
        maxBuffer: 16 * 1024 * 1024,
      }).catch((e: { stdout: string; stderr: string }) => e);
      const result = JSON.parse(run.stdout) as { phase: string; output?: { location: string } };
      expect(result.phase, run.stdout + run.stderr).toBe("Completed");
      const probeArgs = ["-v", "error", "-show_chapters", "-show_streams", "-show_format", "-of", "json"];
      const probe = JSON.parse(
        execFileSync("ffprobe", [...probeArgs, result.output?.location ?? ""], { encoding: "utf8" }),
      ) as {
        format: { duration: string };
        chapters: { tags: { title: string } }[];
        streams: { codec_type: string; height?: number }[];
      };
      expect(Number(probe.format.duration)).toBeCloseTo(3, 0);
      expect(probe.chapters.map((c) => c.tags.title)).toEqual(["Pilot"]);
      expect(probe.streams.find((s) => s.codec_type === "video")?.height).toBeGreaterThan(0);

      // Deleting the job (as finished-job retention does) removes the upload: objects, row, quota.
      await cluster.kubectl(["delete", "videojob", "-n", "media", "from-upload", "--wait=true"]);
      await until("the upload to go with its job", async () => (await objects(`uploads/media/${id}`)).length === 0);
      await until("its row to go", async () => (await api("vera", `/uploads/${id}`)).status === 404);
      const left = (await (await api("vera", "/uploads")).json()) as { usedBytes: number; uploads: { id: string }[] };
      expect(left.uploads.map((u) => u.id)).toEqual([unfinishedId]);
      expect(left.usedBytes).toBe(100);
    }, 240_000);
  },
);
