// Test sources for the fidelity tests, made with ffmpeg (real conversions, not only tags), and the
// measurements taken on outputs: ffprobe tags, ebur128, idet and signalstats. Used by tests only.
import { execCommand } from "./exec.ts";

// A soft moving picture: testsrc2's pixel-sharp detail makes idet call progressive frames
// interlaced; a camera-like blur keeps idet honest on both progressive and interlaced material.
const picture = (w: number, h: number, fps: number, secs: number) =>
  `testsrc2=size=${w}x${h}:rate=${fps}:duration=${secs},gblur=sigma=2`;

export type Sound =
  | { kind: "none" }
  /** A sine at `volume` (linear amplitude), in this many channels. */
  | { kind: "sine"; volume: number; channels: 1 | 2 | 6; rate?: number }
  /** Pink noise raised by `gainDb` and clipped: a loud master with peaks at full scale. */
  | { kind: "noise"; gainDb: number }
  /** A quiet sine with a loud click every second: needs more gain than its peaks allow. */
  | { kind: "clicks" };

export interface SourceSpec {
  /** What the picture is: plain BT.709, PQ BT.2020 10-bit (HEVC), interlaced, full range, BT.601 SD. */
  picture:
    | "bt709"
    | "pq"
    | "hlg"
    | "interlaced"
    | "interlaced-untagged"
    | "telecine-untagged"
    | "progressive-untagged"
    | "full"
    | "bt601";
  sound: Sound;
  secs?: number;
  width?: number;
  height?: number;
  /** Keyframe every this many frames (x264 sources), so that a segmented encode has several segments. */
  gop?: number;
  /** PQ/HLG sources: HDR10 metadata in the stream (a 4000 cd/m² display, MaxCLL 2000, MaxFALL 500). */
  hdr10?: boolean;
}

const hdr10Params =
  "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50):max-cll=2000,500";

const bt709 = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"];

function videoArgs(s: SourceSpec, w: number, h: number, secs: number): string[] {
  const to709 = "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p";
  const x264 = ["-c:v", "libx264", "-preset", "ultrafast"];
  switch (s.picture) {
    case "bt709":
      return ["-f", "lavfi", "-i", picture(w, h, 25, secs), "-vf", to709, ...x264, ...bt709];
    case "pq":
    case "hlg": {
      // The SDR picture converted for real: BT.709 to BT.2020 primaries, white at 1000 cd/m² in PQ
      // (or HLG), 10-bit; a player reading it as SDR sees it washed out.
      const t = s.picture === "pq" ? "smpte2084" : "arib-std-b67";
      const conv = `${to709},zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=${t}:m=2020_ncl:p=2020:r=tv:npl=1000,format=yuv420p10le`;
      return ["-f", "lavfi", "-i", picture(w, h, 25, secs), "-vf", conv, "-c:v", "libx265", "-preset", "ultrafast"]
        .concat(["-x265-params", `log-level=error${s.hdr10 ? `:hdr10=1:${hdr10Params}` : ""}`])
        .concat(["-color_primaries", "bt2020", "-color_trc", t])
        .concat(["-colorspace", "bt2020nc"]);
    }
    case "interlaced":
      // 50p motion woven into 25i fields, coded interlaced: the probe reports the field order.
      return ["-f", "lavfi", "-i", picture(w, h, 50, secs), "-vf", `interlace=scan=tff:lowpass=0,${to709}`].concat([
        ...x264,
        "-flags",
        "+ildct+ilme",
        "-field_order",
        "tt",
        ...bt709,
      ]);
    case "interlaced-untagged":
      // Woven fields coded as MPEG-4 frames in AVI: no field order anywhere, idet has to find it.
      return [
        "-f",
        "lavfi",
        "-i",
        picture(w, h, 50, secs),
        "-vf",
        "interlace=scan=tff:lowpass=0,format=yuv420p",
      ].concat(["-c:v", "mpeg4", "-q:v", "2"]);
    case "telecine-untagged":
      // 23.976p film with 3:2 pulldown to 29.97i (2 combed frames in 5), no field order anywhere.
      return [
        "-f",
        "lavfi",
        "-i",
        picture(w, h, 24000 / 1001, secs),
        "-vf",
        "telecine=pattern=23,format=yuv420p",
      ].concat(["-c:v", "mpeg4", "-q:v", "2"]);
    case "progressive-untagged":
      return ["-f", "lavfi", "-i", picture(w, h, 25, secs), "-vf", "format=yuv420p", "-c:v", "mpeg4", "-q:v", "2"];
    case "full":
      // A plain white-and-red picture in full range (Y 255 for white), tagged so.
      return ["-f", "lavfi", "-i", `color=c=white:size=${w}x${h}:rate=25:duration=${secs}`]
        .concat(["-vf", "drawbox=x=0:y=0:w=iw/2:h=ih:color=red:t=fill,scale=out_color_matrix=bt709:out_range=pc"])
        .concat(["-pix_fmt", "yuvj420p", ...x264, ...bt709, "-color_range", "pc"]);
    case "bt601":
      // A red picture with BT.601 coefficients (Y 81): a BT.709 output must recompute it (Y 63).
      return ["-f", "lavfi", "-i", `color=c=red:size=${w}x${h}:rate=25:duration=${secs}`]
        .concat(["-vf", "scale=out_color_matrix=bt601:out_range=tv,format=yuv420p", ...x264])
        .concat(["-color_primaries", "smpte170m", "-color_trc", "smpte170m", "-colorspace", "smpte170m"]);
  }
}

