// `reel run` keeps spec.politeness in-process: all episodes of the run share one count per host.
// Four episodes from one loopback host, run four at once, each download wanting 8 connections: the
// host (which counts the requests it answers at once) never sees more than connectionsPerHost.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { type CountingSite, serveCounting } from "../fetch/counting-site.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "main.ts");
let tmp: { dir: string; cleanup(): Promise<void> };
let site: CountingSite;

beforeAll(async () => {
  tmp = await makeTempDir("reel-run-politeness-");
  // Not media: each episode fails after its download, which is all this test watches.
  site = await serveCounting(randomBytes(2 * 1024 * 1024));
});
afterAll(async () => {
  await site?.close();
  await tmp?.cleanup();
});

async function runWith(politeness: Record<string, number>) {
  const file = join(tmp.dir, `job-${politeness.connectionsPerHost}.yaml`);
  const episodes = [0, 1, 2, 3].map((i) => ({ url: `${site.origin}/c${politeness.connectionsPerHost}-ep${i}.mp4` }));
  const spec = {
    episodes,
    politeness,
    merge: { allowPartial: true },
    output: { local: { path: join(tmp.dir, "out") } },
  };
  await writeFile(
    file,
    stringify({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name: "p" }, spec }),
  );
  site.most = 0;
  site.requests = 0;
  const r = await exec(process.execPath, [main, "run", file, "--json", "--concurrency", "4"], {
    env: { ...process.env, REEL_CACHE_DIR: join(tmp.dir, "cache"), REEL_EGRESS_ALLOW: "127.0.0.2/32" },
  }).catch((e: { stdout: string; stderr: string; code: number }) => e);
  const result = JSON.parse(r.stdout) as { episodes: { error?: { code: string } }[] };
  return { most: site.most, requests: site.requests, codes: result.episodes.map((e) => e.error?.code) };
}

describe("reel run: spec.politeness across the run's episodes", () => {
  it("holds four parallel downloads of one host to connectionsPerHost at once (and not without it)", async () => {
    const polite = await runWith({ connectionsPerHost: 2, requestsPerSecond: 10 });
    // Every episode was downloaded (then found not to be media).
    expect(polite.codes).toEqual(Array(4).fill("REEL_MEDIA_INVALID"));
    expect(polite.most).toBeLessThanOrEqual(2);
    expect(polite.most).toBe(2);
    const loose = await runWith({ connectionsPerHost: 32, requestsPerSecond: 100 });
    expect(loose.codes).toEqual(Array(4).fill("REEL_MEDIA_INVALID"));
    expect(loose.most).toBeGreaterThan(2);
    process.stdout.write(`most at once: polite ${polite.most} (limit 2), loose ${loose.most} (limit 32)\n`);
  }, 120_000);
});
