// job-e2e: a whole VideoJob through `reel run` (four episodes from a loopback nginx, each
// downloaded, probed, loudness-normalised (the default), encoded, measured, then merged with a
// chapter per episode) against the sequence a user would type instead: curl each episode, an
// ffmpeg ebur128 measure of its sound, one ffmpeg per episode with the same x264 settings reel
// uses and the gain to -16 LUFS, ffmpeg's concat demuxer. Seconds, lower is better.
// reel gets a fresh REEL_CACHE_DIR every round so no encode is reused; one extra run on the last
// round's cache shows what reuse saves (params.reel_rerun_s). The hardware probe (test encodes of
// every encoder, kept per machine in hw-capabilities.json) is a machine's, not a job's: an untimed
// first run on a fresh machine cache makes it (its time is params.reel_fresh_machine_s), and every
// round's fresh cache starts with that file, as any job after a machine's first does.
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../lib/cleanup.mjs";
import { episodes } from "../lib/fixtures.mjs";
import { decodeClean, probeMedia } from "../lib/media.mjs";
import { startNginx } from "../lib/nginx.mjs";
import { failureReason, runMeasured } from "../lib/proc.mjs";
import { goal, median, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import { commandAvailable, nodeBinary, reelAvailable, repoRoot, unavailable } from "../lib/tools.mjs";

// The `reel` bin, as users run it (it keeps V8's compile cache between runs; main.ts alone does not).
const reelMain = join(repoRoot, "worker-image", "src", "cli", "reel.mjs");
const COUNT = 4;
const CONCURRENCY = 2;

// The x264 settings reel uses for quality 720p, codec h264, preset balanced, level 5 on the CPU,
// so both rows do the same encode: worker-image/src/ffmpeg/presets.ts maps balanced to
// -preset medium and level L to -crf 18 + 2 x (L - 1) = 26; ladder.ts caps 720p h264 at
// -maxrate 5000k with -bufsize twice that; audio is AAC at the rung's 128k, 48 kHz stereo.
const X264_PRESET = "medium";
const MANUAL_CRF = 26;
const MAXRATE_K = 5000;
const BUFSIZE_K = 2 * MAXRATE_K;
const AUDIO_K = 128;
/** reel's default loudness target (spec.audio.loudness.integrated). */
export const TARGET_LUFS = -16;

/** The VideoJob manifest, as a user would write it. */
export function jobYaml({ name, urls, outDir }) {
  const eps = urls.map(
    (u, i) => `    - url: ${JSON.stringify(u)}\n      title: ${JSON.stringify(`Episode ${i + 1}`)}\n`,
  );
  return `apiVersion: reel.dev/v1alpha1
kind: VideoJob
metadata:
  name: ${name}
spec:
  episodes:
${eps.join("")}  quality: 720p
  codec: h264
  compression:
    preset: balanced
    level: 5
  merge:
    enabled: true
    chapters: true
  output:
    local:
      path: ${JSON.stringify(outDir)}
`;
}

const q = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

/** The hand-written sequence: download all, encode each, concat. One bash script, one child. */
export function manualScript({ urls, workDir }) {
  const lines = ["set -euo pipefail", `cd ${q(workDir)}`];
  urls.forEach((u, i) => {
    lines.push(`curl -sS -o ep${i + 1}.mp4 ${q(u)}`);
  });
  urls.forEach((_u, i) => {
    // EBU R128 of the sound alone (no video decode), then one linear gain to the target in the encode.
    lines.push(
      `I=$(ffmpeg -nostdin -hide_banner -nostats -i ep${i + 1}.mp4 -vn -af ebur128=framelog=verbose -f null - 2>&1 | awk '$1 == "I:" { v = $2 } END { print v }')`,
      `G=$(awk -v i="$I" 'BEGIN { printf "%.2f", ${TARGET_LUFS} - i }')`,
      `ffmpeg -nostdin -hide_banner -v error -y -i ep${i + 1}.mp4 -vf scale=-2:720 -c:v libx264 -preset ${X264_PRESET} -crf ${MANUAL_CRF} -maxrate ${MAXRATE_K}k -bufsize ${BUFSIZE_K}k -af volume=\${G}dB -c:a aac -b:a ${AUDIO_K}k -ar 48000 -ac 2 ep${i + 1}.out.mp4`,
    );
  });
  lines.push(`printf "file '%s'\\n" ${urls.map((_u, i) => `ep${i + 1}.out.mp4`).join(" ")} > list.txt`);
  lines.push("ffmpeg -nostdin -hide_banner -v error -y -f concat -safe 0 -i list.txt -c copy merged.mp4");
  return `${lines.join("\n")}\n`;
}

/** Integrated loudness of a file's sound (ffmpeg ebur128), LUFS; null when it cannot be read. */
export async function integratedLufs(path) {
  const res = await runMeasured(
    "ffmpeg",
    ["-nostdin", "-hide_banner", "-nostats", "-i", path, "-vn", "-af", "ebur128=framelog=verbose", "-f", "null", "-"],
    { timeoutMs: 300_000 },
  );
  const m = /\bI:\s+(-?[0-9.]+) LUFS/.exec(res.stderr ?? "");
  return m ? Number(m[1]) : null;
}

export async function jobE2e({ quick, log }) {
  const p = quick
    ? { height: 720, seconds: 8, rounds: 2, timeoutMs: 300_000 }
    : { height: 1080, seconds: 20, rounds: 3, timeoutMs: 1_200_000 };
  for (const cmd of ["ffmpeg", "curl"]) {
    const a = await commandAvailable(cmd, cmd === "ffmpeg" ? ["-version"] : ["--version"]);
    if (!a.ok) throw new Error(a.error);
  }
  log(`episodes: ${COUNT} x ${p.seconds} s at ${p.height}p (generated once, then cached)`);
  const eps = await episodes({ count: COUNT, height: p.height, seconds: p.seconds });
  const inputBytes = eps.paths.reduce((s, f) => s + statSync(f).size, 0);
  const server = await startNginx({ root: eps.dir });
  const urls = eps.paths.map((_f, i) => `${server.baseUrl}/ep${i + 1}.mp4`);
  const { dir, remove } = makeTempDir("reel-bench-job-");
  const checks = { reel: {}, manual: {} };
  const reelRuns = [];
  // The last reel round's cache survives the rounds, for the rerun.
  let keptCache = null;
  // The machine's hardware probe, made once by the first (untimed) run and given to every round.
  const machine = makeTempDir("reel-bench-job-machine-");
  const HW_FILE = "hw-capabilities.json";
  let freshMachine = null;

  const runReel = async (label, cacheDir) => {
    const outDir = join(dir, `${label}-out`);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const jobFile = join(dir, `${label}.yaml`);
    writeFileSync(jobFile, jobYaml({ name: "bench-job", urls, outDir }));
    const res = await runMeasured(
      nodeBinary(),
      [reelMain, "run", jobFile, "--json", "--allow", "127.0.0.1/32", "--concurrency", String(CONCURRENCY)],
      { timeoutMs: p.timeoutMs, cwd: repoRoot, env: { ...process.env, REEL_CACHE_DIR: cacheDir } },
    );
    let result;
    try {
      result = JSON.parse(res.stdout);
    } catch {}
    if (res.code !== 0 || result?.phase !== "Completed") {
      const why = result?.error ? `${result.error.code}: ${result.error.message}` : failureReason(res, "reel run");
      throw new Error(`reel run: ${why}`);
    }
    return { res, result, out: result.output.location, outDir };
  };

  const reel = {
    name: "reel",
    async run(r) {
      const avail = await reelAvailable();
      if (!avail.ok) throw unavailable(avail.error);
      const cache = makeTempDir("reel-bench-job-cache-");
      if (existsSync(join(machine.dir, HW_FILE))) copyFileSync(join(machine.dir, HW_FILE), join(cache.dir, HW_FILE));
      const { res, result, out, outDir } = await runReel(`reel-${r}`, cache.dir).catch(async (err) => {
        await cache.remove();
        throw err;
      });
      try {
        reelRuns.push(result);
        const c = checks.reel;
        const m = await probeMedia(out);
        Object.assign(c, {
          chapters: m.chapters,
          duration_s: round(m.durationS),
          output_bytes: statSync(out).size,
        });
        if (m.chapters !== COUNT) c.failed ??= `round ${r + 1}: ffprobe shows ${m.chapters} chapters, want ${COUNT}`;
        if (c.output_lufs === undefined) c.output_lufs = await integratedLufs(out);
        if (c.decode_clean === undefined) {
          const d = await decodeClean(out);
          c.decode_clean = d.ok;
          if (!d.ok) c.failed ??= `ffmpeg -v error decode printed: ${d.detail || "(exit status only)"}`;
        }
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        rmSync(outDir, { recursive: true, force: true });
        const previous = keptCache;
        keptCache = cache;
        await previous?.remove();
      }
    },
  };

  const manual = {
    name: "manual",
    async run(r) {
      const workDir = join(dir, `manual-${r}`);
      rmSync(workDir, { recursive: true, force: true });
      mkdirSync(workDir, { recursive: true });
      const script = join(dir, `manual-${r}.sh`);
      writeFileSync(script, manualScript({ urls, workDir }));
      try {
        const res = await runMeasured("bash", [script], { timeoutMs: p.timeoutMs });
        if (res.code !== 0) throw new Error(failureReason(res, "manual sequence"));
        const out = join(workDir, "merged.mp4");
        const c = checks.manual;
        const m = await probeMedia(out);
        Object.assign(c, { chapters: m.chapters, duration_s: round(m.durationS), output_bytes: statSync(out).size });
        if (c.decode_clean === undefined) c.decode_clean = (await decodeClean(out)).ok;
        if (c.output_lufs === undefined) c.output_lufs = await integratedLufs(out);
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  };

  try {
    if ((await reelAvailable()).ok) {
      try {
        const first = await runReel("reel-fresh-machine", machine.dir);
        rmSync(first.outDir, { recursive: true, force: true });
        freshMachine = round(first.res.elapsedMs / 1000);
        log(`reel's first run on a fresh machine cache (hardware probe included, not a round): ${freshMachine} s`);
      } catch (err) {
        log(`reel's first run failed: ${err.message}`);
      }
    }
    const results = await runRounds({ rounds: p.rounds, tools: [reel, manual], log });

    // The same job again on the last round's cache: every encode is found by content hash.
    let rerun = null;
    if (keptCache) {
      try {
        const { res, result, outDir } = await runReel("reel-rerun", keptCache.dir);
        rmSync(outDir, { recursive: true, force: true });
        const reused = result.episodes.filter((e) => String(e.encoder).endsWith("(reused)")).length;
        rerun = { seconds: round(res.elapsedMs / 1000), peak_rss_mb: round(res.peakRssMb), episodes_reused: reused };
        log(`reel rerun on the same cache: ${rerun.seconds} s, ${reused}/${COUNT} encodes reused`);
      } catch (err) {
        rerun = { error: err.message };
      } finally {
        await keptCache.remove();
      }
    }

    const ssims = reelRuns.flatMap((x) => x.episodes.map((e) => e.quality?.ssim)).filter((v) => v != null);
    const psnrs = reelRuns.flatMap((x) => x.episodes.map((e) => e.quality?.psnr)).filter((v) => v != null);
    const stage = (k) => round(median(reelRuns.map((x) => x.stageSeconds?.[k] ?? 0)));
    const rows = rowsFrom(results, (name) => {
      const { failed, ...c } = checks[name];
      const extra = name === "reel" && ssims.length ? { episode_ssim_median: round(median(ssims), 6) } : {};
      return { ...extra, ...c, ...(failed ? { check_failed: failed } : {}) };
    });
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const ratio = by.reel.median != null && by.manual.median != null ? by.reel.median / by.manual.median : null;
    const checksPass = by.reel.median != null ? !checks.reel.failed && checks.reel.decode_clean === true : null;
    const goals = [
      goal(
        "reel run <= 1.0x the manual sequence, with reel's checks passing",
        ratio == null || checksPass == null ? null : ratio <= 1 && checksPass,
        `${by.reel.median ?? "-"} s vs ${by.manual.median ?? "-"} s (ratio ${ratio == null ? "-" : round(ratio)}); checks ${checksPass == null ? "not run" : checksPass ? `pass (${COUNT} chapters every round, clean decode)` : `FAIL: ${checks.reel.failed}`}`,
      ),
    ];
    return {
      scenario: "job-e2e",
      unit: "s",
      higher_is_better: false,
      rssOverIdle: false,
      rows,
      goals,
      params: {
        episodes: COUNT,
        episode_seconds: p.seconds,
        resolution: `${Math.round((p.height * 16) / 9 / 2) * 2}x${p.height} 30 fps`,
        codecs: "H.264 (libx264 ultrafast, -g 60) + AAC 128k mono 48 kHz",
        input_bytes: inputBytes,
        fixture: eps.key,
        server: "private nginx on 127.0.0.1, unthrottled",
        target: `quality 720p, codec h264, compression balanced level 5, loudness normalised to ${TARGET_LUFS} LUFS (default), merge with chapters`,
        reel: `REEL_CACHE_DIR=<fresh per round, with the machine's hw-capabilities.json> node worker-image/src/cli/main.ts run job.yaml --json --allow 127.0.0.1/32 --concurrency ${CONCURRENCY}`,
        manual: manualScript({ urls: urls.map((_u, i) => `URL${i + 1}`), workDir: "WORK" })
          .trim()
          .split("\n"),
        speed_ratio_reel_over_manual: ratio == null ? null : round(ratio),
        reel_fresh_machine_s: freshMachine,
        reel_fresh_machine:
          "one untimed run before the rounds on a fresh machine cache: the hardware probe (x264/x265/SVT-AV1 test encodes, listings) is made there once, as on a machine's first job, and copied into every round's fresh cache; encodes are never reused in a round",
        reel_rerun_s: rerun?.seconds ?? null,
        reel_rerun: rerun,
        reel_stage_seconds_median: {
          note: "summed over episodes (2 run at once), so they add up to more than the wall time",
          fetch: stage("fetch"),
          probe: stage("probe"),
          encode: stage("encode"),
          measure: stage("measure"),
          merge: stage("merge"),
          store: stage("store"),
        },
        reel_episode_psnr_median: psnrs.length ? round(median(psnrs)) : null,
        manual_differs:
          "both scale with bicubic (the script's scale=-2:720 is ffmpeg's default; reel writes scale=W:H:flags=bicubic,setsar=1,format=yuv420p and tags the frames and the stream bt709, limited range); reel's encode also writes x264's SSIM/PSNR, meters its sound (ebur128 with true peak) and adds -fps_mode passthrough and +faststart",
        reel_does_more:
          "per episode: ffprobe with limits and a format whitelist, a true-peak check on the gain (loudnorm's limiter when it would clip) and a meter of the normalised sound, the picture analysis (colour tags, interlace), a blake3 content hash (the encode cache key), SSIM + PSNR of the encode (x264's own statistics while encoding), a 640-px poster (made as the episode's encode ends, beside the other encodes); downloads through the egress guard (allowlist 127.0.0.1/32) with a resume log; the merge writes a chapter per episode and moov first; the merged file's seek-thumbnail sheet and WebVTT (made while it is stored); the output's sha256; 2 encodes at once, with 2 more episodes downloaded and probed ahead",
        rounds: p.rounds,
        peak_rss:
          "GNU time's max RSS over the child's process tree: the largest single process (an ffmpeg), not their sum",
        checks:
          "every reel round: ffprobe chapters == 4; once: ffmpeg -v error -i out -f null - prints nothing, and the merged file's integrated loudness (output_lufs, ebur128; the target is -16) (the same facts for manual's output, for comparison)",
      },
    };
  } finally {
    await server.stop();
    await remove();
    await machine.remove();
  }
}
