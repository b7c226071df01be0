import type { ReelError } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { subtitlePart } from "../ffmpeg/args.ts";
import { burnFilter, chooseBurnIn } from "./burn.ts";
import { joinVttSegments } from "./hls.ts";
import { cleanSidecar, sidecarFormat, sidecarInputArgs } from "./sidecar.ts";
import { chooseSubtitleTracks, mergeSubtitleChoices, subtitleArgs } from "./tracks.ts";
import { safeCueText, safeWebVtt } from "./webvtt.ts";

const srt = { index: 2, codec: "subrip", language: "eng" };
const ass = { index: 3, codec: "ass", language: "jpn" };
const pgs = { index: 4, codec: "hdmv_pgs_subtitle", language: "eng" };
const untagged = { index: 5, codec: "webvtt" };

describe("chooseSubtitleTracks", () => {
  it("keeps none when the job asks for no subtitles", () => {
    expect(chooseSubtitleTracks([srt], [], undefined)).toBeUndefined();
  });

  it("keeps one text track per language the source has, untagged as und, and reports image tracks dropped", () => {
    const r = chooseSubtitleTracks([srt, ass, pgs, untagged], [], {});
    expect(r?.tracks).toEqual([
      { stream: 2, language: "eng" },
      { stream: 3, language: "jpn" },
      { stream: 5, language: "und" },
    ]);
    expect(r?.dropped).toEqual([
      {
        code: "REEL_SUBTITLES_DROPPED",
        message:
          "the eng subtitle track (stream 4) is hdmv_pgs_subtitle, an image format that mov_text cannot hold: dropped",
        stream: 4,
      },
    ]);
  });

  it("keeps the job's languages in its order, a sidecar before the source's own track", () => {
    const r = chooseSubtitleTracks([srt, ass], [{ language: "fra" }, { language: "eng" }], {
      languages: ["jpn", "eng", "fra", "deu"],
    });
    expect(r?.tracks).toEqual([
      { stream: 3, language: "jpn" },
      { sidecar: 1, stream: 0, language: "eng" },
      { sidecar: 0, stream: 0, language: "fra" },
    ]);
  });

  it("reports only the image tracks of the languages asked for", () => {
    expect(chooseSubtitleTracks([pgs], [], { languages: ["jpn"] })?.dropped).toEqual([]);
  });
});

describe("subtitle arguments", () => {
  it("maps source streams and sidecar inputs as mov_text with languages and no disposition", () => {
    const r = subtitleArgs(
      [
        { stream: 3, language: "jpn" },
        { sidecar: 0, stream: 0, language: "eng" },
      ],
      2,
    );
    expect(r.maps).toEqual(["-map", "0:3", "-map", "2:0"]);
    expect(r.outputs).toEqual([
      ...["-c:s", "mov_text", "-metadata:s:s:0", "language=jpn", "-disposition:s:0", "0"],
      ...["-metadata:s:s:1", "language=eng", "-disposition:s:1", "0"],
    ]);
  });

  it("opens only the sidecars a track uses, each pinned to its format and local files", () => {
    const sidecars = [
      { path: "/w/subtitles-0", format: "srt" as const, language: "fra" },
      { path: "/w/subtitles-1", format: "ass" as const, language: "eng" },
    ];
    const r = subtitlePart({ tracks: [{ sidecar: 1, stream: 0, language: "eng" }], sidecars }, 1);
    expect(r.inputs).toEqual(sidecarInputArgs(sidecars[1] as (typeof sidecars)[number]));
    expect(r.inputs).toEqual([
      "-protocol_whitelist",
      "file",
      "-format_whitelist",
      "ass",
      "-f",
      "ass",
      "-i",
      "file:/w/subtitles-1",
    ]);
    expect(r.maps).toEqual(["-map", "1:0"]);
  });

  it("gives the merge the job's subtitle languages", () => {
    expect(mergeSubtitleChoices({ languages: ["eng"] })).toEqual({
      subtitleTracks: [{ language: "eng", default: false }],
    });
    expect(mergeSubtitleChoices({})).toBeUndefined();
  });

  it("marks only subtitles.default default in the merge", () => {
    expect(mergeSubtitleChoices({ languages: ["eng", "jpn"], default: "jpn" })).toEqual({
      subtitleTracks: [
        { language: "eng", default: false },
        { language: "jpn", default: true },
      ],
    });
  });
});

