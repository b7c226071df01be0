// The hostile-input suite, processes and what leaves them (issue #12): child environments, secrets
// in URLs and messages, titles that attack the terminal, killed runs, the circuit breaker, and the
// checks `reel run` makes before any work. Each case runs the real CLI with secrets planted in its
// env and asserts its code and exit code, that no connection reached the canary, that no planted
// secret shows in anything printed or written, and what was left behind.
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { makeTestClip } from "../../worker-image/src/ffmpeg/test-media.ts";
import { type Hostile, hostile, type Run, secretsIn, textsUnder } from "./harness.ts";

let h: Hostile | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Result {
  phase: string;
  error?: { code: string; message: string };
  episodes: { phase: string; title?: string; error?: { code: string; message: string } }[];
}

/** What every case asserts: nothing reached the canary, no planted (or extra) secret shows anywhere. */
async function clean(c: Hostile, r: Run, extra: string[] = []) {
  expect(c.canary.hits, "a connection reached the canary").toBe(0);
  expect(secretsIn([r.stdout, r.stderr, ...(await textsUnder(c.out))], extra)).toEqual([]);
}

/** The pinned yt-dlp that scripts/bootstrap.sh installs (config.ts looks there too). */
const ytDlp = join(process.env.HOME ?? "", ".cache", "reel", "venv", "bin", "yt-dlp");

