import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { FORBIDDEN_FLAGS, runYtDlp, siteInfo, writtenSubtitles, ytDlpArgs } from "./ytdlp.ts";

const req = {
  url: "https://www.example.com/watch?v=1",
  outBase: "/tmp/x/source",
  proxy: "http://127.0.0.1:9",
  maxHeight: 720,
};

describe("ytDlpArgs", () => {
  it("never passes a flag that could run commands, read configs or skip TLS checks", () => {
    const args = ytDlpArgs({ ...req, maxFilesize: 1e9, ffmpegLocation: "/usr/bin/ffmpeg" });
    for (const flag of FORBIDDEN_FLAGS) expect(args).not.toContain(flag);
    expect(args).toContain("--ignore-config");
    expect(args).toContain("--no-exec");
    expect(args.slice(args.indexOf("--downloader"), args.indexOf("--downloader") + 2)).toEqual([
      "--downloader",
      "native",
    ]);
  });

  it("sends all traffic through the egress proxy", () => {
    const args = ytDlpArgs(req);
    expect(args[args.indexOf("--proxy") + 1]).toBe("http://127.0.0.1:9");
  });

  it("puts the URL after -- so it can never be read as a flag", () => {
    const args = ytDlpArgs({ ...req, url: "--exec=rm -rf /" });
    expect(args.at(-2)).toBe("--");
    expect(args.at(-1)).toBe("--exec=rm -rf /");
    expect(args.filter((a) => a.startsWith("--exec"))).toEqual(["--exec=rm -rf /"]);
  });

  it("lists a playlist instead of fetching it, and skips a live stream, so both can be refused", () => {
    const args = ytDlpArgs(req);
    expect(args).toContain("--flat-playlist");
    expect(args.slice(args.indexOf("--match-filters"), args.indexOf("--match-filters") + 2)).toEqual([
      "--match-filters",
      "!is_live",
    ]);
  });

  it("asks for subtitles only when the job keeps them: its languages as sites tag them, automatic captions only when asked", () => {
    expect(ytDlpArgs(req).filter((a) => a.includes("subs"))).toEqual([]);
    const args = ytDlpArgs({ ...req, subtitles: { languages: ["eng", "jpn", "tlh"], automatic: false } });
    expect(args).toContain("--write-subs");
    expect(args).not.toContain("--write-auto-subs");
    expect(args[args.indexOf("--sub-langs") + 1]).toBe("en(-.*)?,eng(-.*)?,ja(-.*)?,jpn(-.*)?,tlh(-.*)?");
    expect(args.at(-2)).toBe("--");
    const all = ytDlpArgs({ ...req, subtitles: { automatic: true } });
    expect(all).toContain("--write-auto-subs");
    expect(all[all.indexOf("--sub-langs") + 1]).toBe("all,-live_chat");
    for (const flag of FORBIDDEN_FLAGS) expect(all).not.toContain(flag);
  });

  it("reads where the subtitles went from the REEL_SUBS line, ignoring anything malformed", () => {
    const json = '{"en": {"ext": "vtt", "filepath": "/d/source.en.vtt"}, "ja": {"ext": "vtt"}}';
    expect(writtenSubtitles(json)).toEqual([{ tag: "en", path: "/d/source.en.vtt" }]);
    expect(writtenSubtitles("NA")).toEqual([]);
    expect(writtenSubtitles("null")).toEqual([]);
  });

  it("caps the height at the requested quality", () => {
    const args = ytDlpArgs({ ...req, maxHeight: 480 });
    expect(args[args.indexOf("-f") + 1]).toContain("height<=480");
  });
});

describe("yt-dlp's environment", () => {
  it("holds no credential of the parent's (config.ts childEnv)", () => {
    const parent = {
      PATH: "/usr/bin",
      HOME: "/home/u",
      AWS_ACCESS_KEY_ID: "AKIAPARENT",
      AWS_SECRET_ACCESS_KEY: "parentSECRET",
      AWS_SESSION_TOKEN: "parentSESSION",
      REEL_TEST_TOKEN: "tok_parent",
      HTTPS_PROXY: "http://user:pw@proxy:3128",
      REEL_REDIS_URL: "redis://:pw@redis:6379",
    };
    const env = loadConfig(parent).childEnv;
    expect(Object.keys(env).sort()).toEqual(["HOME", "LANG", "PATH"]);
    const text = JSON.stringify(env);
    for (const secret of ["AKIAPARENT", "parentSECRET", "parentSESSION", "tok_parent", "pw@"])
      expect(text).not.toContain(secret);
  });
});

