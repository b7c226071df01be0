// What ffmpeg and the machine claim to have, before anything is tested. Parsing is pure.
import { access, readdir } from "node:fs/promises";
import type { CommandRunner } from "../ffmpeg/exec.ts";
import type { FfmpegBinaries } from "../ffmpeg/run.ts";

export interface HwInventory {
  ffmpegVersion: string;
  platform: string;
  hwaccels: string[];
  encoders: string[];
  devices: { nvidia: boolean; nvidiaGpus: string[]; renderNodes: string[] };
}

/** The machine seen through ports, so tests can describe any machine. */
export interface HostPort {
  runner: CommandRunner;
  binaries: FfmpegBinaries;
  platform: string;
  exists(path: string): Promise<boolean>;
  listDir(path: string): Promise<string[]>;
}

export const realHost = (runner: CommandRunner, binaries: FfmpegBinaries): HostPort => ({
  runner,
  binaries,
  platform: process.platform,
  exists: (p) =>
    access(p).then(
      () => true,
      () => false,
    ),
  listDir: (p) => readdir(p).catch(() => []),
});

export function parseVersion(stdout: string): string {
  return /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? "unknown";
}

/** `ffmpeg -hwaccels`: a header line, then one method per line. */
export function parseHwaccels(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.endsWith(":"));
}

/** `ffmpeg -encoders`: lines like " V....D libx264   libx264 H.264 ..."; video encoders only. */
export function parseEncoders(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^\s*V[.A-Z]{5}\s+(\S+)/.exec(line);
    if (m?.[1] && m[1] !== "=") out.push(m[1]);
  }
  return out;
}

/** `nvidia-smi -L`: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)". */
export function parseNvidiaSmi(stdout: string): string[] {
  const out: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^GPU \d+: (.+?)(?: \(UUID: [^)]+\))?$/.exec(line.trim());
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

async function stdoutOf(host: HostPort, cmd: string, args: string[]): Promise<string> {
  try {
    const r = await host.runner(cmd, args, { timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout : "";
  } catch {
    return ""; // a missing nvidia-smi is an answer, not an error
  }
}

export async function takeInventory(host: HostPort): Promise<HwInventory> {
  const ff = host.binaries.ffmpeg;
  const [version, hwaccels, encoders] = await Promise.all([
    stdoutOf(host, ff, ["-hide_banner", "-version"]),
    stdoutOf(host, ff, ["-hide_banner", "-hwaccels"]),
    stdoutOf(host, ff, ["-hide_banner", "-encoders"]),
  ]);
  const nvidia = await host.exists("/dev/nvidia0");
  const nvidiaGpus = nvidia ? parseNvidiaSmi(await stdoutOf(host, "nvidia-smi", ["-L"])) : [];
  const renderNodes = (await host.listDir("/dev/dri"))
    .filter((n) => n.startsWith("renderD"))
    .sort()
    .map((n) => `/dev/dri/${n}`);
  return {
    ffmpegVersion: parseVersion(version),
    platform: host.platform,
    hwaccels: parseHwaccels(hwaccels),
    encoders: parseEncoders(encoders),
    devices: { nvidia, nvidiaGpus, renderNodes },
  };
}
