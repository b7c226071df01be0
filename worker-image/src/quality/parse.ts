// Reads the summary lines ffmpeg's ssim, psnr and libvmaf filters print to stderr at the end.

/**
 * `[Parsed_ssim_4 @ 0x..] SSIM Y:0.995 (23.0) U:0.99 (20.0) V:0.99 (20.0) All:0.993 (21.5)` -> 0.995.
 * The luma figure: it is what x264 and x265 report of their own encodes (encoder-stats.ts), so
 * a score means the same whichever way it was measured.
 */
export function parseSsim(stderr: string): number | undefined {
  const m = /SSIM Y:([0-9.]+)/.exec(stderr);
  return m?.[1] ? Number.parseFloat(m[1]) : undefined;
}

/** `PSNR y:41.2 u:44.0 v:44.1 average:42.0 min:39.9 max:45.1` -> 42.0; identical pictures print inf. */
export function parsePsnr(stderr: string): number | undefined {
  const m = /PSNR y:.*average:(inf|[0-9.]+)/.exec(stderr);
  if (!m?.[1]) return undefined;
  return m[1] === "inf" ? Number.POSITIVE_INFINITY : Number.parseFloat(m[1]);
}

/** `[Parsed_libvmaf_8 @ 0x..] VMAF score: 95.123456` -> 95.123456 */
export function parseVmaf(stderr: string): number | undefined {
  const m = /VMAF score: ([0-9.]+)/.exec(stderr);
  return m?.[1] ? Number.parseFloat(m[1]) : undefined;
}

/** `ffmpeg -filters`: " ... libvmaf          VV->V      Calculate the VMAF ..." */
export function hasFilter(filtersOutput: string, name: string): boolean {
  return new RegExp(`^\\s*[.A-Z|]{2,3}\\s+${name}\\s`, "m").test(filtersOutput);
}
