import { describe, expect, it } from "vitest";
import { audioArgs, seconds, type TranscodeOptions, transcodeArgs } from "./args.ts";
import { hwPipeline } from "./hwargs.ts";

// Every output is tagged BT.709 limited progressive, on its frames and in the encoder's VUI.
const TAGS = "setparams=field_mode=prog:range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709";
const COLOUR = [
  "-color_primaries",
  "bt709",
  "-color_trc",
  "bt709",
  "-colorspace",
  "bt709",
  "-color_range",
  "tv",
  "-chroma_sample_location",
  "left",
];
const LAYOUT = "aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo";

const source = { demuxer: "mov", width: 1920, height: 1080, videoCodec: "h264", hasAudio: true };
const base: TranscodeOptions = {
  input: "/in/src.mp4",
  output: "/out/ep.mp4",
  source,
  quality: "720p",
  codec: "h264",
  preset: "balanced",
  level: 5,
  encoder: "cpu",
};

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("transcodeArgs", () => {
  it("builds a CPU transcode: safe input, scale, x264, AAC 48k stereo, clean MP4", () => {
    expect(transcodeArgs(base)).toEqual([
      "-y",
      "-protocol_whitelist",
      "file,pipe",
      "-format_whitelist",
      "mov,matroska,mpegts,avi,flv,mpeg,asf,ogg,mxf,dv,gxf,aac,ac3,eac3,mp3",
      "-probesize",
      "33554432",
      "-analyzeduration",
      "30000000",
      "-f",
      "mov",
      "-i",
      "file:/in/src.mp4",
      "-map",
      "0:v:0",
      "-map",
      "0:a:0",
      "-vf",
      `scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,${TAGS}`,
      "-c:v",
      "libx264",
      "-preset",
      "medium",
      "-crf",
      "26",
      "-maxrate",
      "5000k",
      "-bufsize",
      "10000k",
      "-fps_mode",
      "passthrough",
      ...COLOUR,
      "-af",
      LAYOUT,
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      "-ar",
      "48000",
      "-ac",
      "2",
      "-map_metadata",
      "-1",
      "-map_chapters",
      "-1",
      "-movflags",
      "+faststart",
      "-f",
      "mp4",
      "file:/out/ep.mp4",
    ]);
  });

  it("drops audio when the source has none", () => {
    const args = transcodeArgs({ ...base, source: { ...source, hasAudio: false } });
    expect(args).toContain("-an");
    expect(args).not.toContain("0:a:0");
  });

  it("seeks before the input and writes an exact frame count for a segment", () => {
    const args = transcodeArgs({ ...base, audio: { mode: "none" }, range: { startSecs: 12.04, frames: 250 } });
    expect(args.indexOf("-ss")).toBeLessThan(args.indexOf("-i"));
    expect(after(args, "-ss")).toBe("12.040000");
    expect(after(args, "-frames:v")).toBe("250");
  });

  it("fixes the GOP and turns scene-cut keyframes off when asked", () => {
    const args = transcodeArgs({ ...base, keyframeIntervalFrames: 50, threads: 2 });
    expect([after(args, "-g"), after(args, "-keyint_min"), after(args, "-sc_threshold")]).toEqual(["50", "50", "0"]);
    expect(after(args, "-threads")).toBe("2");
  });

  it("a turned source (display matrix) is decoded on the CPU, where ffmpeg turns it, and scaled as shown", () => {
    const portrait = { ...source, width: 1080, height: 1920, rotation: 90 };
    const args = transcodeArgs({ ...base, source: portrait, encoder: "cpu", hwDecode: "cuda" });
    expect(args).not.toContain("-hwaccel");
    expect(args).not.toContain("-noautorotate");
    expect(after(args, "-vf")).toMatch(/^scale=720:1280:/);
    const unturned = transcodeArgs({ ...base, encoder: "cpu", hwDecode: "cuda" });
    expect(unturned).toContain("-hwaccel");
  });

  it("tags HEVC as hvc1 and adds bitexact flags on request", () => {
    const args = transcodeArgs({ ...base, codec: "hevc", bitexact: true });
    expect(after(args, "-tag:v")).toBe("hvc1");
    expect(after(args, "-fflags")).toBe("+bitexact");
  });

  const vendorCases: Array<{
    name: string;
    opts: Partial<TranscodeOptions>;
    encoder: string;
    beforeInput: string[];
    vf: string;
  }> = [
    {
      name: "NVIDIA: CUDA decode, scale_cuda, h264_nvenc",
      opts: { encoder: "nvenc", hwDecode: "cuda" },
      encoder: "h264_nvenc",
      beforeInput: ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"],
      vf: "scale_cuda=w=1280:h=720:format=nv12",
    },
    {
      name: "NVIDIA data centre (A100/H100/H200): NVDEC decode, CPU encode via hwdownload",
      opts: { encoder: "cpu", hwDecode: "cuda" },
      encoder: "libx264",
      beforeInput: ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"],
      vf: "scale_cuda=w=1280:h=720:format=nv12,hwdownload,format=nv12,setsar=1,format=yuv420p",
    },
    {
      name: "NVIDIA: CPU decode, hevc_nvenc",
      opts: { encoder: "nvenc", codec: "hevc" },
      encoder: "hevc_nvenc",
      beforeInput: [],
      vf: `scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,${TAGS}`,
    },
    {
      name: "AMD/Intel VAAPI: VAAPI decode, scale_vaapi, h264_vaapi",
      opts: { encoder: "vaapi", hwDecode: "vaapi" },
      encoder: "h264_vaapi",
      beforeInput: ["-hwaccel", "vaapi", "-hwaccel_device", "/dev/dri/renderD128", "-hwaccel_output_format", "vaapi"],
      vf: "scale_vaapi=w=1280:h=720:format=nv12",
    },
    {
      name: "VAAPI: CPU decode, hwupload to the render node",
      opts: { encoder: "vaapi", device: "/dev/dri/renderD129" },
      encoder: "h264_vaapi",
      beforeInput: ["-vaapi_device", "/dev/dri/renderD129"],
      vf: "format=nv12,hwupload,scale_vaapi=w=1280:h=720",
    },
    {
      name: "Intel QSV: QSV decode with the named decoder, scale_qsv, hevc_qsv",
      opts: { encoder: "qsv", hwDecode: "qsv", codec: "hevc" },
      encoder: "hevc_qsv",
      beforeInput: ["-init_hw_device", "qsv=qsv:hw_any,child_device=/dev/dri/renderD128"].concat([
        "-hwaccel",
        "qsv",
        "-hwaccel_output_format",
        "qsv",
        "-c:v",
        "h264_qsv",
      ]),
      vf: "scale_qsv=w=1280:h=720:format=nv12",
    },
    {
      name: "Intel QSV: CPU decode, hwupload",
      opts: { encoder: "qsv" },
      encoder: "h264_qsv",
      beforeInput: ["-init_hw_device", "qsv=qsv:hw_any,child_device=/dev/dri/renderD128"].concat([
        "-filter_hw_device",
        "qsv",
      ]),
      vf: "format=nv12,hwupload=extra_hw_frames=64,scale_qsv=w=1280:h=720",
    },
    {
      name: "Apple: VideoToolbox decode and h264_videotoolbox",
      opts: { encoder: "videotoolbox", hwDecode: "videotoolbox" },
      encoder: "h264_videotoolbox",
      beforeInput: ["-hwaccel", "videotoolbox"],
      vf: `scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,${TAGS}`,
    },
  ];
  for (const c of vendorCases) {
    it(c.name, () => {
      const args = transcodeArgs({ ...base, ...c.opts });
      expect(args.at(args.lastIndexOf("-c:v") + 1)).toBe(c.encoder);
      const firstSafety = args.indexOf("-protocol_whitelist");
      expect(args.slice(1, firstSafety)).toEqual(c.beforeInput);
      expect(after(args, "-vf")).toBe(c.vf);
    });
  }

  it("refuses a decode/encode pair that has no pipeline", () => {
    expect(() => transcodeArgs({ ...base, encoder: "nvenc", hwDecode: "vaapi" })).toThrow(/no pipeline/);
  });

  it("refuses QSV decode of a codec QSV cannot decode", () => {
    expect(() =>
      hwPipeline({
        hwDecode: "qsv",
        encoder: "qsv",
        width: 2,
        height: 2,
        sourceCodec: "prores",
        outputCodec: "h264",
      }),
    ).toThrow(/no QSV decoder/);
  });
});

