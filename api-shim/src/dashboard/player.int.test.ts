// The job page's player in a real chromium against the real shim (PostgreSQL, Redis, the L2
// control plane) and a real S3 (versitygw): a completed job whose merged file is a small H.264 MP4
// made here with ffmpeg, its seek thumbnails made by the worker's own makeSprite and uploaded beside
// it, and episode 1's poster made by the worker's makePoster (episode 2's is named in status but was
// never stored). The video plays from the presigned link, chapters seek, the seek bar previews sheet
// tiles, episode 1's row shows its poster and episode 2's says it is not available. A second job's
// merged file carries mov_text subtitles in two languages with their WebVTT files beside it: the
// player has a text track per language, the default one showing, and its cue on screen at 2 s.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { subtitlesVttName } from "@reel/crds";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresServer } from "../../../e2e/src/services/postgres.ts";
import type { S3Server } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import { makePoster, makeSprite } from "../../../worker-image/src/preview/preview.ts";
import { connectPostgres } from "../db/database.ts";
import { openTestPage, shimPageOptions, suiteNeeds } from "../testing/page.ts";
import { type ShimServices, s3Client, seedUsers, shimUrl, startShimServices } from "../testing/services.ts";

const XSS = "<img src=x onerror=alert(1)>";
const suite = suiteNeeds("the job page's player in chromium, on the shim and versitygw (L2)", ["k8s", "chromium"]);

