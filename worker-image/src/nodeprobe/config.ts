// The node probe's configuration, parsed once from the environment it is given. The ffmpeg paths,
// cache directory and log level come from the worker's own parsing (../config.ts): one meaning each.
import { join } from "node:path";
import { ReelError } from "@reel/crds";
import { z } from "zod";
import { loadConfig } from "../config.ts";
import type { FfmpegBinaries } from "../ffmpeg/run.ts";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "6h", "30m", "1h30m", "90s", "0" (or absent): probe once and exit. */
export function parseInterval(text: string | undefined): number {
  const s = (text ?? "").trim();
  if (s === "" || s === "0") return 0;
  if (!/^(\d+(ms|h|m|s))+$/.test(s)) {
    throw new Error(`"${s}" is not a duration like 6h, 30m, 1h30m or 90s (0 probes once and exits)`);
  }
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+)(ms|h|m|s)/g)) ms += Number(n) * (units[unit ?? ""] ?? 0);
  return ms;
}

const NodeProbeSchema = z.object({
  /** The node this pod runs on, from the downward API (fieldRef spec.nodeName). */
  NODE_NAME: z
    .string({ error: "NODE_NAME is required: set it from the downward API (fieldRef: spec.nodeName)" })
    .trim()
    .min(1, "NODE_NAME is empty: set it from the downward API (fieldRef: spec.nodeName)"),
  /** Outside a cluster; in a pod the service account is used. */
  KUBECONFIG: z
    .string()
    .optional()
    .transform((s) => s || undefined),
  REEL_PROBE_INTERVAL: z
    .string()
    .optional()
    .transform((s, ctx) => {
      try {
        return parseInterval(s);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
});

export interface NodeProbeConfig {
  nodeName: string;
  kubeconfig: string | undefined;
  /** 0: probe once and exit. */
  intervalMs: number;
  /** Shared with the worker: pods on this node can reuse the probe's results. */
  cachePath: string;
  binaries: FfmpegBinaries;
  logLevel: ReturnType<typeof loadConfig>["REEL_LOG_LEVEL"];
}

/** Throws REEL_INVALID_ARGUMENT naming every wrong variable. */
export function loadNodeProbeConfig(env: NodeJS.ProcessEnv): NodeProbeConfig {
  const parsed = NodeProbeSchema.safeParse(env);
  let worker: ReturnType<typeof loadConfig> | undefined;
  let workerError: string | undefined;
  try {
    worker = loadConfig(env);
  } catch (err) {
    workerError = err instanceof z.ZodError ? z.prettifyError(err) : (err as Error).message;
  }
  if (!parsed.success || !worker) {
    const why = [parsed.success ? "" : z.prettifyError(parsed.error), workerError ?? ""].filter(Boolean).join("\n");
    throw new ReelError("REEL_INVALID_ARGUMENT", `node-probe configuration: ${why}`);
  }
  return {
    nodeName: parsed.data.NODE_NAME,
    kubeconfig: parsed.data.KUBECONFIG,
    intervalMs: parsed.data.REEL_PROBE_INTERVAL,
    // The worker's file name (pipeline/stages-real.ts), so a hostPath cache dir is shared.
    cachePath: join(worker.REEL_CACHE_DIR, "hw-capabilities.json"),
    binaries: { ffmpeg: worker.REEL_FFMPEG, ffprobe: worker.REEL_FFPROBE },
    logLevel: worker.REEL_LOG_LEVEL,
  };
}
