import { describe, expect, it } from "vitest";
import { parsePacketCsv } from "./frames.ts";
import { defaultMediaLimits } from "./limits.ts";
import { parseProbe, ratio, rotationOf } from "./parse.ts";

const video = {
  index: 0,
  codec_type: "video",
  codec_name: "h264",
  width: 1920,
  height: 1080,
  avg_frame_rate: "30000/1001",
};
const fmt = { format_name: "matroska,webm", duration: "60.0", start_time: "0.000000" };

describe("parseProbe", () => {
  it("skips cover art and reads 10-bit from the pixel format", () => {
    const p = parseProbe(
      {
        format: fmt,
        streams: [
          {
            index: 0,
            codec_type: "video",
            codec_name: "mjpeg",
            width: 600,
            height: 600,
            disposition: { attached_pic: 1 },
          },
          { ...video, index: 1, codec_name: "hevc", pix_fmt: "yuv420p10le", sample_aspect_ratio: "0:1" },
        ],
      },
      defaultMediaLimits,
    );
    expect(p.demuxer).toBe("matroska");
    expect(p.video).toMatchObject({ index: 1, codec: "hevc", bitDepth: 10, sar: 1 });
    expect(p.video.fps).toBeCloseTo(29.97, 2);
    expect(p.hasAudio).toBe(false);
    expect(p.streamCounts).toMatchObject({ video: 2, total: 2 });
  });

  it("takes the length from the kept streams, not a movie header that claims 11 h", () => {
    const audio = { index: 1, codec_type: "audio", codec_name: "aac", duration: "3.02" };
    const claims = { ...fmt, format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "39600.0" };
    const p = parseProbe({ format: claims, streams: [{ ...video, duration: "3.0" }, audio] }, defaultMediaLimits);
    expect(p.durationSecs).toBeCloseTo(3.02, 5);
    // Matroska streams carry no duration: the container's is the only one there is.
    expect(parseProbe({ format: fmt, streams: [video] }, defaultMediaLimits).durationSecs).toBe(60);
  });

  const refusals: Array<{ name: string; raw: unknown; want: RegExp }> = [
    { name: "no format at all", raw: {}, want: /no container format/ },
    {
      name: "an image sequence format",
      raw: { format: { format_name: "image2" }, streams: [video] },
      want: /not accepted/,
    },
    { name: "hls", raw: { format: { format_name: "hls" }, streams: [video] }, want: /not accepted/ },
    { name: "zero duration", raw: { format: { ...fmt, duration: "0" }, streams: [video] }, want: /zero duration/ },
    { name: "no picture size", raw: { format: fmt, streams: [{ ...video, width: 0 }] }, want: /no picture size/ },
    { name: "8K+ width", raw: { format: fmt, streams: [{ ...video, width: 8200 }] }, want: /exceeds 8192x8192/ },
    {
      name: "13 hours",
      raw: { format: { ...fmt, duration: String(13 * 3600) }, streams: [video] },
      want: /exceeds 43200 s/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}`, () => expect(() => parseProbe(r.raw, defaultMediaLimits)).toThrow(r.want));
  }
});

describe("a turned picture (display matrix)", () => {
  const turned = (rotation: unknown, sar = "1:1") => ({
    ...video,
    sample_aspect_ratio: sar,
    side_data_list: [{ side_data_type: "Display Matrix", displaymatrix: "…", rotation }],
  });

  it.each([
    [-90, 90],
    [90, 270],
    [180, 180],
    [-180, 180],
    [270, 90],
    [-270, 270],
    [0, 0],
    [-89.9, 90],
    ["-90", 90],
    ["nan", 0],
  ])("ffprobe's rotation %s is a clockwise turn of %i", (ccw, cw) => {
    expect(rotationOf(turned(ccw))).toBe(cw);
  });

  it("no display matrix, or other side data only: no turn", () => {
    expect(rotationOf({ ...video, side_data_list: [] })).toBe(0);
    expect(rotationOf({})).toBe(0);
    expect(rotationOf({ side_data_list: [{ side_data_type: "Content light level metadata" }] })).toBe(0);
  });

  it("a quarter turn swaps the size and inverts the pixel shape; a half turn keeps both", () => {
    const q = parseProbe({ format: fmt, streams: [turned(-90, "4:3")] }, defaultMediaLimits);
    expect(q.video).toMatchObject({ width: 1080, height: 1920, rotation: 90 });
    expect(q.video.sar).toBeCloseTo(3 / 4, 6);
    const h = parseProbe({ format: fmt, streams: [turned(180, "4:3")] }, defaultMediaLimits);
    expect(h.video).toMatchObject({ width: 1920, height: 1080, rotation: 180 });
    expect(h.video.sar).toBeCloseTo(4 / 3, 6);
  });
});

describe("ratio", () => {
  it("parses frame rates and aspect ratios, undefined for 0/0", () => {
    expect(ratio("25/1")).toBe(25);
    expect(ratio("64:45", ":")).toBeCloseTo(1.4222, 3);
    expect(ratio("0/0")).toBeUndefined();
    expect(ratio(undefined)).toBeUndefined();
  });
});

describe("parsePacketCsv", () => {
  it("sorts decode-order packets into presentation order and keeps keyframes", () => {
    const csv = "0.000000,K__\n0.120000,___\n0.040000,___\n0.080000,___\nN/A,___\n0.160000,K__\n";
    expect(parsePacketCsv(csv)).toEqual({ pts: [0, 0.04, 0.08, 0.12, 0.16], keyframes: [0, 0.16] });
  });
});
