// `reel run` on what a broadcaster's or an archive's shelves hold: ProRes 4:2:2 10-bit with 24-bit
// PCM in MOV (edit suites), DNxHR in MXF OP1a (cameras, playout servers: refused as "not on
// whitelist" before), interlaced PAL DV from tape captures, and MPEG-2 in GXF. Each is opened with
// its own pinned demuxer; the merged file is one delivery format: 8-bit 4:2:0 H.264, BT.709,
// progressive, every chapter at the loudness target.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idetOf, loudnessOf, outputFacts } from "../ffmpeg/fidelity-media.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { reelRun } from "../testing/reel-run.ts";
import { type StaticServer, serveDir } from "./serve.ts";

const exec = promisify(execFile);
const SECS = 2;

// file, title, the picture (lavfi), the encode and mux options
const sources: [string, string, string, string[]][] = [
  [
    "master.mov",
    "ProRes MOV",
    "testsrc2=size=1280x720:rate=25",
    ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le", "-c:a", "pcm_s24le"],
  ],
  [
    "camera.mxf",
    "DNxHR MXF",
    "testsrc2=size=1280x720:rate=25",
    ["-c:v", "dnxhd", "-profile:v", "dnxhr_sq", "-pix_fmt", "yuv422p", "-c:a", "pcm_s16le", "-f", "mxf"],
  ],
  [
    "tape.dv",
    "PAL DV",
    // 50 fields of motion woven into 25 interlaced frames, bottom field first as DV is
    "testsrc2=size=720x576:rate=50,interlace=scan=bff,setfield=bff",
    [
      "-c:v",
      "dvvideo",
      "-pix_fmt",
      "yuv420p",
      "-aspect",
      "4:3",
      "-c:a",
      "pcm_s16le",
      "-ar",
      "48000",
      "-ac",
      "2",
      "-f",
      "dv",
    ],
  ],
  [
    "playout.gxf",
    "MPEG-2 GXF",
    "testsrc2=size=720x576:rate=25",
    ["-c:v", "mpeg2video", "-b:v", "8M", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ar", "48000", "-f", "gxf"],
  ],
];

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

beforeAll(async () => {
  tmp = await makeTempDir("reel-containers-run-");
  const src = join(tmp.dir, "src");
  await mkdir(src);
  await Promise.all(
    sources.map(([file, , picture, opts], i) =>
      exec(
        "ffmpeg",
        ["-v", "error", "-y", "-f", "lavfi", "-i", picture]
          .concat(["-f", "lavfi", "-i", `sine=f=${300 + 100 * i}:sample_rate=48000`, "-t", String(SECS)])
          .concat([...opts, join(src, file)]),
      ),
    ),
  );
  server = await serveDir(src, { host: "127.0.0.2" });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

describe("reel run, broadcast and archive containers", () => {
  it("opens MOV/ProRes, MXF/DNxHR, DV and GXF and merges them into one progressive 8-bit BT.709 file at -16 LUFS", async () => {
    const out = join(tmp.dir, "out");
    const { result, stderr } = await reelRun({
      dir: tmp.dir,
      name: "shelves",
      spec: {
        episodes: sources.map(([file, title]) => ({ url: `${server.origin}/${file}`, title })),
        quality: "480p",
        compression: { preset: "fast", level: 6 },
        gpu: { policy: "off" },
        output: { local: { path: out } },
      },
    });
    expect(result.phase, stderr).toBe("Completed");
    expect(result.episodes.map((e) => [e.phase, e.source?.container])).toEqual([
      ["Completed", "mov,mp4,m4a,3gp,3g2,mj2"],
      ["Completed", "mxf"],
      ["Completed", "dv"],
      ["Completed", "gxf"],
    ]);
    expect(result.episodes[2]?.picture?.deinterlaced).toBeTruthy();

    const merged = join(out, "shelves.mp4");
    expect(await outputFacts(merged)).toMatchObject({
      pixFmt: "yuv420p",
      primaries: "bt709",
      transfer: "bt709",
      matrix: "bt709",
      channels: 2,
      sampleRate: 48000,
    });
    const idet = await idetOf(merged);
    expect(idet.interlaced).toBeLessThanOrEqual(2);
    expect(idet.progressive).toBeGreaterThan(50);
    for (let i = 0; i < sources.length; i++) {
      const { integrated } = await loudnessOf(merged, i * SECS + 0.2, SECS - 0.4);
      expect(Math.abs(integrated - -16), `chapter ${i + 1}: ${integrated} LUFS`).toBeLessThanOrEqual(1);
    }
  }, 300_000);
});