/** Files a finished run may not leave: partial downloads, temp files, control files, run temp dirs. */
const stale = (files: string[]) => files.filter((f) => /\.(part|tmp|reel-tmp)$|\.ctrl|^tmp\//.test(f));

describe("reel run: checks before any work (exit 2)", () => {
  it.each([
    [["--allow", "not-a-net"], /not a CIDR/],
    [["--allow", "10.0.0.0/33"], /not a CIDR/],
    [["--allow", "0.0.0.0/0"], /metadata/],
    [["--allow", "169.254.0.0/16"], /metadata/],
  ])("refuses %j up front with REEL_JOB_INVALID", async (args, why) => {
    h = await hostile("allow");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const job = await h.manifest("allow", { episodes: [{ url: `${h.origin}/a.mp4` }] });
    const r = await h.reel(["run", job, "--json", ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("REEL_JOB_INVALID");
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await clean(h, r);
    expect(await h.leftovers()).toEqual([]);
  });

  it("finds a missing yt-dlp before the other episodes run (REEL_YTDLP_MISSING)", async () => {
    h = await hostile("ytdlp-missing");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const job = await h.manifest("ytdlp", {
      episodes: [{ url: `${h.origin}/a.mp4` }, { url: `${h.origin}/watch` }],
    });
    const r = await h.reel(["run", job, "--json"], { REEL_YTDLP: join(h.dir, "no-such-yt-dlp") });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("REEL_YTDLP_MISSING");
    await clean(h, r);
    expect(await h.leftovers()).toEqual([]);
  });

  it("finds an unwritable --out before any work (REEL_IO)", async () => {
    h = await hostile("out");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const job = await h.manifest("out", { episodes: [{ url: `${h.origin}/a.mp4` }] });
    // A file where a directory should be: unwritable even for root.
    await writeFile(join(h.dir, "file"), "x");
    const r = await h.reel(["run", job, "--json", "--out", join(h.dir, "file", "out")]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("REEL_IO");
    await clean(h, r);
    expect(await h.leftovers()).toEqual([]);
  });
});

describe("reel run: what leaves its processes", () => {
  it("ffmpeg, ffprobe and yt-dlp see no credential of reel's environment", async () => {
    h = await hostile("env");
    const c = h;
    await makeTestClip(join(c.src, "a.mp4"), { seconds: 1 });
    // A page for yt-dlp's generic extractor: the video is found in the HTML.
    await writeFile(join(c.src, "watch.html"), '<html><body><video src="/a.mp4"></video></body></html>\n');
    const wrap = async (tool: string, real: string) => {
      const path = join(c.dir, `${tool}-wrapper`);
      await writeFile(path, `#!/bin/sh\nenv >> "${c.dir}/${tool}.env"\nexec ${real} "$@"\n`);
      await chmod(path, 0o755);
      return path;
    };
    const job = await c.manifest("env", {
      episodes: [
        { url: `${c.origin}/a.mp4`, title: "one" },
        { url: `${c.origin}/watch.html`, title: "page" },
      ],
    });
    const r = await c.reel(["run", job, "--json"], {
      REEL_FFMPEG: await wrap("ffmpeg", "ffmpeg"),
      REEL_FFPROBE: await wrap("ffprobe", "ffprobe"),
      REEL_YTDLP: await wrap("yt-dlp", ytDlp),
    });
    expect(r.code, r.stderr).toBe(0);
    const seen = await Promise.all(
      ["ffmpeg", "ffprobe", "yt-dlp"].map((t) => readFile(join(c.dir, `${t}.env`), "utf8")),
    );
    for (const env of seen) expect(env).toContain("PATH=");
    expect(secretsIn(seen)).toEqual([]);
    expect(seen.join("\n")).not.toMatch(/^AWS_/m);
    await clean(c, r);
    expect(stale(await c.leftovers())).toEqual([]);
  });

  it("cuts secrets in the userinfo, query and fragment of every source type from every message", async () => {
    h = await hostile("url-secrets");
    const port = new URL(h.origin).port;
    const at = (path: string, n: number) =>
      `http://user${n}:pw${n}SECRETpass@127.0.0.2:${port}/${path}?sig=SIG${n}secretvalue&exp=9#frag${n}SECRETfrag`;
    // 404s of each type, then broken ones: a playlist whose segment is gone, a file that is not media.
    await writeFile(
      join(h.src, "broken.m3u8"),
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ngone.ts\n#EXT-X-ENDLIST\n",
    );
    await writeFile(join(h.src, "notes.mp4"), "not a video\n");
    const urls = [
      at("missing.mp4", 1),
      at("missing.m3u8", 2),
      at("nothere", 3),
      at("broken.m3u8", 4),
      at("notes.mp4", 5),
    ];
    const extra = urls.flatMap((_, i) => [`pw${i + 1}SECRETpass`, `SIG${i + 1}secretvalue`, `frag${i + 1}SECRETfrag`]);
    const job = await h.manifest("secrets", {
      episodes: urls.map((url, i) => ({ url, title: `source ${i + 1}` })),
      merge: { allowPartial: true },
    });
    for (const json of [true, false]) {
      const r = await h.reel(["run", job, ...(json ? ["--json"] : [])]);
      expect(r.code, r.stderr).toBe(1);
      if (json) {
        const result = JSON.parse(r.stdout) as Result;
        expect(result.episodes.map((e) => e.error?.code)).toEqual([
          "REEL_SOURCE_NOT_FOUND",
          "REEL_SOURCE_NOT_FOUND",
          "REEL_SOURCE_NOT_FOUND",
          "REEL_SOURCE_NOT_FOUND",
          "REEL_MEDIA_INVALID",
        ]);
      }
      await clean(h, r, extra);
    }
    expect(stale(await h.leftovers())).toEqual([]);
    // Nor in what the runs keep: the cache and temp dirs.
    expect(secretsIn([...(await textsUnder(h.cache)), ...(await textsUnder(h.tmp))], extra)).toEqual([]);
  });

  it("shows a title with escapes, CR, LF and a forged row inert in progress and the table", async () => {
    h = await hostile("title");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const title = "Ep\x1b]0;pwned\x07\x1b[2J\rone\n2  Forged  Completed  1 MB";
    const job = await h.manifest("title", { episodes: [{ url: `${h.origin}/a.mp4`, title }] });
    const r = await h.reel(["run", job]);
    expect(r.code, r.stderr).toBe(0);
    for (const text of [r.stdout, r.stderr]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      for (const line of text.split("\n")) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
      expect(text).not.toMatch(/^2\s+Forged/m);
    }
    expect(r.stdout).toContain("\\x1b]0;pwned\\x07");
    await clean(h, r);
  });
});

describe("reel run: the circuit breaker", () => {
  it("five bad playlists on one host do not fail the healthy episode after them", async () => {
    h = await hostile("breaker");
    await makeTestClip(join(h.src, "good.mp4"), { seconds: 1 });
    const hls = (segment: string, end = true) =>
      `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n${segment}\n${end ? "#EXT-X-ENDLIST\n" : ""}`;
    await writeFile(join(h.src, "live.m3u8"), hls("seg0.ts", false));
    await writeFile(join(h.src, "baduri.m3u8"), hls("file:///etc/passwd"));
    await writeFile(join(h.src, "invalid.m3u8"), "not a playlist\n");
    const bad = ["live", "baduri", "invalid", "live", "baduri", "missing"].map((n) => ({
      url: `${h?.origin}/${n}.m3u8`,
    }));
    const job = await h.manifest("breaker", {
      episodes: [...bad, { url: `${h.origin}/good.mp4`, title: "healthy" }],
      merge: { allowPartial: true },
    });
    const r = await h.reel(["run", job, "--json", "--concurrency", "1"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Result;
    expect(result.episodes.map((e) => e.error?.code)).not.toContain("REEL_CIRCUIT_OPEN");
    expect(result.episodes.at(-1)?.phase).toBe("Completed");
    await clean(h, r);
  });
});

describe("reel run: storage failing after the episodes", () => {
  it("exits 1 with the JSON result and each episode's status", async () => {
    h = await hostile("storage");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const job = await h.manifest("storage", { episodes: [{ url: `${h.origin}/a.mp4`, title: "one" }] });
    // A directory where the merged file goes: the write fails after the episode completed.
    await mkdir(join(h.out, "storage.mp4", "x"), { recursive: true });
    const r = await h.reel(["run", job, "--json"]);
    expect(r.code, r.stderr).toBe(1);
    const result = JSON.parse(r.stdout) as Result;
    expect(result.phase).toBe("Failed");
    expect(result.error?.code).toBe("REEL_IO");
    expect(result.episodes.map((e) => e.phase)).toEqual(["Completed"]);
    await clean(h, r);
  });
});

describe("reel run: killed", () => {
  const children = (pid: number) =>
    readFile(`/proc/${pid}/task/${pid}/children`, "utf8").then(
      (t) => t.split(" ").filter(Boolean).map(Number),
      () => [] as number[],
    );
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it.each(["SIGKILL", "SIGHUP"] as const)(
    "%s mid-encode leaves no ffmpeg running, and the next run sweeps the dead run's temp dir",
    async (signal) => {
      h = await hostile("kill");
      const c = h;
      await makeTestClip(join(c.src, "long.mp4"), { seconds: 30 });
      await makeTestClip(join(c.src, "a.mp4"), { seconds: 1 });
      const job = await c.manifest("kill", { episodes: [{ url: `${c.origin}/long.mp4` }] });
      // ffmpeg whose encodes read at the clip's own pace (-re: the encode outlasts the test's wait;
      // the loudness and picture analyses before it run at full speed) and that survives its closed
      // pipes (SIGPIPE ignored): only the parent-death signal can stop it.
      const ffmpeg = join(c.dir, "ffmpeg-slow");
      const slowEncodes = 'case " $* " in *" -c:v "*) exec ffmpeg -re "$@" ;; *) exec ffmpeg "$@" ;; esac';
      await writeFile(ffmpeg, `#!/bin/sh\ntrap '' PIPE\n${slowEncodes}\n`);
      await chmod(ffmpeg, 0o755);
      const main = join(import.meta.dirname, "..", "..", "worker-image", "src", "cli", "main.ts");
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: c.tmp, REEL_CACHE_DIR: c.cache };
      const reel = spawn(process.execPath, [main, "run", job, "--json"], {
        env: { ...env, REEL_EGRESS_ALLOW: "127.0.0.2/32", REEL_FFMPEG: ffmpeg },
        stdio: "ignore",
      });
      const pid = reel.pid ?? 0;
      let encoders: number[] = [];
      for (let i = 0; i < 300 && encoders.length === 0; i++) {
        await sleep(100);
        const kids = await children(pid);
        const named = await Promise.all(kids.map((k) => readFile(`/proc/${k}/cmdline`, "utf8").catch(() => "")));
        // The episode's encode reads the fetched source from the run's temp dir (not lavfi's probes).
        encoders = kids.filter((_, j) => {
          const argv = (named[j] ?? "").split("\0");
          return argv.includes("-c:v") && !argv.includes("lavfi") && argv.some((a) => a.startsWith(`file:${c.tmp}`));
        });
      }
      expect(encoders.length, "ffmpeg never started encoding").toBeGreaterThan(0);
      reel.kill(signal);
      for (let i = 0; i < 50 && encoders.some(alive); i++) await sleep(100);
      const orphans = encoders.filter(alive);
      for (const o of orphans) process.kill(o, "SIGKILL");
      expect(orphans, "ffmpeg outlived reel run").toEqual([]);
      if (signal === "SIGKILL") expect((await readdir(c.tmp)).length, "nothing to sweep").toBeGreaterThan(0);

      const next = await c.manifest("next", { episodes: [{ url: `${c.origin}/a.mp4` }] });
      const r = await c.reel(["run", next, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(stale(await c.leftovers())).toEqual([]);
      expect(await readdir(c.tmp)).toEqual([]);
      await clean(c, r);
    },
    60_000,
  );
});
