import { describe, expect, it } from "vitest";
import { cut, TERMINATION_LIMIT, terminationMessage } from "./termination.ts";

const size = (s: string) => Buffer.byteLength(s, "utf8");

const presigned = `http://127.0.0.1:7070/videos/shows/season-1.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${"A".repeat(60)}&X-Amz-Signature=${"f".repeat(64)}&X-Amz-SignedHeaders=host&x-id=GetObject`;

describe("terminationMessage", () => {
  it("leaves a result that fits as it is", () => {
    const r = { mode: "episode", index: 2, phase: "Completed", encoder: "libx264", quality: { ssim: 0.98 } };
    expect(terminationMessage(r)).toBe(JSON.stringify(r));
  });

  it("cuts a long error message so the whole stays valid JSON within 4096 bytes, keeping the code", () => {
    const r = {
      mode: "episode",
      index: 0,
      phase: "Failed",
      error: { code: "REEL_FFMPEG_FAILED", message: "x".repeat(20_000) },
    };
    const m = terminationMessage(r);
    expect(size(m)).toBeLessThanOrEqual(TERMINATION_LIMIT);
    const back = JSON.parse(m);
    expect(back).toMatchObject({ mode: "episode", index: 0, phase: "Failed", truncated: true });
    expect(back.error.code).toBe("REEL_FFMPEG_FAILED");
    expect(back.error.message.length).toBeGreaterThan(100);
  });

  it("counts bytes, not characters, and never splits a character", () => {
    const r = { mode: "episode", phase: "Failed", error: { code: "REEL_IO", message: "🎬é".repeat(5000) } };
    const m = terminationMessage(r);
    expect(size(m)).toBeLessThanOrEqual(TERMINATION_LIMIT);
    const msg = JSON.parse(m).error.message as string;
    expect(msg).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it("fits a message made of characters that JSON escapes (six bytes each)", () => {
    const r = {
      mode: "merge",
      phase: "Failed",
      error: { code: "REEL_MERGE_MISMATCH", message: '\u0001"\\\n'.repeat(4000) },
      notes: Array.from({ length: 50 }, () => "\u0002".repeat(500)),
    };
    const m = terminationMessage(r);
    expect(size(m)).toBeLessThanOrEqual(TERMINATION_LIMIT);
    expect(JSON.parse(m).error.code).toBe("REEL_MERGE_MISMATCH");
  });

  it("keeps a presigned URL whole while other long texts are cut", () => {
    const r = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://videos/shows/season-1.mp4", url: presigned, bytes: 1, sha256: "a".repeat(64) },
      detail: "d".repeat(5000),
    };
    const m = JSON.parse(terminationMessage(r));
    expect(m.output.url).toBe(presigned);
    expect(m.detail.length).toBeLessThanOrEqual(1024);
  });

  it("shortens a list of 500 per-episode outputs and says how many were left out", () => {
    const outputs = Array.from({ length: 500 }, (_, i) => ({
      location: `s3://videos/shows/season-1-${String(i + 1).padStart(3, "0")}-Episode ${i + 1}.mp4`,
      url: presigned,
      bytes: 123456,
      sha256: "b".repeat(64),
    }));
    const m = terminationMessage({ mode: "merge", phase: "Completed", outputs });
    expect(size(m)).toBeLessThanOrEqual(TERMINATION_LIMIT);
    const back = JSON.parse(m);
    expect(back.phase).toBe("Completed");
    expect(back.outputs.length + back.outputsOmitted).toBe(500);
  });
});

describe("cut", () => {
  it("marks a cut and leaves short text alone", () => {
    expect(cut("abcdef", 4)).toBe("abc…");
    expect(cut("abc", 4)).toBe("abc");
  });
});
