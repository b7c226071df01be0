// `reel run` with s3:// episodes against a real S3 server (versitygw on loopback): presigned here,
// downloaded by the Rust downloader through the egress guard, merged beside a web episode; and the
// ways it fails — a missing object, wrong keys (never shown), an endpoint the allowlist does not open.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { S3Server } from "@reel/e2e/services";
import { download } from "@reel/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { startS3WithBucket } from "../testing/s3.ts";
import { presignSource } from "./s3.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "..", "cli", "main.ts");

let tmp: { dir: string; cleanup(): Promise<void> };
let s3: S3Server;
let client: S3Client;
let web: Server;
let webOrigin: string;

function clip(path: string, freq: number, secs = 3): void {
  execFileSync("ffmpeg", [
    ...["-nostdin", "-v", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=s=320x240:r=25:d=${secs}`, "-f", "lavfi", "-i", `sine=f=${freq}:d=${secs}`],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path],
  ]);
}

/** A plain web server for the non-S3 episode (whole files only). */
function serve(root: string): Promise<void> {
  web = createServer(async (req, res) => {
    const file = join(root, new URL(req.url ?? "/", "http://x").pathname.replace(/[^\w.-]/g, ""));
    const size = (await stat(file).catch(() => undefined))?.size;
    if (size === undefined) return void res.writeHead(404).end();
    createReadStream(file).pipe(res.writeHead(200, { "content-length": size, "content-type": "video/mp4" }));
  });
  return new Promise((resolve) => web.listen(0, "127.0.0.1", resolve));
}

beforeAll(async () => {
  tmp = await makeTempDir("reel-s3-source-");
  ({ s3, client } = await startS3WithBucket("media"));
  clip(join(tmp.dir, "s3-ep.mp4"), 440);
  clip(join(tmp.dir, "web-ep.mp4"), 660);
  await client.send(
    new PutObjectCommand({
      Bucket: "media",
      Key: "season 1/ep1.mp4",
      Body: await readFile(join(tmp.dir, "s3-ep.mp4")),
    }),
  );
  await serve(tmp.dir);
  webOrigin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  web?.closeAllConnections();
  web?.close();
  client?.destroy();
  await s3?.stop();
  await tmp?.cleanup();
});

interface RunResult {
  phase: string;
  episodes: { phase: string; encoder?: string; durationSecs?: number; error?: { code: string; message: string } }[];
  output?: { location: string; chapters: number };
}

/** `reel run job.yaml --json` with `env` added; its parsed result and everything it printed. */
async function reelRun(name: string, spec: object, env: Record<string, string>, allow: string) {
  const job = join(tmp.dir, `${name}.yaml`);
  await writeFile(job, stringify({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name }, spec }));
  const r = await exec(process.execPath, [main, "run", job, "--json", "--allow", allow], {
    env: { ...process.env, REEL_CACHE_DIR: join(tmp.dir, `cache-${name}`), ...env },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: { stdout: string; stderr: string }) => e);
  return { result: JSON.parse(r.stdout) as RunResult, printed: r.stdout + r.stderr };
}

const small = { quality: "480p", compression: { preset: "fast", level: 6 } };
const keys = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });

describe("reel run with s3:// episodes", () => {
  it("merges an s3:// object and a web episode with chapters", async () => {
    const { result, printed } = await reelRun(
      "s3-and-web",
      {
        ...small,
        episodes: [
          { url: "s3://media/season 1/ep1.mp4", title: "From S3" },
          { url: `${webOrigin}/web-ep.mp4`, title: "From the web" },
        ],
        sources: { s3: { endpoint: s3.endpoint, region: s3.region } },
        output: { local: { path: join(tmp.dir, "out") } },
      },
      keys(),
      "127.0.0.1/32",
    );
    expect(result.phase, printed).toBe("Completed");
    expect(printed).not.toContain(s3.secretAccessKey);
    expect(printed).not.toContain("X-Amz-Signature=");
    const probe = JSON.parse(
      execFileSync("ffprobe", [
        ...["-v", "error", "-show_chapters", "-show_format", "-of", "json"],
        result.output?.location ?? "",
      ]).toString(),
    ) as { chapters: { tags: { title: string } }[]; format: { duration: string } };
    expect(probe.chapters.map((c) => c.tags.title)).toEqual(["From S3", "From the web"]);
    expect(Number(probe.format.duration)).toBeCloseTo(6, 0);
  }, 180_000);

  it("downloads a presigned object with parallel ranged GETs", async () => {
    const body = randomBytes(8 * 2 ** 20);
    await client.send(new PutObjectCommand({ Bucket: "media", Key: "big/blob.bin", Body: body }));
    const ref = { bucket: "media", key: "big/blob.bin", endpoint: s3.endpoint, credentialsEnv: "AWS" as const };
    const url = await presignSource(ref, { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    const dest = join(tmp.dir, "blob.bin");
    // The options fetchS3 gives the direct path (pipeline/stages-real.ts downloadDirect).
    const r = await download({ url, dest, connections: 8, net: { allow: ["127.0.0.1/32"] } });
    expect(r).toMatchObject({ bytes: body.length, ranged: true });
    expect(r.connectionsUsed).toBeGreaterThan(1);
    expect(r.etag).toBeTruthy();
    expect((await readFile(dest)).equals(body)).toBe(true);
  }, 60_000);

  it("reuses the encode of an unchanged object, never of one changed at the same key", async () => {
    const put = async (path: string) =>
      client.send(new PutObjectCommand({ Bucket: "media", Key: "cache/ep.mp4", Body: await readFile(path) }));
    // The same job name shares its cache folder (REEL_CACHE_DIR) between runs.
    const run = (out: string) =>
      reelRun(
        "s3-cache",
        {
          ...small,
          episodes: [{ url: "s3://media/cache/ep.mp4" }],
          sources: { s3: { endpoint: s3.endpoint } },
          merge: { enabled: false },
          output: { local: { path: join(tmp.dir, out) } },
        },
        keys(),
        "127.0.0.1/32",
      );
    await put(join(tmp.dir, "s3-ep.mp4"));
    const first = await run("out-cache-1");
    expect(first.result.episodes[0]?.encoder, first.printed).not.toContain("(reused)");
    const again = await run("out-cache-2");
    expect(again.result.episodes[0]?.encoder, again.printed).toContain("(reused)");
    clip(join(tmp.dir, "changed.mp4"), 880, 2);
    await put(join(tmp.dir, "changed.mp4"));
    const changed = await run("out-cache-3");
    expect(changed.result.episodes[0]?.encoder, changed.printed).not.toContain("(reused)");
    expect(changed.result.episodes[0]?.durationSecs).toBeCloseTo(2, 0);
  }, 180_000);

  it("names a missing object and an endpoint the allowlist does not open", async () => {
    const unlisted = s3.endpoint.replace("127.0.0.1", "127.0.0.3");
    const { result, printed } = await reelRun(
      "s3-bad",
      {
        ...small,
        episodes: [
          { url: "s3://media/season 1/nothing-here.mp4" },
          { url: "s3://media/x.mp4", s3: { endpoint: unlisted } },
        ],
        sources: { s3: { endpoint: s3.endpoint } },
        merge: { enabled: false },
        output: { local: { path: join(tmp.dir, "out-bad") } },
      },
      keys(),
      "127.0.0.1/32",
    );
    expect(result.phase, printed).toBe("Failed");
    expect(result.episodes[0]?.error?.code, printed).toBe("REEL_SOURCE_NOT_FOUND");
    expect(result.episodes[1]?.error?.code, printed).toBe("REEL_EGRESS_DENIED");
    expect(result.episodes[1]?.error?.message).toContain("127.0.0.3");
    expect(result.episodes[1]?.error?.message).toContain("REEL_EGRESS_ALLOW");
    expect(printed).not.toContain(s3.secretAccessKey);
  }, 180_000);

  it("refuses wrong keys with REEL_SOURCE_FORBIDDEN and shows no key", async () => {
    // The output's keys are right; the source names another Secret, whose secret key is wrong
    // (versitygw answers an unknown access key id with 404, AWS with 403).
    const wrong = { id: s3.accessKeyId, secret: "wrong-secret-0123456789abcdefghij" };
    const { result, printed } = await reelRun(
      "s3-forbidden",
      {
        ...small,
        episodes: [{ url: "s3://media/season 1/ep1.mp4", s3: { credentialsSecret: "media-keys" } }],
        output: { s3: { bucket: "media", prefix: "out/", endpoint: s3.endpoint, credentialsSecret: "out-keys" } },
      },
      { ...keys(), REEL_SOURCE_AWS_ACCESS_KEY_ID: wrong.id, REEL_SOURCE_AWS_SECRET_ACCESS_KEY: wrong.secret },
      "127.0.0.1/32",
    );
    expect(result.phase, printed).toBe("Failed");
    expect(result.episodes[0]?.error?.code, printed).toBe("REEL_SOURCE_FORBIDDEN");
    expect(result.episodes[0]?.error?.message).toContain("s3://media/season 1/ep1.mp4");
    for (const secret of [wrong.secret, s3.accessKeyId, s3.secretAccessKey, "X-Amz-Signature=", "X-Amz-Credential="]) {
      expect(printed).not.toContain(secret);
    }
  }, 180_000);
});