function audioArgs(s: Sound, secs: number): string[] {
  switch (s.kind) {
    case "none":
      return [];
    case "sine": {
      const src = `sine=frequency=440:sample_rate=${s.rate ?? 48000}:duration=${secs},volume=${s.volume}`;
      const layout = { 1: "mono", 2: "stereo", 6: "5.1" }[s.channels];
      return ["-f", "lavfi", "-i", `${src},aformat=channel_layouts=${layout}`];
    }
    case "noise":
      return [
        "-f",
        "lavfi",
        "-i",
        `anoisesrc=color=pink:amplitude=0.5:sample_rate=48000:duration=${secs},volume=${s.gainDb}dB,alimiter=limit=1:level=false`,
      ];
    case "clicks":
      return ["-f", "lavfi", "-i", `aevalsrc='0.05*sin(2*PI*440*t)+if(lt(mod(t,1),0.0002),0.9,0)':s=48000:d=${secs}`];
  }
}

/** Writes the source to `path` (.mp4, or .avi for the untagged-scan cases). */
export async function makeSource(path: string, s: SourceSpec): Promise<void> {
  const secs = s.secs ?? 2;
  const { width = 320, height = 240 } = s;
  const args = ["-nostdin", "-hide_banner", "-v", "error", "-y", ...videoArgs(s, width, height, secs)];
  const audio = audioArgs(s.sound, secs);
  if (audio.length) {
    // The audio input comes after the video's options: move the video input's own options first.
    const i = args.indexOf("-vf");
    args.splice(i, 0, ...audio);
    args.push("-map", "0:v", "-map", "1:a", "-c:a", path.endsWith(".avi") ? "pcm_s16le" : "aac", "-b:a", "192k");
  }
  if (s.gop) args.push("-g", String(s.gop), "-keyint_min", String(s.gop), "-sc_threshold", "0");
  args.push("-shortest", path);
  const r = await execCommand("ffmpeg", args);
  if (r.code !== 0) throw new Error(`makeSource ${s.picture} failed: ${r.stderr}`);
}

export interface OutputFacts {
  pixFmt?: string;
  primaries?: string;
  transfer?: string;
  matrix?: string;
  range?: string;
  fieldOrder?: string;
  channels?: number;
  sampleRate?: number;
}

export async function outputFacts(path: string): Promise<OutputFacts> {
  const r = await execCommand("ffprobe", ["-v", "error", "-show_streams", "-of", "json", path]);
  const streams = (JSON.parse(r.stdout).streams ?? []) as Record<string, string | number>[];
  const v = streams.find((s) => s.codec_type === "video") ?? {};
  const a = streams.find((s) => s.codec_type === "audio");
  return {
    pixFmt: v.pix_fmt as string,
    primaries: v.color_primaries as string,
    transfer: v.color_transfer as string,
    matrix: v.color_space as string,
    range: v.color_range as string,
    fieldOrder: v.field_order as string,
    ...(a ? { channels: Number(a.channels), sampleRate: Number(a.sample_rate) } : {}),
  };
}

/** Integrated loudness (LUFS) and true peak (dBTP) of the audio between `from` and `from + secs`. */
export async function loudnessOf(
  path: string,
  from = 0,
  secs?: number,
): Promise<{ integrated: number; truePeak: number }> {
  const range = [...(from > 0 ? ["-ss", String(from)] : []), ...(secs ? ["-t", String(secs)] : [])];
  const r = await execCommand(
    "ffmpeg",
    ["-nostdin", "-hide_banner", ...range, "-i", path].concat([
      "-vn",
      "-af",
      "ebur128=framelog=verbose:peak=true",
      "-f",
      "null",
      "-",
    ]),
  );
  const s = r.stderr.slice(r.stderr.lastIndexOf("Summary:"));
  return {
    integrated: Number(/I:\s*(-?[\d.]+) LUFS/.exec(s)?.[1]),
    truePeak: Number(/Peak:\s*(-?[\d.]+|-inf) dBFS/.exec(s)?.[1]),
  };
}

/** idet's multi-frame counts over the whole video. */
export async function idetOf(path: string): Promise<{ interlaced: number; progressive: number }> {
  const r = await execCommand("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-i",
    path,
    "-an",
    "-vf",
    "idet",
    "-f",
    "null",
    "-",
  ]);
  const m = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)/.exec(r.stderr);
  if (!m) throw new Error(`idet printed nothing: ${r.stderr.slice(-400)}`);
  return { interlaced: Number(m[1]) + Number(m[2]), progressive: Number(m[3]) };
}

/** Mean luma (YAVG), saturation (SATAVG) and luma extremes over the frames after `filters`. */
export async function pictureStats(
  path: string,
  filters = "",
): Promise<{ yavg: number; satavg: number; ymin: number; ymax: number }> {
  const vf = `${filters ? `${filters},` : ""}signalstats,metadata=print:file=-`;
  const r = await execCommand("ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-an", "-vf", vf, "-f", "null", "-"]);
  const values = (key: string) =>
    [...r.stdout.matchAll(new RegExp(`lavfi\\.signalstats\\.${key}=(-?[\\d.]+)`, "g"))].map((m) => Number(m[1]));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    yavg: mean(values("YAVG")),
    satavg: mean(values("SATAVG")),
    ymin: Math.min(...values("YMIN")),
    ymax: Math.max(...values("YMAX")),
  };
}
