// The dashboard's uploads page in a real chromium against the real shim (PostgreSQL, Redis, the L2
// control plane) and versitygw, reached through a loopback proxy that drops the connection once
// 10 MiB went up it (inside the second 8 MiB PATCH): the page's progress bar moves, the row says it
// is reconnecting, the upload goes on from the offset the shim kept, and the stored object is the file.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CutProxy, startCutProxy } from "../../../e2e/src/services/cut-proxy.ts";
import type { S3Server } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import { openTestPage, suiteNeeds } from "../testing/page.ts";
import { createBucket, type ShimServices, seedUsers, startShimServices, uploadEnv } from "../testing/services.ts";

const MiB = 1024 * 1024;
const BUCKET = "reel-uploads";
const suite = suiteNeeds("the dashboard's uploads page in chromium, on the shim and versitygw (L2)", [
  "k8s",
  "chromium",
]);

describe.skipIf(suite.skip)(suite.title, () => {
  let svc: ShimServices;
  let dir: string;
  let shots: string;
  let s3: S3Server;
  let proxy: CutProxy;
  let browser: Browser;
  let page: Page;
  let key: string;
  const problems: string[] = [];
  const inPage = <T>(expression: string) => page.evaluate(expression) as Promise<T>;

  beforeAll(async () => {
    shots = await mkdtemp(join(tmpdir(), "reel-dashboard-shots-"));
    svc = await startShimServices({ prefix: "reel-upload-page-", s3: true });
    ({ dir, s3 } = svc);
    key = (await seedUsers(svc.pg.url, { vera: { role: "operator", tenant: "media" } })).vera.key;
    await createBucket(s3, BUCKET);
    const config = svc.config({
      ...uploadEnv(s3, BUCKET),
      REEL_UPLOAD_QUOTA_BYTES: String(100 * MiB),
      REEL_UPLOAD_PART_BYTES: String(5 * MiB),
    });
    const shim = await svc.startShim(config);
    proxy = await startCutProxy(shim.port, 10 * MiB);
    ({ browser, page } = await openTestPage({
      viewport: { width: 1280, height: 800 },
      timeoutMs: 30_000,
      allowFailedLoads: true,
      problems,
    }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    proxy?.close();
    await svc?.close();
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
});