describe.skipIf(suite.skip)(suite.title, () => {
  let svc: ShimServices;
  let dir: string;
  let shots: string;
  let pg: PostgresServer;
  let s3: S3Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let key: string;
  let otherKey: string;
  let sheet: Buffer;
  const problems: string[] = [];
  const kubectl = (args: string[], input?: string) => svc.kubectl(args, input);
  // Code run in the page is passed as text (as page.int.test.ts does): the test has no DOM types.
  const inPage = <T>(expression: string) => page.evaluate(expression) as Promise<T>;

  /** 12 s of 640x360 H.264 + AAC, a keyframe a second, moov first: two 6 s episodes merged. */
  async function makeOutput(): Promise<{ video: string; vtt: string; poster: Buffer }> {
    const video = join(dir, "Season 1.mp4");
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=12"],
      ...["-f", "lavfi", "-i", "sine=f=440:d=12", "-c:v", "libx264", "-preset", "veryfast", "-g", "25"],
      ...["-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", "-shortest", video],
    ]);
    const sprite = await makeSprite(
      { path: video, demuxer: "mov" },
      { width: 640, height: 360, durationSecs: 12 },
      dir,
      "Season 1",
    );
    expect(sprite.sheets).toEqual(["Season 1-thumbs-001.jpg"]);
    sheet = await readFile(join(dir, "Season 1-thumbs-001.jpg"));
    await makePoster({ path: video, demuxer: "mov" }, 6, join(dir, "poster.jpg"));
    return { video, vtt: sprite.vtt, poster: await readFile(join(dir, "poster.jpg")) };
  }

  /** 6 s of H.264 with a mov_text track per language made from `cues[lang]` (WebVTT), as the merge writes it. */
  async function makeSubtitledOutput(cues: Record<string, string>): Promise<string> {
    const video = join(dir, "subs.mp4");
    const langs = Object.keys(cues);
    const inputs: string[] = [];
    const maps: string[] = ["-map", "0:v"];
    for (const [i, lang] of langs.entries()) {
      const file = join(dir, `subs-${lang}.vtt`);
      await writeFile(file, cues[lang] as string);
      inputs.push("-i", file);
      maps.push("-map", `${i + 1}:s`, `-metadata:s:s:${i}`, `language=${lang}`);
    }
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=6", ...inputs, ...maps],
      ...["-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p", "-c:s", "mov_text"],
      ...["-movflags", "+faststart", video],
    ]);
    return video;
  }

  beforeAll(async () => {
    // Kept after the run, for a person to look at.
    shots = await mkdtemp(join(tmpdir(), "reel-dashboard-shots-"));
    svc = await startShimServices({ prefix: "reel-player-", s3: true, namespaces: ["media"] });
    ({ dir, pg, s3 } = svc);
    const users = await seedUsers(pg.url, {
      vera: { role: "operator", tenant: "media" },
      otto: { role: "operator", tenant: "other" },
    });
    key = users.vera.key;
    otherKey = users.otto.key;
    base = shimUrl(await svc.startShim(svc.config()));
    ({ browser, page } = await openTestPage({
      ...shimPageOptions,
      problems,
      onDialog: (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      },
    }));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.close();
  });

  it("plays the merged file from its presigned link, seeks by chapter, and previews seek thumbnails", async () => {
    const { video, vtt, poster } = await makeOutput();
    const client = s3Client(s3);
    const put = (Key: string, Body: Buffer | string, ContentType: string) =>
      client.send(new PutObjectCommand({ Bucket: "videos", Key, Body, ContentType }));
    await client.send(new CreateBucketCommand({ Bucket: "videos" }));
    await put("watch/Season 1.mp4", await readFile(video), "video/mp4");
    await put("watch/Season 1-thumbs-001.jpg", sheet, "image/jpeg");
    await put("watch/Season 1-thumbs.vtt", vtt, "text/vtt");
    await put("watch/Season 1-ep001-poster.jpg", poster, "image/jpeg");
    client.destroy();
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "watch-creds", namespace: "media" } };
    const data = { stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
    await kubectl(["apply", "-f", "-"], JSON.stringify({ ...secret, ...data }));
    const res = await fetch(`${base}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "watch",
        spec: {
          episodes: [
            { url: "https://cdn.example.com/1.mp4", title: "Pilot" },
            { url: "https://cdn.example.com/2.mp4", title: `Two ${XSS}` },
          ],
          output: {
            s3: { bucket: "videos", prefix: "watch/", endpoint: s3.endpoint, credentialsSecret: "watch-creds" },
          },
        },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const episode = (index: number, title: string) => ({
      index,
      title,
      phase: "Completed",
      progress: 100,
      durationSecs: 6,
      poster: `s3://videos/watch/Season 1-ep00${index + 1}-poster.jpg`,
    });
    const status = {
      phase: "Completed",
      progress: 100,
      episodesSummary: "2/2",
      completedAt: new Date().toISOString(),
      episodes: [
        {
          ...episode(0, "Pilot"),
          loudness: {
            method: "linear",
            gainDb: 7.4,
            target: -16,
            input: { integrated: -23.4 },
            output: { integrated: -16 },
          },
        },
        {
          ...episode(1, `Two ${XSS}`),
          picture: {
            toneMapped: { from: "smpte2084", operator: "hable", peakNits: 1000 },
            deinterlaced: { fieldOrder: "tff", detectedBy: "idet" },
          },
        },
      ],
      output: {
        location: "s3://videos/watch/Season 1.mp4",
        durationSecs: 12,
        chapters: 2,
        thumbnails: { vtt: "s3://videos/watch/Season 1-thumbs.vtt", sheets: 1 },
      },
    };
    await kubectl([
      ...["-n", "media", "patch", "videojob", "watch", "--subresource=status", "--type=merge"],
      ...["-p", JSON.stringify({ status })],
    ]);

    await page.addInitScript(`sessionStorage.setItem("reel.apiKey", ${JSON.stringify(key)})`);
    await page.goto(`${base}/#/jobs/watch`);
    await page.getByRole("heading", { name: "Watch", exact: true }).waitFor();
    const player = page.locator("#player-video");
    expect(await player.getAttribute("preload")).toBe("metadata");
    expect(await player.getAttribute("controls")).toBe("");
    const src = await until("the video's source", async () => (await player.getAttribute("src")) || undefined);
    expect(src.startsWith(`${s3.endpoint}/videos/watch/Season%201.mp4?`)).toBe(true);
    expect(new URL(src).searchParams.get("X-Amz-Signature")).toBeTruthy();
    // Metadata loaded from the presigned URL (HAVE_METADATA or more), with the file's length.
    const ready = await until("metadata", async () => {
      const r = await inPage<{ state: number; duration: number }>(
        `(() => { const v = document.querySelector("#player-video"); return { state: v.readyState, duration: v.duration }; })()`,
      );
      return r.state >= 1 ? r : undefined;
    });
    expect(ready.duration).toBeCloseTo(12, 0);

    // Chapters: completed episodes in order, titles as text; chapter 2 starts where episode 1 ends.
    const chapters = page.locator(".chapters button");
    expect(await chapters.allTextContents()).toEqual(["0:00 1. Pilot", `0:06 2. Two ${XSS}`]);
    expect(await page.locator(".player img").count()).toBe(0);
    // Each episode's row says what was done to it.
    expect(await page.locator('tr[data-episode="0"]').textContent()).toContain("-23.4 → -16.0 LUFS");
    expect(await page.locator('tr[data-episode="1"]').textContent()).toContain("tone-mapped PQ · deinterlaced");
    await chapters.nth(1).click();
    const at = await until("the seek to chapter 2", async () => {
      const t = await inPage<number>(`document.querySelector("#player-video").currentTime`);
      return Math.abs(t - 6) < 0.05 ? t : undefined;
    });
    expect(at).toBeCloseTo(6, 1);

    // Hovering the seek bar at 75 % (9 s) shows the tile of 8–10 s from the sheet, and the time.
    const bar = page.locator("#seekbar");
    const box = await bar.boundingBox();
    if (!box) throw new Error("no seek bar");
    const sheetLoaded = page.waitForResponse((r) => r.url().includes("/watch/Season%201-thumbs-001.jpg?"));
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
    const tile = page.locator(".seek-tile");
    await tile.waitFor({ state: "visible" });
    const style = await inPage<Record<string, string>>(`(() => {
      const s = document.querySelector(".seek-tile").style;
      return { image: s.backgroundImage, position: s.backgroundPosition, width: s.width, height: s.height };
    })()`);
    expect(style.image).toMatch(
      /^url\("http:\/\/127\.0\.0\.1:\d+\/videos\/watch\/Season%201-thumbs-001\.jpg\?.*X-Amz-Signature=/,
    );
    // Cue 5 of the worker's index (8–10 s): column 4 of the first row, 160x90 tiles.
    expect(style.position).toBe("-640px 0px");
    expect([style.width, style.height]).toEqual(["160px", "90px"]);
    expect(await page.locator(".seek-time").textContent()).toBe("0:09");
    const got = await sheetLoaded;
    expect(got.status()).toBe(200);
    expect((await got.body()).equals(sheet)).toBe(true);

    // Episode 1's poster loaded from its presigned link (the route's JSON answer); episode 2's is
    // in status but not in the bucket: its row says so in words instead of a broken image.
    const img = page.locator('tr[data-episode="0"] td.poster img');
    expect(await img.getAttribute("alt")).toBe("Poster of episode 1");
    expect(await img.getAttribute("loading")).toBe("lazy");
    const size = await until("episode 1's poster to load", async () => {
      const r = await inPage<{ w: number; h: number; src: string }>(`(() => {
          const i = document.querySelector('tr[data-episode="0"] td.poster img');
          return i && i.complete ? { w: i.naturalWidth, h: i.naturalHeight, src: i.currentSrc } : undefined;
        })()`);
      return r && r.w > 0 ? r : undefined;
    });
    expect(size).toMatchObject({ w: 640, h: 360 });
    expect(size.src.startsWith(`${s3.endpoint}/videos/watch/Season%201-ep001-poster.jpg?`)).toBe(true);
    expect(new URL(size.src).searchParams.get("X-Amz-Signature")).toBeTruthy();
    const fallback = page.locator('tr[data-episode="1"] td.poster');
    await until("episode 2's fallback", async () =>
      (await fallback.textContent())?.includes("poster not available") ? true : undefined,
    );
    expect(await fallback.locator("img").count()).toBe(0);
    expect(await page.locator(".player").textContent()).not.toContain("Episode posters are stored beside");
    // The route itself: a redirect to the same object, not cached, and 404 for an episode it does not have.
    const auth = { authorization: `Bearer ${key}` };
    const redirect = await fetch(`${base}/api/v1/jobs/watch/episodes/0/poster`, {
      headers: auth,
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("cache-control")).toBe("no-store");
    expect(redirect.headers.get("x-content-type-options")).toBe("nosniff");
    const jpeg = await fetch(redirect.headers.get("location") ?? "");
    expect(Buffer.from(await jpeg.arrayBuffer()).equals(poster)).toBe(true);
    const none = await fetch(`${base}/api/v1/jobs/watch/episodes/5/poster`, { headers: auth });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("REEL_NOT_FOUND");
    const elsewhere = await fetch(`${base}/api/v1/jobs/watch/episodes/0/poster`, {
      headers: { authorization: `Bearer ${otherKey}` },
      redirect: "manual",
    });
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { error: { code: string } }).error.code).toBe("REEL_JOB_NOT_FOUND");

    // A drag from 25 % to 60 % seeks as it goes: the video ends at 7.2 s (not 3 s, where it was pressed).
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const dragged = await until("the drag's seek", async () => {
      const t = await inPage<number>(`document.querySelector("#player-video").currentTime`);
      return Math.abs(t - 7.2) < 0.1 ? t : undefined;
    });
    expect(dragged).toBeCloseTo(7.2, 1);
    // Back to 75 % for the screenshot: the preview shows the 8–10 s tile.
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
    await tile.waitFor({ state: "visible" });

    const shot = join(shots, "job-player.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`dashboard screenshot: ${shot}\n`);
    expect(problems).toEqual([]);
  });

  it("shows a subtitle language: a track per listed language, the default one showing its cue", async () => {
    const vtt = {
      eng: "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello from the first cue\n\n00:00:04.000 --> 00:00:05.500\nSecond cue\n",
      fra: "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nBonjour du premier\n",
    };
    const video = await makeSubtitledOutput(vtt);
    // The merged file carries them as mov_text tracks, tagged by language.
    const probed = execFileSync("ffprobe", [
      ...["-v", "error", "-select_streams", "s", "-show_entries", "stream=codec_name:stream_tags=language"],
      ...["-of", "csv=p=0", video],
    ]).toString();
    expect(probed.trim().split("\n")).toEqual(["mov_text,eng", "mov_text,fra"]);
    const client = s3Client(s3);
    const put = (Key: string, Body: Buffer | string, ContentType: string) =>
      client.send(new PutObjectCommand({ Bucket: "videos", Key, Body, ContentType }));
    await put("subs/Season 1.mp4", await readFile(video), "video/mp4");
    for (const [lang, text] of Object.entries(vtt))
      await put(subtitlesVttName("subs/Season 1", lang), text, "text/vtt");
    client.destroy();
    const res = await fetch(`${base}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "subs",
        spec: {
          episodes: [{ url: "https://cdn.example.com/1.mp4", title: "Pilot" }],
          subtitles: { languages: ["eng", "fra"], default: "eng" },
          output: {
            s3: { bucket: "videos", prefix: "subs/", endpoint: s3.endpoint, credentialsSecret: "watch-creds" },
          },
        },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const at = (lang: string) => `s3://videos/${subtitlesVttName("subs/Season 1", lang)}`;
    const status = {
      phase: "Completed",
      progress: 100,
      episodesSummary: "1/1",
      completedAt: new Date().toISOString(),
      episodes: [{ index: 0, title: "Pilot", phase: "Completed", progress: 100, durationSecs: 6 }],
      output: {
        location: "s3://videos/subs/Season 1.mp4",
        durationSecs: 6,
        chapters: 1,
        subtitles: [
          { language: "eng", vtt: at("eng") },
          { language: "fra", vtt: at("fra") },
        ],
      },
    };
    await kubectl([
      ...["-n", "media", "patch", "videojob", "subs", "--subresource=status", "--type=merge"],
      ...["-p", JSON.stringify({ status })],
    ]);

    await page.goto(`${base}/#/jobs/subs`);
    await page.getByRole("heading", { name: "Watch", exact: true }).waitFor();
    const tracks = await until("both text tracks", async () => {
      const t = await inPage<{ language: string; label: string; kind: string; mode: string; src: string }[]>(
        `[...document.querySelectorAll("#player-video track")].map((el) => ({ language: el.track.language,
            label: el.track.label, kind: el.track.kind, mode: el.track.mode, src: el.src }))`,
      );
      // The browser picks the default track's mode a moment after the elements appear (the text
      // track selection runs asynchronously): under load the first look saw both "disabled".
      return t.length === 2 && t.some((x) => x.mode !== "disabled") ? t : undefined;
    });
    expect(tracks.map((t) => [t.language, t.label, t.kind, t.mode])).toEqual([
      ["eng", "English (eng)", "subtitles", "showing"],
      ["fra", "French (fra)", "subtitles", "disabled"],
    ]);
    // Fetched with the user's token and handed over as the page's own blob: URLs.
    expect(tracks.every((t) => t.src.startsWith("blob:"))).toBe(true);
    await until("metadata", async () =>
      (await inPage<number>(`document.querySelector("#player-video").readyState`)) >= 1 ? true : undefined,
    );
    await inPage(`(() => { const v = document.querySelector("#player-video");
        v.textTracks[0].mode = "showing"; v.currentTime = 2; })()`);
    const cue = await until("the cue at 2 s", async () => {
      const text = await inPage<string | null>(
        `document.querySelector("#player-video").textTracks[0].activeCues?.[0]?.text ?? null`,
      );
      return text ?? undefined;
    });
    expect(cue).toBe("Hello from the first cue");
    const shot = join(shots, "job-subtitles.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`dashboard screenshot: ${shot}\n`);

    // The route: the stored bytes, same-origin, never cached or sniffed; other languages and tenants get 404.
    const get = (path: string, k = key) =>
      fetch(`${base}/api/v1/jobs/subs/outputs/0/subtitles/${path}`, {
        headers: { authorization: `Bearer ${k}` },
      });
    const ok = await get("eng.vtt");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("text/vtt; charset=utf-8");
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(ok.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await ok.text()).toBe(vtt.eng);
    const code = async (r: Response) => [r.status, ((await r.json()) as { error: { code: string } }).error.code];
    expect(await code(await get("deu.vtt"))).toEqual([404, "REEL_NOT_FOUND"]);
    expect(await code(await get("EN.vtt"))).toEqual([400, "REEL_INVALID_ARGUMENT"]);
    expect(await code(await get("eng.vtt", otherKey))).toEqual([404, "REEL_JOB_NOT_FOUND"]);
    // Each file served is audited: the page's fetch and the one above.
    const sql = connectPostgres(pg.url, 1);
    try {
      const rows = await sql<{ detail: Record<string, unknown> }[]>`SELECT detail FROM audit_log
          WHERE action = 'job.subtitles' AND result = 'ok' AND target = 'media/subs' ORDER BY id`;
      expect(rows.map((r) => r.detail.language).sort()).toEqual(["eng", "eng", "fra"]);
      expect(rows.find((r) => r.detail.language === "fra")?.detail).toMatchObject({
        output: 0,
        bytes: Buffer.byteLength(vtt.fra),
      });
    } finally {
      await sql.end();
    }
    expect(problems).toEqual([]);
  });
});