describe("sidecar files", () => {
  it("tells the format from the content, not the name", () => {
    expect(sidecarFormat("\uFEFFWEBVTT\n\n00:01.000 --> 00:02.000\nhi\n")).toBe("webvtt");
    expect(sidecarFormat("[Script Info]\nScriptType: v4.00+\n")).toBe("ass");
    expect(sidecarFormat("1\r\n00:00:01,000 --> 00:00:02,000\r\nhi\r\n")).toBe("srt");
    let err: unknown;
    try {
      sidecarFormat("#EXTM3U\n#EXT-X-TARGETDURATION:10\nfile:///etc/passwd\n");
    } catch (e) {
      err = e;
    }
    expect((err as ReelError).code).toBe("REEL_MEDIA_INVALID");
  });

  it("removes ASS embedded fonts and graphics, keeping the other sections", () => {
    const text = [
      "[Script Info]",
      "Title: x",
      "[Fonts]",
      "fontname: evil.ttf",
      "M3'V9G!A",
      "[V4+ Styles]",
      "Style: Default,Arial,20",
      "[Graphics]",
      "filename: a.png",
      "[Events]",
      "Dialogue: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,hello",
    ].join("\r\n");
    const out = cleanSidecar(text, "ass");
    expect(out).not.toMatch(/Fonts|evil|M3'V9G|Graphics|a\.png/);
    expect(out).toContain("[V4+ Styles]\nStyle: Default,Arial,20\n[Events]\nDialogue: 0,0:00:02.00");
  });

  it("removes WebVTT STYLE, REGION and NOTE blocks", () => {
    const text =
      "WEBVTT\n\nSTYLE\n::cue { background: url(http://evil.example/x) }\n\nNOTE tracking\n\n00:01.000 --> 00:02.000\nhi\n";
    expect(cleanSidecar(text, "webvtt")).toBe("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n");
  });
});

describe("WebVTT beside the output", () => {
  it("keeps <b> <i> <u> and escapes every other tag, stray < > & and the cue arrow", () => {
    expect(safeCueText("a < b & c <script>x</script> <B>bold</B> &amp; --> z")).toBe(
      "a &lt; b &amp; c &lt;script&gt;x&lt;/script&gt; <b>bold</b> &amp; --&gt; z",
    );
    expect(safeCueText('<img src="http://evil.example/">')).toBe('&lt;img src="http://evil.example/"&gt;');
  });

  it("rebuilds a file cue by cue: times without settings, no identifiers, styles or notes", () => {
    const text =
      "WEBVTT\n\nSTYLE\n::cue { color: red }\n\nid-1\n00:02.000 --> 00:03.500 position:10%\n<c.red>hi</c>\nline 2\n\nNOTE x\n\n01:00:02.000 --> 01:00:03.000\nlate\n";
    expect(safeWebVtt(text)).toBe(
      "WEBVTT\n\n00:02.000 --> 00:03.500\n&lt;c.red&gt;hi&lt;/c&gt;\nline 2\n\n01:00:02.000 --> 01:00:03.000\nlate\n\n",
    );
  });
});

describe("burn-in", () => {
  const sidecar = { path: "/w/subtitles-0", format: "srt" as const, language: "jpn" };

  it("draws the language's sidecar first, else the source's text track of it", () => {
    expect(chooseBurnIn([srt], [sidecar], { burnIn: "jpn" })).toEqual({ kind: "sidecar", file: sidecar });
    expect(chooseBurnIn([pgs, srt], [sidecar], { burnIn: "eng" })).toEqual({ kind: "track", stream: 2 });
    expect(chooseBurnIn([srt], [], {})).toBeUndefined();
  });

  it("lays image subtitles over the picture when the language has no text ones, else says why nothing is drawn", () => {
    expect(chooseBurnIn([pgs], [], { burnIn: "eng" })).toEqual({ kind: "image", stream: 4 });
    expect(chooseBurnIn([srt], [], { burnIn: "fra" })).toMatchObject({
      kind: "none",
      warning: { code: "REEL_SUBTITLES_DROPPED", message: "no fra subtitles to burn in: not drawn" },
    });
  });

  it("refuses a path the filter graph would read as syntax", () => {
    expect(burnFilter("/tmp/reel-x/ep0/burn-in.ass")).toBe("subtitles=filename=/tmp/reel-x/ep0/burn-in.ass");
    expect(() => burnFilter("/tmp/a:b,c/burn-in.ass")).toThrow(/plain characters/);
  });
});

describe("HLS WebVTT segments", () => {
  it("places each segment's cues by its X-TIMESTAMP-MAP on the video's clock, once each, text made safe", () => {
    const map = "X-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000";
    const text = [
      `WEBVTT\n${map}\n\n00:00:01.000 --> 00:00:02.500\nspans <script>x</script>\n`,
      `WEBVTT\n${map}\n\n00:00:01.000 --> 00:00:02.500\nspans <script>x</script>\n\n00:00:03.000 --> 00:00:03.500\nthree\n`,
    ].join("");
    // MPEG-TS 900000 is 10 s; the video starts at 10 s, so cue 1.0 s is at 1.0 s.
    expect(joinVttSegments(text, 10)).toBe(
      "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nspans &lt;script&gt;x&lt;/script&gt;\n\n00:00:03.000 --> 00:00:03.500\nthree\n\n",
    );
    expect(joinVttSegments(text, 9.5)).toContain("00:00:01.500 --> 00:00:03.000");
  });

  it("keeps a segment without a map on the video's clock", () => {
    expect(joinVttSegments("WEBVTT\n\n00:02.024 --> 00:02.824\nAt two\n", 1.4)).toBe(
      "WEBVTT\n\n00:00:02.024 --> 00:00:02.824\nAt two\n\n",
    );
  });
});