describe("hdr: keep", () => {
  const picture = { output: "hdr10" as const };
  it("adds the HDR10 metadata to x265's one -x265-params and tags BT.2020 PQ", () => {
    const args = transcodeArgs({ ...base, codec: "hevc", picture });
    expect(args.filter((a) => a === "-x265-params")).toHaveLength(1);
    expect(after(args, "-x265-params")).toMatch(
      /^log-level=error:info=0:hdr10=1:master-display=G\(13250,34500\).*:max-cll=1000,400$/,
    );
    expect(after(args, "-color_trc")).toBe("smpte2084");
    expect(after(args, "-vf")).toContain("format=yuv420p10le");
  });

  it("gives SVT-AV1 its own -svtav1-params", () => {
    expect(after(transcodeArgs({ ...base, codec: "av1", picture }), "-svtav1-params")).toMatch(/^mastering-display=/);
  });

  it("refuses h264 and GPU encoders", () => {
    expect(() => transcodeArgs({ ...base, picture })).toThrow(/hevc or av1 on the CPU/);
    expect(() => transcodeArgs({ ...base, codec: "hevc", encoder: "nvenc", picture })).toThrow(/on the CPU/);
  });
});

describe("seconds", () => {
  it("floors to microseconds without float noise", () => {
    expect(seconds(0.04)).toBe("0.040000");
    expect(seconds(2)).toBe("2.000000");
    expect(seconds(1 / 3)).toBe("0.333333");
    expect(seconds(2 / 3)).toBe("0.666666");
  });
});

