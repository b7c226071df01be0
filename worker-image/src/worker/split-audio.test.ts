// A split episode's audio (cluster, spec.split) is encoded once for the whole episode by the pod
// that cuts it: it gets the same loudness treatment as a whole episode.
import { join } from "node:path";
import { parseVideoJob } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loudnessOf, outputFacts } from "../ffmpeg/fidelity-media.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { cutSource } from "./split.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir("reel-split-audio-");
});
afterAll(async () => {
  await tmp?.cleanup();
});

const spec = parseVideoJob({
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "split" },
  spec: {
    episodes: [{ url: "https://cdn.example.com/long.mp4" }],
    split: { segmentDuration: "1s" },
    output: { local: { path: "/nonexistent" } },
  },
}).spec;

describe("cutSource", () => {
  it("normalises the episode's audio to -16 LUFS within 1 LU, in stereo 48 kHz", async () => {
    const source = join(tmp.dir, "quiet.mp4");
    await makeTestClip(source, { seconds: 3, gop: 25, extra: ["-af", "volume=0.05"] });
    expect((await loudnessOf(source)).integrated).toBeLessThan(-40);
    const cut = await cutSource({
      source,
      spec,
      workDir: join(tmp.dir, "work"),
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
    });
    expect(cut?.segments.length).toBeGreaterThanOrEqual(2);
    const audio = cut?.audio as string;
    expect(Math.abs((await loudnessOf(audio)).integrated + 16)).toBeLessThanOrEqual(1);
    expect(await outputFacts(audio)).toMatchObject({ channels: 2, sampleRate: 48000 });
    // What status shows for the split episode: the source's level, and the metered result.
    expect(cut?.loudness?.method).toBe("linear");
    expect(cut?.loudness?.input.integrated).toBeLessThan(-40);
    expect(Math.abs((cut?.loudness?.output?.integrated ?? 0) + 16)).toBeLessThanOrEqual(1);
  });
});
