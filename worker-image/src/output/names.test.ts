import { describe, expect, it } from "vitest";
import { safeName } from "./names.ts";

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
});
