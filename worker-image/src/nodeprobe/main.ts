// `reel node-probe`: runs on every node (a DaemonSet), finds what really works there — a test encode
// per candidate encoder, a device test per GPU decoder — and writes it as labels on its own Node for
// the operator's scheduler. Exit codes: 0 labelled (or stopped by SIGTERM/SIGINT), 1 the apiserver
// refused or could not be reached after retries, 2 the configuration is wrong.
import { setTimeout as sleep } from "node:timers/promises";
import { type Logger, pino } from "pino";
import { probeHardware } from "../hw/capabilities.ts";
import { type HostPort, realHost } from "../hw/inventory.ts";
import { execCommand } from "../ffmpeg/exec.ts";
import { loadNodeProbeConfig, type NodeProbeConfig } from "./config.ts";
import { nodeLabels, probeWarnings } from "./labels.ts";
import { kubeNodeApi, loadKubeConfig, type NodeApi, NodeApiError } from "./node-api.ts";
import { renderNodeVendor, renderNodeVendors } from "./pci.ts";
import { withRetry } from "./retry.ts";

/** What tests replace; a real run passes none. */
export interface NodeProbeDeps {
  host?: HostPort;
  nodeApi?: NodeApi;
  log?: Logger;
  /** Stops the probe like SIGTERM does. */
  signal?: AbortSignal;
  retry?: { attempts: number; baseDelayMs: number };
  readRenderVendor?(renderNode: string): Promise<string | undefined>;
}

class Stopped extends Error {}

/** Probes, labels, and repeats every REEL_PROBE_INTERVAL until stopped; returns the exit code. */
export async function nodeProbeMain(env: NodeJS.ProcessEnv, deps: NodeProbeDeps = {}): Promise<number> {
  const root = deps.log ?? pino({ base: { component: "node-probe" } });
  let cfg: NodeProbeConfig;
  try {
    cfg = loadNodeProbeConfig(env);
  } catch (err) {
    root.error({ code: (err as { code?: string }).code }, (err as Error).message);
    return 2;
  }
  if (!deps.log) root.level = cfg.logLevel;
  const log = root.child({ node: cfg.nodeName });

  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log.info({ signal: sig }, `${sig}: stopping`);
    stop.abort(new Stopped(sig));
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const signal = deps.signal ? AbortSignal.any([stop.signal, deps.signal]) : stop.signal;
  try {
    let api: NodeApi;
    try {
      api = deps.nodeApi ?? kubeNodeApi(loadKubeConfig(cfg.kubeconfig));
    } catch (err) {
      log.error({ code: "KUBECONFIG" }, `cannot reach the apiserver: ${(err as Error).message}`);
      return 1;
    }
    const host = deps.host ?? realHost(execCommand, cfg.binaries);
    for (;;) {
      const code = await probeAndLabel(cfg, host, api, log, signal, deps);
      if (code !== 0 || signal.aborted) return signal.aborted ? 0 : code;
      if (cfg.intervalMs === 0) return 0;
      log.debug({ inMs: cfg.intervalMs }, "next probe scheduled");
      try {
        await sleep(cfg.intervalMs, undefined, { signal });
      } catch {
        return 0; // stopped while waiting
      }
    }
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

async function probeAndLabel(
  cfg: NodeProbeConfig,
  host: HostPort,
  api: NodeApi,
  log: Logger,
  signal: AbortSignal,
  deps: NodeProbeDeps,
): Promise<number> {
  const probedAt = new Date();
  let meta: ReturnType<typeof nodeLabels>;
  try {
    // Always test afresh: a driver can break or be fixed without the device list changing.
    const caps = await probeHardware({ host, cachePath: cfg.cachePath, refresh: true, signal });
    if (caps.inventory.ffmpegVersion === "unknown") {
      log.warn({ ffmpeg: cfg.binaries.ffmpeg }, "ffmpeg did not answer -version: is REEL_FFMPEG right?");
    }
    const renderVendors = await renderNodeVendors(
      caps.inventory.devices.renderNodes,
      deps.readRenderVendor ?? ((n) => renderNodeVendor(n)),
    );
    for (const w of probeWarnings(caps, renderVendors)) log.warn(w);
    meta = nodeLabels(caps, { probedAt, renderVendors });
    log.info({ probeMs: Date.now() - probedAt.getTime(), ffmpeg: caps.inventory.ffmpegVersion }, "probed");
  } catch (err) {
    if (signal.aborted) return 0;
    log.error({ err }, `probe failed: ${(err as Error).message}`);
    return 1;
  }

  const { attempts, baseDelayMs } = deps.retry ?? { attempts: 6, baseDelayMs: 1000 };
  try {
    await withRetry(async () => api.apply(cfg.nodeName, await api.uid(cfg.nodeName), meta), {
      attempts,
      baseDelayMs,
      signal,
      retryable: (err) => err instanceof NodeApiError && err.retryable,
      onRetry: (err, attempt, delayMs) => {
        const e = NodeApiError.from(err, "apiserver");
        log.warn({ status: e.status, code: e.code, attempt, delayMs }, `${e.message}; retrying`);
      },
    });
  } catch (err) {
    if (signal.aborted) return 0;
    const e = NodeApiError.from(err, "apiserver");
    log.error({ status: e.status, code: e.code }, explain(e, cfg.nodeName));
    return 1;
  }
  log.info({ labels: meta.labels }, `labelled node ${cfg.nodeName}`);
  return 0;
}

function explain(e: NodeApiError, nodeName: string): string {
  if (e.status === 404) {
    return `node "${nodeName}" does not exist (${e.message}): NODE_NAME must name this pod's node (downward API fieldRef spec.nodeName)`;
  }
  if (e.status === 401 || e.status === 403) {
    return `${e.message}: the node-probe's service account needs get and patch on nodes (a ClusterRole)`;
  }
  return e.message;
}
