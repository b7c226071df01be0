// The job-e2e scenario's pure parts: the manifest it gives reel and the script it runs as the
// manual baseline. The baseline must encode exactly like reel, so its x264 options are checked
// against the worker's own argument builders: a change to presets.ts or ladder.ts fails here.
import { parseVideoJob } from "@reel/crds";
import { parse as parseYaml } from "yaml";
import { describe, expect, test } from "vitest";
import { bufsizeK, ladder } from "../../worker-image/src/ffmpeg/ladder.ts";
import { encoderArgs } from "../../worker-image/src/ffmpeg/presets.ts";
import { parseSsimAll } from "../lib/media.mjs";
import { jobYaml, manualScript, TARGET_LUFS } from "./job.mjs";
import { VMAF_SUBSAMPLE } from "../../worker-image/src/quality/episode.ts";
import { REEL_SUBSAMPLE } from "./quality.mjs";

const urls = [1, 2, 3, 4].map((i) => `http://127.0.0.1:8080/ep${i}.mp4`);

describe("job-e2e", () => {
  test("the manifest is a valid VideoJob: 720p h264, balanced level 5, merged with chapters", () => {
    const job = parseVideoJob(parseYaml(jobYaml({ name: "bench-job", urls, outDir: "/tmp/out dir" })));
    expect(job.spec.episodes.map((e) => e.url)).toEqual(urls);
    expect(job.spec.episodes[3]?.title).toBe("Episode 4");
    expect(job.spec).toMatchObject({
      quality: "720p",
      codec: "h264",
      compression: { preset: "balanced", level: 5 },
      merge: { enabled: true, chapters: true },
      output: { local: { path: "/tmp/out dir" } },
    });
  });

  test("the manual script encodes with the x264 options reel uses for 720p balanced level 5", () => {
    const maxrateK = ladder["720p"].maxrateK.h264;
    const reel = encoderArgs({
      codec: "h264",
      family: "cpu",
      preset: "balanced",
      level: 5,
      maxrateK,
      bufsizeK: bufsizeK(maxrateK),
    }).join(" ");
    const lines = manualScript({ urls, workDir: "/w" }).split("\n");
    const job = parseVideoJob(parseYaml(jobYaml({ name: "bench-job", urls, outDir: "/o" })));
    const encodes = lines.filter((l) => l.startsWith("ffmpeg") && l.includes("libx264"));
    expect(encodes).toHaveLength(4);
    for (const line of encodes) {
      expect(line).toContain(reel);
      expect(line).toContain(`-c:a aac -b:a ${ladder["720p"].audioBitrateK}k -ar 48000 -ac 2`);
    }
    expect(lines.filter((l) => l.startsWith("curl "))).toHaveLength(4);
    // Loudness as reel does it by default: the sound alone measured, one gain to -16 LUFS in the encode.
    expect(job.spec.audio.loudness).toMatchObject({ mode: "normalize", integrated: TARGET_LUFS });
    expect(lines.filter((l) => l.includes("-vn -af ebur128="))).toHaveLength(4);
    expect(lines.filter((l) => l.includes(`printf "%.2f", ${TARGET_LUFS} - i`))).toHaveLength(4);
    // The shell expands $G, the gain the line before computed.
    for (const line of encodes) expect(line).toContain(["-af volume=$", "{G}dB"].join(""));
    expect(lines.some((l) => l.includes("-f concat -safe 0 -i list.txt -c copy merged.mp4"))).toBe(true);
  });

  test("ffmpeg's ssim summary line gives its All figure", () => {
    const line =
      "[Parsed_ssim_1 @ 0x55c7] SSIM Y:0.988212 (19.285485) U:0.994766 (22.811762) V:0.996801 (24.950365) All:0.990736 (20.331878)";
    expect(parseSsimAll(`frame=900\n${line}\n`)).toBe(0.990736);
    expect(parseSsimAll("no summary")).toBeNull();
  });

  test("quality-vmaf's reel row scores every 5th frame, as the encode stage does", () => {
    expect(REEL_SUBSAMPLE).toBe(VMAF_SUBSAMPLE);
  });
});
