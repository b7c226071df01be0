// The dashboard in a real chromium against the real shim: PostgreSQL 15, redis-server and the L2
// control plane (etcd + kube-apiserver from e2e/cluster). No operator runs: the test moves the job
// along by writing the VideoJob's status the way the operator would (kubectl patch
// --subresource=status) and publishing a worker's progress on Redis, and watches the page follow.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progressChannel, progressMessage } from "@reel/crds";
import { Redis } from "ioredis";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresServer } from "../../../e2e/src/services/postgres.ts";
import type { RedisServer } from "../../../e2e/src/services/redis.ts";
import { until } from "../../../e2e/src/until.ts";
import { addUser } from "../admin.ts";
import { connectPostgres } from "../db/database.ts";
import { openTestPage, shimPageOptions, suiteNeeds } from "../testing/page.ts";
import { type ShimServices, seedUsers, shimUrl, startShimServices } from "../testing/services.ts";

const XSS = "<img src=x onerror=alert(1)>";
/** The job's credentials Secret: the shim signs download links with it (nothing reaches AWS). */
const s3Secret = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "s3-creds", namespace: "media" },
  stringData: { accessKeyId: "AKIADASHBOARD", secretAccessKey: "not-a-secret" },
};
const suite = suiteNeeds(
  "the dashboard in chromium against the shim on PostgreSQL, Redis and a real kube-apiserver (L2)",
  ["k8s", "chromium"],
);

