import { describe, expect, it } from "vitest";
import { episodeFileName, previewNames, safeName, storedName } from "./names.ts";

describe("safeName", () => {
  it.each([
    ["Pilot", "Pilot"],
    ["../../etc/passwd", "etc-passwd"],
    ["a/b\\c", "a-b-c"],
    ["..", "output"],
    ["", "output"],
    ["   .hidden ", "hidden"],
    ["Épisode 2: L'été", "Épisode 2- L'été"],
    ["tab\tand\nnewline\u0000", "tabandnewline"],
    ["x".repeat(300), "x".repeat(120)],
  ])("%j becomes %j", (input, expected) => {
    expect(safeName(input)).toBe(expected);
  });

  // A name with a lone surrogate is written to disk as U+FFFD, so the file would not be the one
  // the result's location names: every cut must leave well-formed text.
  const wellFormed = (s: string) => Buffer.from(s, "utf8").toString("utf8") === s;

  it.each([
    ["an emoji across the cut", `${"x".repeat(119)}😀tail`, "x".repeat(119)],
    ["an emoji ending at the cut", `${"x".repeat(118)}😀tail`, `${"x".repeat(118)}😀`],
    ["a combining accent after the cut (no precomposed form)", `${"x".repeat(119)}q\u0301tail`, "x".repeat(119)],
    ["a flag (two code points) across the cut", `${"x".repeat(117)}🇫🇷tail`, "x".repeat(117)],
    ["a skin-tone emoji across the cut", `${"x".repeat(117)}👍🏽tail`, "x".repeat(117)],
  ])("cuts between characters, never inside one: %s", (_what, input, expected) => {
    const name = safeName(input);
    expect(name).toBe(expected);
    expect(wellFormed(name)).toBe(true);
  });

  it("drops lone surrogates from the input", () => {
    expect(safeName("a\ud800b\udc00c")).toBe("abc");
  });

  it("keeps a merge-off file name within 255 bytes whatever the script", () => {
    const name = episodeFileName("j".repeat(63), 0, "語".repeat(200));
    expect(wellFormed(name)).toBe(true);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
  });

  it.each([
    ["a long ASCII title", "j".repeat(63), `${"x".repeat(119)}😀 after`],
    ["a long job name and title", "j".repeat(200), "t".repeat(300)],
    ["a CJK title", "show", "語".repeat(200)],
  ])("stores %s under the very name it was given, .mp4 included, and its previews beside it", (_what, job, title) => {
    const name = episodeFileName(job, 0, title);
    expect(storedName(name)).toBe(name);
    expect(name.endsWith(".mp4")).toBe(true);
    const p = previewNames(name);
    for (const n of [p.poster, p.episodePoster(499), p.thumbsVtt, `${p.stem}-thumbs-001.jpg`]) {
      expect(storedName(n)).toBe(n);
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
    }
  });
});
