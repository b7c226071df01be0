// The hostile-input suite, limits and manifests (issue #12): misspelled fields, a 50 MB manifest,
// billion-laughs YAML, absurd durations, a symlink planted at the output's temporary name, and a
// title cut inside a surrogate pair. Each case runs the real CLI with secrets planted in its env and
// asserts its exit code and REEL_* code, that no connection reached the canary, that no planted
// secret shows in anything printed or written, and that nothing stale was left behind.
import { existsSync } from "node:fs";
import { readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { makeTestClip } from "../../worker-image/src/ffmpeg/test-media.ts";
import { type Hostile, hostile, type Run, secretsIn, textsUnder } from "./harness.ts";

let h: Hostile | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Files a finished run may not leave: partial downloads, temp files, control files, run temp dirs. */
const stale = (files: string[]) => files.filter((f) => /\.(part|tmp|reel-tmp)$|\.ctrl|^tmp\//.test(f));

/** What every case asserts: nothing reached the canary, no planted secret shows, nothing stale left. */
async function clean(c: Hostile, r: Run) {
  expect(c.canary.hits, "a connection reached the canary").toBe(0);
  expect(secretsIn([r.stdout, r.stderr, ...(await textsUnder(c.out))])).toEqual([]);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(stale(await c.leftovers())).toEqual([]);
}

/** A manifest refused before any work: exit 2, REEL_JOB_INVALID, the reason on stderr. */
async function refused(c: Hostile, file: string, why: RegExp) {
  const r = await c.reel(["run", file, "--json"]);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain("REEL_JOB_INVALID");
  expect(r.stderr).toMatch(why);
  expect(r.stdout).toBe("");
  await clean(c, r);
  // Refused before any work: not even the cache was touched.
  expect(await c.leftovers()).toEqual([]);
  expect(await readdir(c.out)).toEqual([]);
}

describe("reel run: manifests refused before any work (exit 2, REEL_JOB_INVALID)", () => {
  it.each([
    ["qualty", { qualty: "1080p" }, /spec\.qualty: unknown field; did you mean quality\?/],
    [
      "alowPartial",
      { merge: { alowPartial: true } },
      /spec\.merge\.alowPartial: unknown field; did you mean allowPartial\?/,
    ],
    [
      "split.minDuration 99999999h",
      { split: { minDuration: "99999999h" } },
      /spec\.split\.minDuration: must be at most 7d/,
    ],
    [
      "split.segmentDuration 0s",
      { split: { segmentDuration: "0s" } },
      /spec\.split\.segmentDuration: must be at least 1s/,
    ],
  ])("refuses %s, naming the field", async (_what, spec, why) => {
    h = await hostile("manifest");
    const file = await h.manifest("fields", { episodes: [{ url: `${h.origin}/a.mp4` }], ...spec });
    await refused(h, file, why);
  });

  it("refuses an S3 urlExpiry past 7 days (the presigned-URL maximum)", async () => {
    h = await hostile("expiry");
    const file = join(h.dir, "expiry.yaml");
    await writeFile(
      file,
      stringify({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "expiry" },
        spec: {
          episodes: [{ url: `${h.origin}/a.mp4` }],
          output: { s3: { bucket: "videos", credentialsSecret: "s3", urlExpiry: "30d" } },
        },
      }),
    );
    await refused(h, file, /spec\.output\.s3\.urlExpiry: must be at most 7d/);
  });

  it("refuses a billion-laughs YAML without expanding it", async () => {
    h = await hostile("laughs");
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const [prev, next] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      lines.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const file = join(h.dir, "laughs.yaml");
    await writeFile(file, `${lines.join("\n")}\n`);
    await refused(h, file, /alias/i);
  });

  it("refuses a 50 MB manifest before parsing it, naming the 4 MiB cap", async () => {
    h = await hostile("huge");
    const episode = `  - url: ${h.origin}/a.mp4\n    title: "${"t".repeat(150)}"\n`;
    const head = `apiVersion: reel.dev/v1alpha1\nkind: VideoJob\nmetadata: {name: huge}\nspec:\n  output: {local: {path: ${h.out}}}\n  episodes:\n`;
    const file = join(h.dir, "huge.yaml");
    await writeFile(file, head + episode.repeat(Math.ceil((50 * 2 ** 20) / episode.length)));
    const started = Date.now();
    await refused(h, file, /the manifest is \d+ bytes; at most 4194304 \(4 MiB\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("reel run: local output names and temporary files", () => {
  it("never writes through a symlink planted at the output's temporary name: the victim is untouched", async () => {
    h = await hostile("symlink");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const victim = join(h.dir, "victim.txt");
    await writeFile(victim, "precious");
    // The old fixed temp name of the merged file and other plausible spellings.
    const planted = [
      "victim-job.mp4.reel-tmp",
      "victim-job.mp4.tmp",
      ".victim-job.mp4.reel-tmp",
      "victim-job.reel-tmp",
    ];
    for (const name of planted) await symlink(victim, join(h.out, name));
    const file = await h.manifest("victim-job", { episodes: [{ url: `${h.origin}/a.mp4`, title: "One" }] });
    const r = await h.reel(["run", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      phase: string;
      output?: { location: string; thumbnails?: { vtt: string; sheets: number } };
      episodes: { poster?: string }[];
    };
    expect(result.phase).toBe("Completed");
    expect(result.output?.location).toBe(join(h.out, "victim-job.mp4"));
    expect(result.output?.thumbnails).toEqual({ vtt: join(h.out, "victim-job-thumbs.vtt"), sheets: 1 });
    expect(result.episodes[0]?.poster).toBe(join(h.out, "victim-job-ep001-poster.jpg"));
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect((await readFile(join(h.out, "victim-job.mp4"))).subarray(4, 8).toString()).toBe("ftyp");
    // Only the planted links, the output and its previews: no temporary file of this run was left beside them.
    const previews = ["victim-job-ep001-poster.jpg", "victim-job-thumbs-001.jpg", "victim-job-thumbs.vtt"];
    expect((await readdir(h.out)).sort()).toEqual([...planted, "victim-job.mp4", ...previews].sort());
    await clean(h, r);
  });

  it.each([
    ["an emoji across the cut", `${"x".repeat(119)}😀 after`],
    ["a combining sequence across the cut", `${"x".repeat(119)}q\u0301 after`],
    ["a flag across the cut", `${"x".repeat(118)}🇫🇷 after`],
  ])("names the file the JSON result's location names when a title is cut at %s", async (_what, title) => {
    h = await hostile("title");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const file = await h.manifest("cut", {
      episodes: [{ url: `${h.origin}/a.mp4`, title }],
      merge: { enabled: false },
    });
    const r = await h.reel(["run", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { phase: string; episodeOutputs?: { location: string }[] };
    const location = result.episodeOutputs?.[0]?.location ?? "";
    expect(location.isWellFormed()).toBe(true);
    expect(location.endsWith(".mp4")).toBe(true);
    expect(existsSync(location)).toBe(true);
    const poster = `${basename(location, ".mp4")}-poster.jpg`;
    expect((await readdir(h.out)).sort()).toEqual([basename(location), poster].sort());
    await clean(h, r);
  });
});

/** A faststart MP4 (index first) cut at half its bytes: the header still announces the whole length. */
async function cutInHalf(path: string, seconds: number) {
  await makeTestClip(path, { seconds, extra: ["-movflags", "+faststart"] });
  const whole = await readFile(path);
  await writeFile(path, whole.subarray(0, Math.floor(whole.length / 2)));
}

/** An MP4 whose movie header claims 11 h over its few seconds of samples (mvhd v0, timescale 1000). */
async function claimingElevenHours(path: string, seconds: number) {
  await makeTestClip(path, { seconds });
  const b = Buffer.from(await readFile(path));
  const mvhd = b.indexOf("mvhd");
  b.writeUInt32BE(b.readUInt32BE(mvhd + 16) * 11 * 3600, mvhd + 20);
  await writeFile(path, b);
}

type Result = {
  phase: string;
  episodes: {
    phase: string;
    durationSecs?: number;
    error?: { code: string; message: string };
    warnings?: { code: string }[];
  }[];
  output?: { location: string; durationSecs?: number; chapters?: number };
};

describe("reel run: a source shorter than its header says", () => {
  it("fails a source cut short at the origin with REEL_SOURCE_TRUNCATED, and the other episode still completes", async () => {
    h = await hostile("truncated");
    await cutInHalf(join(h.src, "cut.mp4"), 6);
    await makeTestClip(join(h.src, "whole.mp4"), { seconds: 2 });
    const file = await h.manifest("truncated", {
      episodes: [{ url: `${h.origin}/cut.mp4` }, { url: `${h.origin}/whole.mp4` }],
    });
    const r = await h.reel(["run", file, "--json"]);
    expect(r.code, r.stderr).toBe(1);
    const result = JSON.parse(r.stdout) as Result;
    expect(result.episodes[0]).toMatchObject({ phase: "Failed", error: { code: "REEL_SOURCE_TRUNCATED" } });
    expect(result.episodes[1]?.phase).toBe("Completed");
    expect(result.episodes[0]?.error?.message).toMatch(/announces 6\.0 s but only \d\.\d s could be decoded/);
    await clean(h, r);
  });

  it("keeps what was decoded with a warning when merge.allowPartial is set, and says how long it really is", async () => {
    h = await hostile("truncated-kept");
    await cutInHalf(join(h.src, "cut.mp4"), 6);
    await makeTestClip(join(h.src, "whole.mp4"), { seconds: 2 });
    const file = await h.manifest("kept", {
      episodes: [{ url: `${h.origin}/cut.mp4` }, { url: `${h.origin}/whole.mp4` }],
      merge: { allowPartial: true },
    });
    const r = await h.reel(["run", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Result;
    const [cut] = result.episodes;
    expect(cut?.phase).toBe("Completed");
    expect(cut?.warnings?.map((w) => w.code)).toEqual(["REEL_SOURCE_TRUNCATED"]);
    expect(cut?.durationSecs).toBeGreaterThan(1.5);
    expect(cut?.durationSecs).toBeLessThan(4.5);
    // The merged file is what was decoded: the kept part plus the whole 2 s episode, not 6 + 2.
    expect(result.output?.durationSecs).toBeLessThan(6.5);
    await clean(h, r);
  });

  it("reports the length of the samples, not a movie header that claims 11 h", async () => {
    h = await hostile("claims");
    await claimingElevenHours(join(h.src, "claims.mp4"), 2);
    const file = await h.manifest("claims", { episodes: [{ url: `${h.origin}/claims.mp4` }] });
    const r = await h.reel(["run", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Result;
    expect(result.episodes[0]?.warnings).toBeUndefined();
    expect(result.episodes[0]?.durationSecs).toBeGreaterThan(1.9);
    expect(result.episodes[0]?.durationSecs).toBeLessThan(2.2);
    await clean(h, r);
  });
});