describe("runYtDlp's error message", () => {
  it("holds no secret of the URL, even the query yt-dlp's generic extractor quotes without its URL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reel-ytdlp-"));
    const bin = join(dir, "yt-dlp");
    await writeFile(
      bin,
      "#!/bin/sh\necho '[generic] Extracting URL: https://al:pw2secret@h/show/nothere?sig=SIGsecret123#fr4gsecret' >&2\n" +
        "echo 'ERROR: [generic] nothere?sig=SIGsecret123: Unable to download webpage: HTTP Error 404' >&2\nexit 1\n",
    );
    await chmod(bin, 0o755);
    const url = "https://al:pw2secret@h/show/nothere?sig=SIGsecret123#fr4gsecret";
    const err = await runYtDlp(bin, { ...req, url, outBase: join(dir, "source") }, {}).catch((e: Error) => e);
    await rm(dir, { recursive: true, force: true });
    expect(err).toMatchObject({ code: "REEL_SOURCE_NOT_FOUND" });
    const message = (err as Error).message;
    expect(message).toContain("Unable to download webpage");
    for (const secret of ["pw2secret", "SIGsecret123", "fr4gsecret"]) expect(message).not.toContain(secret);
  });
});

describe("yt-dlp with cookies", () => {
  it("gets --cookies with the private copy's path only, never a cookie in its argv", () => {
    const args = ytDlpArgs({ ...req, cookies: { path: "/tmp/x/.reel-cookies.txt", values: ["ck_secret_value_1"] } });
    expect(args.slice(args.indexOf("--cookies"), args.indexOf("--cookies") + 2)).toEqual([
      "--cookies",
      "/tmp/x/.reel-cookies.txt",
    ]);
    expect(args.join(" ")).not.toContain("ck_secret_value_1");
    expect(args.indexOf("--cookies")).toBeLessThan(args.indexOf("--"));
    expect(ytDlpArgs(req)).not.toContain("--cookies");
  });

  it("cuts every cookie value yt-dlp prints from the error message", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reel-ytdlp-"));
    const bin = join(dir, "yt-dlp");
    await writeFile(
      bin,
      [
        "#!/bin/sh",
        `echo "WARNING: skipping cookie file entry due to invalid length 3: 'x sid ck_secret_value_1'" >&2`,
        "echo 'ERROR: [generic] Unable to download webpage: HTTP Error 403: Forbidden (cookie ck_secret_value_1)' >&2",
        "exit 1",
        "",
      ].join("\n"),
    );
    await chmod(bin, 0o755);
    const cookies = { path: join(dir, "c.txt"), values: ["ck_secret_value_1"] };
    const err = await runYtDlp(bin, { ...req, outBase: join(dir, "source"), cookies }, {}).catch((e: Error) => e);
    await rm(dir, { recursive: true, force: true });
    expect(err).toMatchObject({ code: "REEL_SOURCE_FORBIDDEN" });
    expect((err as Error).message).toContain("HTTP Error 403");
    expect((err as Error).message).not.toContain("ck_secret_value_1");
  });
});

describe("siteInfo", () => {
  it("keeps the site's title, duration and upload date", () => {
    const line = '{"title": " Ep 1: Pilot ", "duration": 61.5, "upload_date": "20261102", "width": 640}';
    expect(siteInfo(line)).toEqual({ title: "Ep 1: Pilot", durationSecs: 61.5, uploadDate: "20261102" });
  });

  it("leaves out what the site did not give or gave malformed", () => {
    expect(siteInfo('{"title": "", "duration": "NA", "upload_date": "2026-11-02"}')).toEqual({});
    expect(siteInfo("NA")).toEqual({});
  });
});
