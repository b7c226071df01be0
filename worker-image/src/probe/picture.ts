// What ffprobe says of a video stream's colour and scan: primaries, transfer, matrix, range, field
// order and HDR10 light levels. Pure; parse.ts calls it on the stream it keeps.

export interface PictureTags {
  /** ffprobe's names: bt709, bt2020, smpte170m, bt470bg, ... (undefined when untagged). */
  primaries?: string;
  transfer?: string;
  matrix?: string;
  /** "tv" (limited) or "pc" (full); undefined when untagged. */
  range?: "tv" | "pc";
  /** ffprobe's field_order: progressive, tt, bb, tb, bt; undefined when unknown. */
  fieldOrder?: string;
  /** HDR10 mastering display peak in cd/m² (stream side data), when present. */
  masteringPeakNits?: number;
  /** HDR10 MaxCLL in cd/m², when present. */
  maxCll?: number;
  /** HDR10 MaxFALL in cd/m², when present. */
  maxFall?: number;
  /** The whole mastering display (chromaticities as CIE xy, luminance in cd/m²), when present. */
  mastering?: MasteringDisplay;
}

export interface MasteringDisplay {
  red: [number, number];
  green: [number, number];
  blue: [number, number];
  whitePoint: [number, number];
  maxNits: number;
  minNits: number;
}

function masteringOf(sd: Record<string, unknown>): MasteringDisplay | undefined {
  const xy = (c: string): [number, number] | undefined => {
    const x = rational(sd[`${c}_x`]);
    const y = rational(sd[`${c}_y`]);
    return x !== undefined && y !== undefined ? [x, y] : undefined;
  };
  const [red, green, blue, whitePoint] = [xy("red"), xy("green"), xy("blue"), xy("white_point")];
  const maxNits = rational(sd.max_luminance);
  if (!red || !green || !blue || !whitePoint || !maxNits) return undefined;
  return { red, green, blue, whitePoint, maxNits, minNits: rational(sd.min_luminance) ?? 0 };
}

export interface RawPictureStream {
  pix_fmt?: string;
  color_range?: string;
  color_space?: string;
  color_transfer?: string;
  color_primaries?: string;
  field_order?: string;
  side_data_list?: Array<Record<string, unknown>>;
}

const known = (v: string | undefined) => (v && v !== "unknown" && v !== "unspecified" ? v : undefined);

/** "10000000/10000" (ffprobe's rational luminance) -> 1000. */
function rational(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const [a, b = "1"] = v.split("/");
  const n = Number(a) / Number(b);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function readPictureTags(s: RawPictureStream): PictureTags {
  const tags: PictureTags = {};
  const set = <K extends keyof PictureTags>(k: K, v: PictureTags[K] | undefined) => {
    if (v !== undefined) tags[k] = v;
  };
  set("primaries", known(s.color_primaries));
  set("transfer", known(s.color_transfer));
  set("matrix", known(s.color_space));
  // yuvj* formats are full range whatever the tag says (JPEG-style decoders).
  const range = s.pix_fmt?.startsWith("yuvj") ? "pc" : known(s.color_range);
  set("range", range === "pc" || range === "tv" ? range : undefined);
  set("fieldOrder", known(s.field_order));
  for (const sd of s.side_data_list ?? []) {
    if (sd.side_data_type === "Mastering display metadata") {
      set("masteringPeakNits", rational(sd.max_luminance));
      set("mastering", masteringOf(sd));
    }
    if (sd.side_data_type === "Content light level metadata") {
      const cll = rational(sd.max_content);
      if (cll) set("maxCll", cll);
      const fall = rational(sd.max_average);
      if (fall) set("maxFall", fall);
    }
  }
  return tags;
}
