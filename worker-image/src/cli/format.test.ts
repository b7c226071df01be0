import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { JobResult } from "../pipeline/job.ts";
import { loudnessCell, pictureCell, printable, summary, vmafCell } from "./format.ts";
import { progress } from "./progress.ts";

const hostileTitle = "Ep\x1b]0;pwned\x07 one\x1b[2J\rclean\n2  forged  Completed\u202e";

function result(title: string, message = "boom"): JobResult {
  return {
    phase: "Failed",
    episodes: [{ index: 0, title, phase: "Failed", error: { code: "REEL_FFMPEG_FAILED", message } }],
    error: { code: "REEL_EPISODES_FAILED", message },
    stageSeconds: {},
  } as JobResult;
}

/** Any byte a terminal acts on: C0 and C1 controls, DEL, and bidi overrides. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe("printable: what came from a manifest or a source reaches the terminal inert", () => {
  it.each([
    ["\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"],
    ["\x1b[2J", "\\x1b[2J"],
    ["a\rb\nc\td", "a\\rb\\nc\\td"],
    ["\u009b2J", "\\x9b2J"],
    ["rtl\u202eevil", "rtl\\u202eevil"],
    ["Épisode 1 — 日本", "Épisode 1 — 日本"],
  ])("%j", (raw, want) => expect(printable(raw)).toBe(want));

  it("keeps newlines when asked (multi-line messages) but indents them so they cannot pose as rows", () => {
    expect(printable("a\nb\x1b[2J", { lines: true })).toBe("a\n    b\\x1b[2J");
  });
});

describe("the table says what was done to each episode", () => {
  const ep = (over: Partial<JobResult["episodes"][number]>) =>
    ({ index: 0, phase: "Completed", progress: 100, attempts: 1, ...over }) as JobResult["episodes"][number];
  it.each([
    [{}, "-"],
    [{ loudness: { method: "none", gainDb: 0, target: -16, input: {} } }, "silent"],
    [
      {
        loudness: {
          method: "linear",
          gainDb: 25.8,
          target: -16,
          input: { integrated: -41.8 },
          output: { integrated: -16 },
        },
      },
      "-41.8 → -16.0 LUFS",
    ],
    [
      {
        loudness: {
          method: "limited",
          gainDb: 13.1,
          target: -16,
          input: { integrated: -29.1 },
          output: { integrated: -16.6 },
        },
      },
      "-29.1 → -16.6 LUFS (limited)",
    ],
  ] as const)("loudness %j", (over, cell) => expect(loudnessCell(ep(over as never))).toBe(cell));

  it.each([
    [{}, "-"],
    [
      {
        toneMapped: { from: "smpte2084", operator: "hable", peakNits: 1000 },
        deinterlaced: { fieldOrder: "tff", detectedBy: "probe" },
      },
      "tone-mapped PQ, deinterlaced",
    ],
    [{ toneMapped: { from: "arib-std-b67", operator: "hable", peakNits: 1000 } }, "tone-mapped HLG"],
    [{ convertedFrom: "smpte170m/smpte170m/smpte170m, limited range" }, "from BT.601"],
    [{ convertedFrom: "bt470bg/bt709/bt470bg, full range" }, "from BT.601, from full range"],
    [{ convertedFrom: "bt709/bt709/bt709, full range" }, "from full range"],
    [{ convertedFrom: "bt2020/bt2020-10/bt2020nc, limited range" }, "from bt2020/bt2020-10/bt2020nc"],
  ] as const)("picture %j", (picture, cell) => expect(pictureCell(ep({ picture } as never))).toBe(cell));
});

describe("the CLI's table and progress with a hostile title", () => {
  it("summary has one row per episode and no control character", () => {
    const text = summary(result(hostileTitle, "ffmpeg said\n\x1b[2J2  fake  Completed"));
    // Newlines separate the table's own rows; nothing else a terminal acts on may show.
    for (const line of text.split("\n")) expect(line).not.toMatch(CONTROL);
    const rows = text.split("\n\n")[0]?.split("\n") ?? [];
    expect(rows).toHaveLength(2);
  });

  it("shows an episode's warnings in its row and spelled out under the table, escaped", () => {
    const r = {
      phase: "Completed",
      episodes: [
        {
          index: 0,
          title: "cut",
          phase: "Completed",
          warnings: [{ code: "REEL_SOURCE_TRUNCATED", message: "3.0 s of 6.0 s\x1b[2J decoded" }],
        },
      ],
      stageSeconds: {},
    } as JobResult;
    const text = summary(r);
    expect(text.split("\n")[1]).toMatch(/REEL_SOURCE_TRUNCATED \(warning\)$/);
    expect(text).toContain("warnings:\n  episode 1: 3.0 s of 6.0 s\\x1b[2J decoded");
  });

  it("adds a vmaf column when an episode has VMAF, with how a VMAF target was met", () => {
    const ep = (index: number, quality: object) => ({ index, title: `E${index}`, phase: "Completed", quality });
    const target = {
      metric: "vmaf",
      score: 93,
      sampleLevel: 4,
      sampleScore: 94.1,
      level: 4,
      encodes: 1,
      reached: true,
    };
    const r = {
      phase: "Completed",
      episodes: [ep(0, { ssim: 0.99, psnr: 40, vmaf: 94.561, target }), ep(1, { ssim: 0.98, psnr: 39 })],
      stageSeconds: {},
    } as JobResult;
    const lines = summary(r).split("\n");
    const at = (lines[0] ?? "").indexOf("vmaf");
    expect(at).toBeGreaterThan((lines[0] ?? "").indexOf("psnr"));
    expect(lines[1]?.slice(at)).toMatch(/^94\.56 \(target 93, level 4\)/);
    expect(lines[2]?.slice(at)).toMatch(/^- /);
    expect(vmafCell(ep(2, { ssim: 0.9, vmaf: 91.2, target: { ...target, level: 1, reached: false } }) as never)).toBe(
      "91.20 (target 93 missed, level 1)",
    );
    const plain = { ...r, episodes: [ep(1, { ssim: 0.98, psnr: 39 })] } as JobResult;
    expect(summary(plain).split("\n")[0]).not.toContain("vmaf");
  });

  it("progress lines (not a TTY) escape titles and notes", () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let out = "";
    (stream as unknown as PassThrough).on("data", (c: Buffer) => {
      out += c.toString();
    });
    const p = progress([hostileTitle], stream);
    p.on({ type: "episode", index: 0, phase: "Downloading", progress: 1 });
    p.on({ type: "note", level: "warn", message: "title \x1b]0;x\x07 here\nforged line" });
    p.stop();
    const lines = out.split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).not.toMatch(CONTROL);
  });
});