describe.skipIf(suite.skip)(suite.title, () => {
  let svc: ShimServices;
  let shots: string;
  let pg: PostgresServer;
  let redis: RedisServer;
  let base: string;
  let browser: Browser;
  let page: Page;
  let key: string;
  const problems: string[] = [];
  const dialogs: string[] = [];
  const kubectl = (args: string[], input?: string) => svc.kubectl(args, input);
  const setStatus = (name: string, status: Record<string, unknown>) => svc.setStatus("media", name, status);
  const text = async (selector: string) => (await page.locator(selector).textContent())?.trim() ?? "";
  const createJob = async (name: string) => {
    const res = await fetch(`${base}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        name,
        spec: {
          episodes: [{ url: `https://cdn.example.com/${name}.mp4`, title: name }],
          output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
        },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const nav = () => page.getByRole("navigation", { name: "Main" });
  const episodeRow = (i: number) => page.locator(`tr[data-episode="${i}"]`);

  beforeAll(async () => {
    // Kept after the run, for a person to look at.
    shots = await mkdtemp(join(tmpdir(), "reel-dashboard-shots-"));
    svc = await startShimServices({ prefix: "reel-dashboard-", namespaces: ["media"] });
    ({ pg, redis } = svc);
    key = (await seedUsers(pg.url, { olga: { role: "operator", tenant: "media" } })).olga.key;
    base = shimUrl(await svc.startShim(svc.config()));
    ({ browser, page } = await openTestPage({
      ...shimPageOptions,
      problems,
      // Every dialog is recorded; only the cancel button's confirm() is answered yes.
      onDialog: (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        void (d.type() === "confirm" ? d.accept() : d.dismiss());
      },
    }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.close();
  });

  it("refuses a wrong key in plain words, then signs in with a real one and shows who and which tenant", async () => {
    await page.goto(base);
    await page.getByLabel("API key").fill("reel_AAAAAAAA_notarealkeynotarealkeynotarealkey0");
    await page.getByRole("button", { name: "Sign in" }).click();
    const refused = page.locator("#sign-in-result [role=alert]");
    await refused.waitFor();
    expect(await refused.textContent()).toContain("The credential was refused");
    expect(await refused.textContent()).toContain("REEL_AUTH_INVALID");

    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#who").waitFor({ state: "visible" });
    expect(await text("#who-text")).toBe("Signed in as olga (operator) · tenant media");
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    // The key is kept for this tab only.
    expect(await page.evaluate("sessionStorage.getItem('reel.apiKey')")).toBe(key);
    // A reload keeps the session.
    await page.reload();
    await page.locator("#who").waitFor({ state: "visible" });
  });

  it("shows the API's validation errors next to the fields, then creates the job from the form", async () => {
    await nav().getByRole("link", { name: "New job" }).click();
    await page.getByLabel("Name (optional)").fill("season-1");
    await page
      .getByLabel("Episodes", { exact: true })
      .fill(`\nhttps://cdn.example.com/season-1/0.mp4 | Pilot\nftp://cdn.example.com/season-1/1.mp4 | ${XSS}`);
    await page.getByLabel("Quality").selectOption("1080p");
    await page.getByLabel("Codec").selectOption("hevc");
    await page.getByLabel("Preset").selectOption("small");
    await page.getByLabel("Level").fill("3");
    await page.getByLabel("GPU", { exact: true }).selectOption("off");
    await page.getByLabel("Merge what succeeded when some episodes fail").check();
    await page.getByLabel("Bucket").fill("videos");
    await page.getByLabel("Prefix").fill("season-1/");
    await page.getByLabel("Credentials secret").fill("s3-creds");
    await page.getByLabel("Tags").fill("drama, weekly");
    await page.getByRole("button", { name: "Create job" }).click();

    // The second episode line (line 3 of the box) has an ftp:// URL: the API says so, next to the box.
    await page.locator("#episodes-error:not(:empty)").waitFor();
    // The wording is crds' (it names s3:// sources since issue 16); the dashboard places it on line 3.
    expect(await text("#episodes-error")).toMatch(/^Line 3 url: must be an http/);
    expect(await page.getByLabel("Episodes", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await text("#form-error")).toContain("REEL_JOB_INVALID");
    expect(await page.evaluate("document.activeElement.id")).toBe("episodes");

    await page
      .getByLabel("Episodes", { exact: true })
      .fill(`https://cdn.example.com/season-1/0.mp4 | Pilot\nhttps://cdn.example.com/season-1/1.mp4 | ${XSS}`);
    await page.getByRole("button", { name: "Create job" }).click();
    await page.waitForURL(/#\/jobs\/season-1$/);
    await page.getByRole("heading", { name: "season-1", level: 1 }).waitFor();

    const vj = JSON.parse(await kubectl(["-n", "media", "get", "videojob", "season-1", "-o", "json"]));
    expect(vj.spec).toMatchObject({
      episodes: [
        { url: "https://cdn.example.com/season-1/0.mp4", title: "Pilot" },
        { url: "https://cdn.example.com/season-1/1.mp4", title: XSS },
      ],
      quality: "1080p",
      codec: "hevc",
      compression: { preset: "small", level: 3 },
      gpu: { policy: "off" },
      merge: { enabled: true, chapters: true, allowPartial: true },
      output: { s3: { bucket: "videos", prefix: "season-1/", credentialsSecret: "s3-creds" } },
      tags: ["drama", "weekly"],
    });
  });

  it("lists the job, filters by tag and phase, and opens it", async () => {
    await nav().getByRole("link", { name: "Jobs" }).click();
    // Exact: until the list replaces the job page, its episode links contain "season-1" too.
    const link = page.getByRole("link", { name: "season-1", exact: true });
    await link.waitFor();
    const row = page.locator("tr", { has: link });
    expect(await row.locator(".phase").textContent()).toBe("Pending");
    expect(await row.locator(".tag").allTextContents()).toEqual(["drama", "weekly"]);

    await page.getByLabel("Tag").fill("comedy");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No jobs match these filters.").waitFor();
    await page.getByLabel("Tag").fill("drama");
    await page.getByLabel("Phase").selectOption("Pending");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/#\/\?phase=Pending&tag=drama$/);
    await link.waitFor();
    await page.getByLabel("Phase").selectOption("Completed");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByText("No jobs match these filters.").waitFor();

    await page.getByRole("link", { name: "Clear filters" }).click();
    await link.click();
    await page.waitForURL(/#\/jobs\/season-1$/);
    await page.getByRole("heading", { name: "season-1", level: 1 }).waitFor();
  });

  it("follows the job live: per-episode stage and progress move, then the output link appears", async () => {
    await until("the live stream", async () => (await text("#live-mode")) === "Live" || undefined);
    await setStatus("season-1", {
      phase: "Processing",
      progress: 19,
      episodesSummary: "0/2",
      episodes: [
        { index: 0, title: "Pilot", phase: "Transcoding", progress: 40, attempts: 1, node: "node-a" },
        { index: 1, title: XSS, phase: "Downloading", progress: 0, attempts: 1 },
      ],
    });
    await until(
      "episode 1 at 40%",
      async () => (await text(`tr[data-episode="0"] .progress-text`)) === "40%" || undefined,
    );
    expect(await text("#job-phase")).toBe("Phase: Processing");
    expect(await episodeRow(0).locator(".stage").textContent()).toBe("Transcoding");
    expect(await text(".big-progress .progress-text")).toBe("19%");

    // Fine progress from a worker pod, through Redis pub/sub: the stage and percent move between statuses.
    // What the pod publishes (the contract's writer): 0.655 of the encode stage is 70% of its work.
    const pub = new Redis(redis.url);
    await pub.publish(
      progressChannel("media/season-1"),
      JSON.stringify(progressMessage({ index: 0, stage: "encode", fraction: 0.655 })),
    );
    await until(
      "episode 1 at 70%",
      async () => (await text(`tr[data-episode="0"] .progress-text`)) === "70%" || undefined,
    );
    expect(await episodeRow(0).locator(".stage").textContent()).toBe("Transcoding");
    // The merge pod's progress shows on its own bar.
    await pub.publish(
      progressChannel("media/season-1"),
      JSON.stringify(progressMessage({ index: "merge", stage: "merge", fraction: 0.5 })),
    );
    await pub.quit();
    await until("the merge at 55%", async () => (await text(".merge-progress .progress-text")) === "55%" || undefined);
    expect(await text(".merge-progress .summary")).toBe("Merging");

    const url = "https://s3.example.com/videos/season-1/season-1.mp4?X-Amz-Signature=abc123&X-Amz-Expires=86400";
    const quality = { ssim: 0.98712, psnr: 41.23, method: "encoder" };
    await setStatus("season-1", {
      phase: "Completed",
      progress: 100,
      episodesSummary: "2/2",
      episodes: [
        { index: 0, title: "Pilot", phase: "Completed", progress: 100, attempts: 1, encoder: "libx265", quality },
        { index: 1, title: XSS, phase: "Completed", progress: 100, attempts: 2, encoder: "libx265", quality },
      ],
      output: {
        location: "s3://videos/season-1/season-1.mp4",
        url,
        urlExpiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        sizeBytes: 734_003_200,
        durationSecs: 2722,
        chapters: 2,
        checksum: `sha256:${"ab".repeat(32)}`,
      },
      completedAt: new Date().toISOString(),
    });
    const download = page.getByRole("link", { name: "Download the video" });
    await download.waitFor();
    // The link is the shim's route (by uid), never the status's presigned URL, which expires.
    const uid = (
      (await (await fetch(`${base}/api/v1/jobs/season-1`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
        uid: string;
      }
    ).uid;
    expect(await download.getAttribute("href")).toBe(`/api/v1/jobs/${uid}/outputs/0/download`);
    expect(await page.locator(".output").innerHTML()).not.toContain("X-Amz-Signature=abc123");
    expect(await text("#job-phase")).toBe("Phase: Completed");
    expect(await page.locator(".merge-progress").count()).toBe(0);
    expect(await text(".big-progress .progress-text")).toBe("100%");
    expect(await episodeRow(0).locator(".quality").textContent()).toBe("SSIM 0.987 · PSNR 41.2 dB");
    expect(await page.locator(".output").textContent()).toContain("700 MiB");
    // A finished job offers no cancel.
    expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(0);

    // A click asks the route for a fresh link, signed with the job's credentials Secret, and
    // downloads it (S3 itself is stood in for by the browser's request routing).
    await kubectl(["apply", "-f", "-"], JSON.stringify(s3Secret));
    await page.route(
      (u) => u.hostname.endsWith(".amazonaws.com"),
      (r) =>
        r.fulfill({
          status: 200,
          headers: { "content-type": "video/mp4", "content-disposition": 'attachment; filename="season-1.mp4"' },
          body: "not really a video",
        }),
    );
    const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
    expect(file.url()).toMatch(/amazonaws\.com\/(videos\/)?season-1\/season-1\.mp4\?.*X-Amz-Credential=AKIADASHBOARD/);
    expect(file.url()).not.toContain("abc123");
    expect(file.suggestedFilename()).toBe("season-1.mp4");
    expect(page.url()).toMatch(/#\/jobs\/season-1$/);

    const shot = join(shots, "job-completed.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`dashboard screenshot: ${shot}\n`);
  });

  it("lists every stored file of a job without merge, each with its download or why there is none", async () => {
    const res = await fetch(`${base}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "per-episode",
        spec: {
          episodes: [
            { url: "https://cdn.example.com/a.mp4", title: "Pilot" },
            { url: "https://cdn.example.com/b.mp4" },
            { url: "https://cdn.example.com/c.mp4", title: "Third" },
          ],
          merge: { enabled: false },
          output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
        },
      }),
    });
    expect(res.status).toBe(201);
    await setStatus("per-episode", {
      phase: "Completed",
      progress: 100,
      outputs: [
        { location: "s3://videos/Pilot.mp4", episode: 0, title: "Pilot", sizeBytes: 1_048_576, durationSecs: 65 },
        { location: "s3://videos/b.mp4", episode: 1, expiredAt: new Date().toISOString() },
        { location: "pvc://out/Third.mp4", episode: 2, title: "Third" },
      ],
    });
    const page2 = await browser.newPage();
    try {
      await page2.addInitScript(`sessionStorage.setItem("reel.apiKey", ${JSON.stringify(key)})`);
      await page2.goto(`${base}/#/jobs/per-episode`);
      await page2.getByRole("heading", { name: "Outputs" }).waitFor();
      const files = page2.locator(".output-file");
      expect(await files.count()).toBe(3);
      expect(await page2.getByRole("link", { name: "Download Pilot" }).getAttribute("href")).toMatch(
        /^\/api\/v1\/jobs\/[0-9a-f-]{36}\/outputs\/0\/download$/,
      );
      expect(await files.nth(0).textContent()).toContain("1.0 MiB");
      expect(await files.nth(1).textContent()).toContain("Episode 2");
      expect(await files.nth(1).textContent()).toContain("by the output retention");
      expect(await files.nth(2).textContent()).toContain("the file is on a volume");
      expect(await page2.getByRole("link", { name: /^Download/ }).count()).toBe(1);
    } finally {
      await page2.close();
    }
  });

  it("renders an episode title that is HTML as text, in the job page and nowhere as markup", async () => {
    const cell = episodeRow(1).locator(".episode-title");
    expect(await cell.textContent()).toBe(XSS);
    expect(await page.locator("main img").count()).toBe(0);
    expect(await cell.innerHTML()).toBe("&lt;img src=x onerror=alert(1)&gt;");
    expect(dialogs.filter((d) => !d.startsWith("confirm:"))).toEqual([]);
  });

  it("explains a failed job's error codes in plain words", async () => {
    await createJob("broken");
    const now = new Date().toISOString();
    await setStatus("broken", {
      phase: "Failed",
      progress: 0,
      episodesSummary: "0/1",
      episodes: [
        {
          index: 0,
          title: "broken",
          phase: "Failed",
          progress: 0,
          attempts: 1,
          error: { code: "REEL_SOURCE_NOT_FOUND", message: "episode 1: GET https://cdn.example.com/gone.mp4: 404" },
        },
      ],
      conditions: [
        {
          type: "Stalled",
          status: "True",
          reason: "EpisodesFailed",
          message: "REEL_EPISODES_FAILED: episode 1 (broken): REEL_SOURCE_NOT_FOUND",
          lastTransitionTime: now,
        },
      ],
    });
    await page.goto(`${base}/#/jobs/broken`);
    await until("Failed", async () => (await text("#job-phase")) === "Phase: Failed" || undefined);
    const why = await text(".failure");
    expect(why).toContain("One or more episodes failed and partial merge is not allowed");
    expect(why).toContain("The source answered 404/410: the URL is wrong or the file was removed.");
    const episodeError = await episodeRow(0).locator(".error").textContent();
    expect(episodeError).toContain("The source answered 404/410");
    expect(episodeError).toContain("GET https://cdn.example.com/gone.mp4: 404");
    expect(episodeError).toContain("REEL_SOURCE_NOT_FOUND");
    const shot = join(shots, "job-failed.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`dashboard screenshot: ${shot}\n`);
    expect(problems).toEqual([]);
  });

  it("cancels a running job after asking, and then offers no cancel", async () => {
    await createJob("to-cancel");
    await setStatus("to-cancel", { phase: "Downloading", progress: 5, episodesSummary: "0/1" });
    await page.goto(`${base}/#/jobs/to-cancel`);
    await until("Downloading", async () => (await text("#job-phase")) === "Phase: Downloading" || undefined);
    await page.getByRole("button", { name: "Cancel job" }).click();
    await until("the button to go", async () => (await page.getByRole("button", { name: "Cancel job" }).count()) === 0);
    expect(dialogs.at(-1)).toMatch(/^confirm: Cancel to-cancel\?/);
    const vj = JSON.parse(await kubectl(["-n", "media", "get", "videojob", "to-cancel", "-o", "json"]));
    expect(vj.spec.cancel).toBe(true);
  });

  it("retries a failed job after asking and opens the new job; a running job offers no retry", async () => {
    await createJob("to-retry");
    const failed = { index: 0, title: "to-retry", phase: "Failed", progress: 0, attempts: 1 };
    await setStatus("to-retry", { phase: "Failed", progress: 0, episodesSummary: "0/1", episodes: [failed] });
    await page.goto(`${base}/#/jobs/to-retry`);
    await until("Failed", async () => (await text("#job-phase")) === "Phase: Failed" || undefined);
    await page.getByRole("button", { name: "Retry failed episodes" }).click();
    await until("the new job's page", async () => (await text("#job-title")) === "to-retry-r1" || undefined);
    expect(dialogs.at(-1)).toMatch(/^confirm: Retry to-retry\?/);
    expect(new URL(page.url()).hash).toBe("#/jobs/to-retry-r1");
    const vj = JSON.parse(await kubectl(["-n", "media", "get", "videojob", "to-retry-r1", "-o", "json"]));
    expect(vj.spec.episodes).toEqual([{ url: "https://cdn.example.com/to-retry.mp4", title: "to-retry" }]);
    // The new job is Pending: it can be cancelled, not retried.
    expect(await page.getByRole("button", { name: "Retry failed episodes" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(1);
  });

  it("falls back to the event stream without WebSocket, and to polling without either", async () => {
    await createJob("fallback");
    const context = await browser.newContext();
    try {
      const p = await context.newPage();
      // A browser (or a proxy in between) without WebSocket; the key as if signed in in this tab.
      await p.addInitScript(`delete window.WebSocket; sessionStorage.setItem("reel.apiKey", ${JSON.stringify(key)})`);
      const progressOf = async () => (await p.locator(`tr[data-episode="0"] .progress-text`).textContent())?.trim();
      const running = (progress: number) =>
        setStatus("fallback", {
          phase: "Processing",
          progress: Math.round(progress * 0.95),
          episodesSummary: "0/1",
          episodes: [{ index: 0, title: "fallback", phase: "Transcoding", progress, attempts: 1 }],
        });

      await p.goto(`${base}/#/jobs/fallback`);
      await until(
        "SSE",
        async () => (await p.locator("#live-mode").textContent()) === "Live (event stream)" || undefined,
      );
      await running(40);
      await until("40% over SSE", async () => (await progressOf()) === "40%" || undefined);

      // The event stream refused too: the page polls the status.
      await p.route("**/api/v1/jobs/*/events", (r) => r.abort());
      await p.reload();
      await until(
        "polling",
        async () => (await p.locator("#live-mode").textContent()) === "Updating every 3 s" || undefined,
      );
      await running(60);
      await until("60% by polling", async () => (await progressOf()) === "60%" || undefined, 15_000);
    } finally {
      await context.close();
    }
  });

  it("ends the live view saying why when its user loses the job's tenant, and signs out when the key is revoked", async () => {
    await createJob("ended");
    const sql = connectPostgres(pg.url, 1);
    const [milo, ada, rita] = [
      await addUser(sql, { name: "milo", role: "operator", tenant: "media" }),
      await addUser(sql, { name: "ada", role: "admin", tenant: "media" }),
      await addUser(sql, { name: "rita", role: "operator", tenant: "media" }),
    ];
    await addUser(sql, { name: "otto", role: "viewer", tenant: "elsewhere" });
    await sql.end();
    /** A tab on the job page signed in with `k`, following over SSE (the stream that ends with event: closed). */
    const watch = async (k: string) => {
      const context = await browser.newContext();
      const p = await context.newPage();
      p.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      await p.addInitScript(`delete window.WebSocket; sessionStorage.setItem("reel.apiKey", ${JSON.stringify(k)})`);
      await p.goto(`${base}/#/jobs/ended`);
      await until(
        "SSE",
        async () => (await p.locator("#live-mode").textContent()) === "Live (event stream)" || undefined,
      );
      return { context, p };
    };

    const moved = await watch(milo.key);
    try {
      expect(await moved.p.getByRole("button", { name: "Cancel job" }).count()).toBe(1);
      const res = await fetch(`${base}/api/v1/admin/users/${milo.userId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${ada.key}`, "content-type": "application/json" },
        body: JSON.stringify({ tenant: "elsewhere" }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const said = await until("the live view to end", async () => {
        const t = (await moved.p.locator("#live-mode").textContent()) ?? "";
        return t.startsWith("Live updates ended") ? t : undefined;
      });
      expect(said).toContain("this credential no longer belongs to the job's tenant");
      expect(said).toContain("REEL_FORBIDDEN");
      // The page stays as last seen, signed in, and does not spin or reconnect.
      expect(await moved.p.locator("#job-title").textContent()).toBe("ended");
      expect(await moved.p.locator("#live-mode [role=alert]").count()).toBe(1);
      // Nothing left to act on: the cancel button it offered before is gone.
      expect(await moved.p.getByRole("button", { name: "Cancel job" }).count()).toBe(0);
      await moved.p.screenshot({ path: join(shots, "job-live-ended.png"), fullPage: true });
      process.stderr.write(`dashboard screenshot: ${join(shots, "job-live-ended.png")}\n`);
    } finally {
      await moved.context.close();
    }

    const revoked = await watch(rita.key);
    try {
      const res = await fetch(`${base}/api/v1/keys/${rita.keyId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${ada.key}` },
      });
      expect(res.status).toBe(204);
      const notice = revoked.p.locator("p.notice");
      await notice.waitFor();
      expect(await notice.textContent()).toContain("sign in again");
      expect(await revoked.p.locator("#job-title").count()).toBe(0);
    } finally {
      await revoked.context.close();
    }
    expect(problems).toEqual([]);
  });
});
