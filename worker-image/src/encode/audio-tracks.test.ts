import { ReelError } from "@reel/crds";
import { describe, expect, it } from "vitest";
import type { AudioTrackTags } from "../probe/parse.ts";
import {
  audioTagArgs,
  audioTrackArgs,
  chooseAudioTracks,
  type EncodeAudioTrack,
  mergeTrackChoices,
  sameLanguage,
  silenceWarnings,
  toIso6391,
  toIso6392,
} from "./audio-tracks.ts";

const track = (index: number, language?: string, ...dispositions: AudioTrackTags["dispositions"]) => ({
  index,
  ...(language ? { language } : {}),
  dispositions,
});

describe("chooseAudioTracks", () => {
  it("keeps today's first track when the job names no languages", () => {
    expect(chooseAudioTracks([track(1, "eng")], {})).toBeUndefined();
  });

  it("orders the tracks as the job asks, marking only the job's default", () => {
    const src = [track(1, "eng", "default"), track(2, "jpn")];
    expect(chooseAudioTracks(src, { languages: ["jpn", "eng"], default: "eng" })).toEqual([
      { source: 2, language: "jpn", dispositions: [] },
      { source: 1, language: "eng", dispositions: ["default"] },
    ]);
  });

  it("takes the main mix before commentary and keeps the commentary's own dispositions", () => {
    const src = [track(1, "eng", "comment"), track(2, "eng"), track(3, "jpn", "hearing_impaired")];
    expect(chooseAudioTracks(src, { languages: ["eng", "jpn"] })).toEqual([
      { source: 2, language: "eng", dispositions: ["default"] },
      { source: 3, language: "jpn", dispositions: ["hearing_impaired"] },
    ]);
  });

  it("matches ISO 639-2/B and 639-1 tags to the job's code", () => {
    expect(sameLanguage("ger", "deu")).toBe(true);
    expect(sameLanguage("ja", "jpn")).toBe(true);
    expect(sameLanguage("eng", "jpn")).toBe(false);
    expect(chooseAudioTracks([track(4, "ger")], { languages: ["deu"] })?.[0]?.source).toBe(4);
  });

  it("reads a site's language tags as ISO 639-2 and back", () => {
    expect(["en", "en-US", "pt_BR", "ger", "jpn", "x", "zz"].map(toIso6392)).toEqual([
      "eng",
      "eng",
      "por",
      "deu",
      "jpn",
      undefined,
      undefined,
    ]);
    expect(["eng", "deu", "ger", "tlh"].map(toIso6391)).toEqual(["en", "de", "de", undefined]);
  });

  it("gives a missing language silence by default", () => {
    expect(chooseAudioTracks([track(1, "eng")], { languages: ["jpn", "eng"] })).toEqual([
      { language: "jpn", dispositions: ["default"] },
      { source: 1, language: "eng", dispositions: [] },
    ]);
  });

  it("fails with REEL_AUDIO_LANGUAGE_MISSING naming the language when missing is fail", () => {
    let err: unknown;
    try {
      chooseAudioTracks([track(1, "eng"), track(2)], { languages: ["eng", "jpn"], missing: "fail" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReelError);
    expect((err as ReelError).code).toBe("REEL_AUDIO_LANGUAGE_MISSING");
    expect((err as ReelError).message).toContain("no jpn audio track (it has: eng, untagged)");
  });
});

describe("audio track arguments", () => {
  const tracks: EncodeAudioTrack[] = [
    { language: "jpn", dispositions: [], sound: { layout: "stereo" } },
    {
      source: 1,
      language: "eng",
      dispositions: ["default", "comment"],
      sound: {
        layout: "stereo",
        loudness: {
          method: "linear",
          gainDb: 6,
          input: { integrated: -22, threshold: -32, lra: 1, truePeak: -10 },
          target: { integrated: -16, truePeak: -1.5 },
        },
      },
    },
  ];

  it("maps silence from one bounded lavfi input and each source track by its stream index", () => {
    const r = audioTrackArgs(tracks, { durationSecs: 3, silentInput: 1, codec: ["-c:a", "aac"] });
    expect(r.inputs).toEqual(["-t", "3.000000", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]);
    expect(r.maps).toEqual(["-map", "1:a:0", "-map", "0:1"]);
    const filters = r.outputs.filter((_, i) => r.outputs[i - 1]?.startsWith("-filter:a:"));
    expect(filters[0]).not.toContain("volume=");
    // Each track its own gain; only the normalised one is metered.
    expect(filters[1]).toContain("volume=6dB");
    expect(filters[1]).toContain("ebur128");
    expect(filters[0]).not.toContain("ebur128");
  });

  it("names each language filled with silence", () => {
    expect(silenceWarnings(tracks)).toEqual([
      {
        code: "REEL_AUDIO_LANGUAGE_MISSING",
        message: "the source has no jpn audio track: a silent one stands in (audio.missing: silence)",
      },
    ]);
  });

  it("tags every track's language and sets or clears its dispositions", () => {
    expect(audioTagArgs(tracks)).toEqual([
      ...["-metadata:s:a:0", "language=jpn", "-disposition:a:0", "0"],
      ...["-metadata:s:a:1", "language=eng", "-disposition:a:1", "default+comment"],
    ]);
  });

  it("gives the merge the job's order with its default", () => {
    expect(mergeTrackChoices({ languages: ["jpn", "eng"], default: "eng" })).toEqual({
      audioTracks: [
        { language: "jpn", default: false },
        { language: "eng", default: true },
      ],
    });
    expect(mergeTrackChoices({})).toBeUndefined();
  });
});
