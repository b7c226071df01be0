// The sources of the L4 suite: short sample episodes made with ffmpeg's lavfi sources and served on
// loopback like a CDN (worker-image's serveDir: Range requests, content types), laid out at the
// paths of examples/videojob.yaml; and a webhook receiver that verifies Standard Webhooks
// signatures itself (not with the shim's code).
import { execFile } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { type StaticServer, serveDir } from "../../worker-image/src/cli/serve.ts";

const run = promisify(execFile);

async function clip(out: string, src: string, tone: number, seconds: number, extra: string[] = []): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", src, "-f", "lavfi", "-i", `sine=frequency=${tone}:sample_rate=48000`],
    ...["-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    ...extra,
    out,
  ]);
}

export interface Sources {
  origin: string;
  dir: string;
  close(): Promise<void>;
}

/**
 * The four episodes of examples/videojob.yaml under /show/: ep1.mp4, ep2/master.m3u8 (HLS VOD),
 * ep3.mkv, and ep4.mp4, which is broken (the first 4 KiB of an MP4: no moov, not playable).
 * Plus /long/ep1.mp4, long enough to be killed mid-transcode.
 */
export async function serveSources(dir: string, seconds = 2): Promise<Sources> {
  const show = join(dir, "show");
  await Promise.all([
    clip(join(show, "ep1.mp4"), "testsrc2=size=320x240:rate=25", 440, seconds),
    clip(join(show, "ep2", "master.m3u8"), "smptebars=size=320x240:rate=25", 550, seconds, [
      ...["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"],
    ]),
    clip(join(show, "ep3.mkv"), "testsrc=size=320x240:rate=25", 660, seconds),
    clip(join(dir, "long", "ep1.mp4"), "testsrc2=size=640x360:rate=25", 330, 24),
  ]);
  await writeFile(join(show, "ep4.mp4"), (await readFile(join(show, "ep1.mp4"))).subarray(0, 4096));
  const server: StaticServer = await serveDir(dir);
  return { origin: server.origin, dir, close: () => server.close() };
}

export interface Delivery {
  id: string;
  timestamp: string;
  body: string;
  /** The signature header verified against the secret by this receiver. */
  verified: boolean;
  event: {
    type: string;
    timestamp: string;
    data: {
      job: string;
      namespace: string;
      phase: string;
      previousPhase?: string | null;
      output?: unknown;
      error?: unknown;
    };
  };
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

/** Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed with the whsec_ secret's bytes. */
export function verifySignature(secret: string, id: string, timestamp: string, body: string, header: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return header.split(" ").some((sig) => {
    const [version, value] = sig.split(",");
    if (version !== "v1" || !value) return false;
    const got = Buffer.from(value, "base64");
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const id = String(req.headers["webhook-id"] ?? "");
      const timestamp = String(req.headers["webhook-timestamp"] ?? "");
      const signature = String(req.headers["webhook-signature"] ?? "");
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      const verified = fresh && verifySignature(secret, id, timestamp, body, signature);
      let event: Delivery["event"];
      try {
        event = JSON.parse(body);
      } catch {
        res.writeHead(400).end();
        return;
      }
      deliveries.push({ id, timestamp, body, verified, event });
      res.writeHead(verified ? 204 : 401).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/reel`,
    deliveries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
