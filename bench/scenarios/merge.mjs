// merge: four H.264/AAC episodes joined into one MP4 by reel's merge (a chapter per
// episode, moov first) and by ffmpeg's concat demuxer with stream copy. Seconds, lower
// is better. reel's output is checked: 4 chapters in ffprobe, moov before mdat, and once
// per scenario a full decode that must print nothing.
// merge-tracks: the same with two audio (jpn, eng) and two mov_text (eng, jpn) tracks per
// episode; reel asks for them by language, ffmpeg copies every stream (-map 0), and reel's
// output must also show every track with its language.
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../lib/cleanup.mjs";
import { episodes, multiTrackEpisodes } from "../lib/fixtures.mjs";
import { moovBeforeMdat } from "../lib/mp4.mjs";
import { failureReason, runMeasured } from "../lib/proc.mjs";
import { goal, median, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import {
  commandAvailable,
  nodeBinary,
  reelOutcome,
  reelAvailable,
  reelCli,
  repoRoot,
  unavailable,
} from "../lib/tools.mjs";

async function probe(path) {
  const res = await runMeasured(
    "ffprobe",
    ["-v", "error", "-print_format", "json", "-show_chapters", "-show_format", "-show_streams", path],
    { timeoutMs: 60_000 },
  );
  if (res.code !== 0) throw new Error(failureReason(res, "ffprobe"));
  const j = JSON.parse(res.stdout);
  const tracks = (j.streams ?? [])
    .filter((st) => st.codec_type === "audio" || st.codec_type === "subtitle")
    .map((st) => `${st.codec_type}:${st.tags?.language ?? "und"}`)
    .join(" ");
  return { chapters: j.chapters?.length ?? 0, durationS: Number(j.format?.duration ?? Number.NaN), tracks };
}

/** Decodes every frame; a clean file makes ffmpeg print nothing at -v error. */
async function decodeClean(path, maps) {
  const args = ["-hide_banner", "-nostdin", "-v", "error", "-i", path, ...maps, "-f", "null", "-"];
  const res = await runMeasured("ffmpeg", args, { timeoutMs: 600_000 });
  const out = `${res.stdout}${res.stderr}`.trim();
  return { ok: res.code === 0 && out === "", detail: out.split("\n").slice(0, 3).join(" | ") };
}

const SINGLE = { scenario: "merge", fixture: episodes, reelTracks: {}, concatMap: [], tracks: null, decodeMaps: [] };
const TRACKS = {
  scenario: "merge-tracks",
  fixture: multiTrackEpisodes,
  reelTracks: {
    audioTracks: [{ language: "jpn", default: true }, { language: "eng" }],
    subtitleTracks: [{ language: "eng", default: true }, { language: "jpn" }],
  },
  concatMap: ["-map", "0"],
  tracks: "audio:jpn audio:eng subtitle:eng subtitle:jpn",
  decodeMaps: ["-map", "0:v", "-map", "0:a"],
};

export function merge(ctx) {
  return mergeScenario(ctx, SINGLE);
}

export function mergeTracks(ctx) {
  return mergeScenario(ctx, TRACKS);
}

async function mergeScenario({ quick, log }, v) {
  const p = quick ? { height: 720, seconds: 8, rounds: 3 } : { height: 1080, seconds: 25, rounds: 5 };
  const count = 4;
  log(`episodes: ${count} x ${p.seconds} s at ${p.height}p (generated once, then cached)`);
  const eps = await v.fixture({ count, height: p.height, seconds: p.seconds });
  const inputBytes = eps.paths.reduce((s, f) => s + statSync(f).size, 0);
  const { dir, remove } = makeTempDir("reel-bench-merge-");
  const timeoutMs = 300_000;
  const checks = { reel: {}, "ffmpeg-concat": {} };
  // merge()'s own elapsedMs: the row's wall time less Node's start and the binding's load.
  const internal = [];

  // Cheap checks every round; the full decode once, on reel's first good output.
  const inspect = async (name, out) => {
    const c = checks[name];
    const { chapters, durationS, tracks } = await probe(out);
    const moovFirst = moovBeforeMdat(out);
    Object.assign(c, {
      chapters,
      ...(v.tracks ? { tracks } : {}),
      moov_before_mdat: moovFirst,
      duration_s: Math.round(durationS * 100) / 100,
      output_bytes: statSync(out).size,
    });
    if (name !== "reel") return;
    if (chapters !== count) c.failed = `ffprobe shows ${chapters} chapters, want ${count}`;
    else if (!moovFirst) c.failed ??= "moov is not before mdat";
    if (v.tracks && tracks !== v.tracks) c.failed ??= `tracks are "${tracks}", want "${v.tracks}"`;
    if (c.decode_clean === undefined) {
      const d = await decodeClean(out, v.decodeMaps);
      c.decode_clean = d.ok;
      if (!d.ok) c.failed ??= `ffmpeg -v error decode printed: ${d.detail || "(exit status only)"}`;
    }
  };

  const reel = {
    name: "reel",
    async run(r) {
      const avail = await reelAvailable();
      if (!avail.ok) throw unavailable(avail.error);
      const out = join(dir, `reel-${r}.mp4`);
      rmSync(out, { force: true });
      try {
        const options = {
          inputs: eps.paths.map((path, i) => ({ path, title: `Episode ${i + 1}` })),
          output: out,
          chapters: true,
          faststart: true,
          ...v.reelTracks,
        };
        const res = await runMeasured(nodeBinary(), [reelCli, "merge", JSON.stringify(options)], {
          timeoutMs,
          cwd: repoRoot,
        });
        const { done } = reelOutcome(res);
        checks.reel.max_av_offset_ms = done.report.maxAvOffsetMs;
        internal.push(done.report.elapsedMs / 1000);
        await inspect("reel", out);
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        rmSync(out, { force: true });
      }
    },
  };
  const concat = {
    name: "ffmpeg-concat",
    async run(r) {
      const avail = await commandAvailable("ffmpeg", ["-version"]);
      if (!avail.ok) throw unavailable(avail.error);
      const list = join(dir, "list.txt");
      if (!existsSync(list))
        writeFileSync(list, eps.paths.map((f) => `file '${f.replaceAll("'", "'\\''")}'\n`).join(""));
      const out = join(dir, `concat-${r}.mp4`);
      rmSync(out, { force: true });
      try {
        const res = await runMeasured(
          "ffmpeg",
          [
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            list,
            ...v.concatMap,
            "-c",
            "copy",
            out,
          ],
          { timeoutMs },
        );
        if (res.code !== 0) throw new Error(failureReason(res, "ffmpeg concat"));
        await inspect("ffmpeg-concat", out);
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        rmSync(out, { force: true });
      }
    },
  };

  try {
    const results = await runRounds({ rounds: p.rounds, tools: [reel, concat], log });
    const rows = rowsFrom(results, (name) => {
      const { failed, ...c } = checks[name];
      const inner = name === "reel" && internal.length ? { merge_call_median_s: round(median(internal)) } : {};
      return { ...inner, ...c, ...(failed ? { check_failed: failed } : {}) };
    });
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const checksPass = by.reel.median != null ? !checks.reel.failed && checks.reel.decode_clean === true : null;
    const faster =
      by.reel.median != null && by["ffmpeg-concat"].median != null ? by.reel.median < by["ffmpeg-concat"].median : null;
    const goals = [
      goal(
        "reel faster than ffmpeg-concat, with checks passing",
        faster == null || checksPass == null ? null : faster && checksPass,
        `${by.reel.median ?? "-"} s vs ${by["ffmpeg-concat"].median ?? "-"} s; checks ${checksPass == null ? "not run" : checksPass ? `pass (${count} chapters, ${v.tracks ? "every track and language, " : ""}moov first, clean decode)` : `FAIL: ${checks.reel.failed}`}`,
      ),
    ];
    return {
      scenario: v.scenario,
      unit: "s",
      higher_is_better: false,
      rows,
      goals,
      params: {
        episodes: count,
        episode_seconds: p.seconds,
        resolution: `${Math.round((p.height * 16) / 9 / 2) * 2}x${p.height} 30 fps`,
        codecs: v.tracks
          ? "H.264 (libx264 ultrafast) + 2 x AAC 128k (jpn, eng) + 2 x mov_text (eng, jpn)"
          : "H.264 (libx264 ultrafast) + AAC 128k",
        input_bytes: inputBytes,
        fixture: eps.key,
        rounds: p.rounds,
        ffmpeg_concat: `ffmpeg -f concat -safe 0 -i list.txt ${v.concatMap.join(" ")} -c copy out.mp4`.replace(
          "  ",
          " ",
        ),
        ...(v.tracks ? { reel_tracks: v.reelTracks } : {}),
        reel_process_startup_s: (await reelAvailable()).ok ? round((await reelAvailable()).startupMs / 1000) : null,
        checks: v.tracks
          ? `every reel round: ffprobe chapters == 4, tracks "${v.tracks}", moov before mdat; once: ffmpeg -v error -i out.mp4 -map 0:v -map 0:a -f null - prints nothing`
          : "every reel round: ffprobe chapters == 4, moov before mdat; once: ffmpeg -v error -i out.mp4 -f null - prints nothing",
      },
    };
  } finally {
    await remove();
  }
}
