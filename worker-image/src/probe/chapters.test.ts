import { describe, expect, it } from "vitest";
import type { CommandRunner } from "../ffmpeg/exec.ts";
import { cleanChapters, MAX_CHAPTER_TITLE, MAX_SOURCE_CHAPTERS, parseChapters, probeChapters } from "./chapters.ts";

describe("source chapters", () => {
  it("makes ffprobe's chapter starts relative to the source's first frame, in order", () => {
    const json = {
      format: { start_time: "1.400000" },
      chapters: [
        { start_time: "3.400000", tags: { title: "Story" } },
        { start_time: "1.400000", tags: { title: "Cold open" } },
        { start_time: "2.000000" },
      ],
    };
    const got = parseChapters(json).map((c) => [c.title, Number(c.startSecs.toFixed(6))]);
    expect(got).toEqual([
      ["Cold open", 0],
      ["", 0.6],
      ["Story", 2],
    ]);
    expect(parseChapters({ format: { start_time: "0.000000" }, chapters: [] })).toEqual([]);
  });

  it("cleans titles of control characters, cuts them to 200 characters, keeps at most 1,000 and drops bad starts", () => {
    expect(cleanChapters([{ title: "A\u0000b\nc\u001b[31m\u0085", startSecs: 1 }])).toEqual([
      { title: "A b c [31m", startSecs: 1 },
    ]);
    const long = cleanChapters([{ title: "é".repeat(500), startSecs: 0 }]);
    expect(Array.from(long[0]?.title ?? "")).toHaveLength(MAX_CHAPTER_TITLE);
    const many = Array.from({ length: 1500 }, (_, i) => ({ title: `c${i}`, startSecs: i }));
    expect(cleanChapters(many)).toHaveLength(MAX_SOURCE_CHAPTERS);
    const bad = [{ title: "x", startSecs: -1 }, { title: "y", startSecs: "nope" }, null, { title: "z", startSecs: 2 }];
    expect(cleanChapters(bad)).toEqual([{ title: "z", startSecs: 2 }]);
  });

  it("asks ffprobe for chapters with the safe input options, and fails with REEL_MEDIA_INVALID when it cannot", async () => {
    const seen: string[][] = [];
    const ok: CommandRunner = async (_cmd, args) => {
      seen.push([...args]);
      return {
        code: 0,
        signal: null,
        timedOut: false,
        stdout: '{"chapters":[{"start_time":"0.5","tags":{"title":"One"}}]}',
        stderr: "",
      };
    };
    expect(await probeChapters("/tmp/x.mkv", { runner: ok })).toEqual([{ title: "One", startSecs: 0.5 }]);
    expect(seen[0]).toEqual(
      expect.arrayContaining(["-show_chapters", "-protocol_whitelist", "file", "file:/tmp/x.mkv"]),
    );
    const fail: CommandRunner = async () => ({ code: 1, signal: null, timedOut: false, stdout: "", stderr: "bad" });
    await expect(probeChapters("/tmp/x.mkv", { runner: fail })).rejects.toMatchObject({ code: "REEL_MEDIA_INVALID" });
  });
});
