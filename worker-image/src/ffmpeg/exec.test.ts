import { describe, expect, it } from "vitest";
import { execCommand, plainLine, tailLines } from "./exec.ts";

describe("tailLines: ffmpeg's stderr as error messages may quote it", () => {
  it.each([
    ["[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c1a2b3c0] moov atom not found", "[mov,mp4,m4a,3gp,3g2,mj2] moov atom not found"],
    [
      "file:/scratch/tmp/episode-Ab12/source: Invalid data found when processing input",
      "file:…/source: Invalid data found when processing input",
    ],
    ["Error opening input file /tmp/reel-x/ep1/encoded.mp4.", "Error opening input file …/encoded.mp4."],
    // URLs and plain text are left alone
    [
      "HTTP error 404 Not Found for https://cdn.example.com/show/ep1.mp4",
      "HTTP error 404 Not Found for https://cdn.example.com/show/ep1.mp4",
    ],
    ["Conversion failed!", "Conversion failed!"],
  ])("%s", (line, want) => expect(plainLine(line)).toBe(want));

  it("keeps the last n non-empty lines, cleaned", () => {
    expect(tailLines("a\n\n[h264 @ 0xabc] b\nc\n", 2)).toEqual(["[h264] b", "c"]);
  });
});

describe("execCommand: the process that parses hostile media sees only what it needs", () => {
  it("gives the child no credential of the parent's environment, only PATH, HOME, LANG and TMPDIR", async () => {
    process.env.AWS_SECRET_ACCESS_KEY = "parentSECRETkey";
    process.env.REEL_TEST_TOKEN = "tok_parent";
    try {
      const r = await execCommand("env", []);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("parentSECRETkey");
      expect(r.stdout).not.toContain("tok_parent");
      const names = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("=")[0]);
      expect(names.every((n) => ["PATH", "HOME", "LANG", "TMPDIR"].includes(n ?? ""))).toBe(true);
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.REEL_TEST_TOKEN;
    }
  });
});