describe("audioArgs", () => {
  it("uses the ladder's bitrate unless told otherwise", () => {
    expect(audioArgs({ mode: "encode" }, "1080p")).toEqual([
      "-af",
      LAYOUT,
      "-c:a",
      "aac",
      "-b:a",
      "160k",
      "-ar",
      "48000",
      "-ac",
      "2",
    ]);
    expect(audioArgs({ mode: "encode", bitrateK: 64 }, "1080p")).toContain("64k");
  });
});

describe("canvas (normalising before a merge)", () => {
  const source = { demuxer: "mov", width: 640, height: 480, videoCodec: "h264", hasAudio: false };
  const base = {
    input: "/w/in.mp4",
    output: "/w/out.mp4",
    source,
    quality: "720p" as const,
    codec: "h264" as const,
    preset: "balanced" as const,
    level: 5,
    encoder: "cpu" as const,
  };

  it("fits, pads and sets the frame rate of the reference, instead of passing timestamps through", () => {
    const args = transcodeArgs({ ...base, canvas: { width: 1280, height: 720, fps: 25 } });
    expect(args[args.indexOf("-vf") + 1]).toBe(
      `scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,format=yuv420p,${TAGS}`,
    );
    expect(args).not.toContain("passthrough");
  });

  it("adds silent stereo audio from lavfi when asked and the source has none", () => {
    const args = transcodeArgs({ ...base, canvas: { width: 1280, height: 720, fps: 25 }, silentAudio: true });
    expect(args.join(" ")).toContain("-f lavfi -i anullsrc=r=48000:cl=stereo");
    expect(args.join(" ")).toContain("-map 1:a:0");
    expect(args).toContain("-shortest");
    const withAudio = transcodeArgs({ ...base, source: { ...source, hasAudio: true }, silentAudio: true });
    expect(withAudio.join(" ")).not.toContain("anullsrc");
    expect(withAudio.join(" ")).toContain("-map 0:a:0");
  });
});
