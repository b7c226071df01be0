#!/usr/bin/env node
// api-sse's subscribers in their own process (Node 24 runs it by stripping types): N SSE streams on
// one job over an undici Pool with a connection per stream, then one phase change on the VideoJob's
// status subresource through the operator's KubeApi (the kubeconfig from KUBECONFIG), and the time
// from that PATCH until each stream has the phase event. One clock (this process's) for both ends.
//   node bench/tools/sse-load.ts '<options JSON>'
// options: { base, key, namespace, job, subscribers, phase, connectConcurrency?, timeoutMs? }
// JSON lines on stdout: {"event":"start","pid"}, {"event":"connected",...} once every stream has its
// first snapshot, then {"event":"done","report"} (exit 0) or {"event":"error","code","message"}.
import { KubeApi, loadKubeConfig, resourcePath } from "@reel/operator/kube";
import { Pool } from "undici";

export interface SseOptions {
  base: string;
  key: string;
  namespace: string;
  job: string;
  subscribers: number;
  /** The phase the VideoJob's status is patched to; the job must not be in it already. */
  phase: string;
  /** Streams opened at once until each has its snapshot (the listen backlog is finite). */
  connectConcurrency?: number;
  timeoutMs?: number;
}

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * An incremental text/event-stream parser: feed it chunks as they come, it calls `onMessage` per
 * complete message (blank-line terminated). Comments (`: heartbeat`) and `retry:` are skipped, as
 * is a message without data.
 */
export function sseParser(onMessage: (m: SseMessage) => void): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const m: SseMessage = { data: "" };
      const data: string[] = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue;
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
        if (field === "data") data.push(value);
        else if (field === "id") m.id = value;
        else if (field === "event") m.event = value;
      }
      if (data.length === 0) continue;
      m.data = data.join("\n");
      onMessage(m);
    }
  };
}

/** Milliseconds at quantile q (0..1) of sorted values, nearest rank; null when empty. */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? null;
}

/** The figures of one run from each stream's receive time (ms after the PATCH; undefined: never). */
export function fanoutReport(receivedMs: (number | undefined)[]) {
  const got = receivedMs.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  return {
    subscribers: receivedMs.length,
    received: got.length,
    firstMs: got[0] ?? null,
    p50Ms: quantile(got, 0.5),
    p99Ms: quantile(got, 0.99),
    lastMs: got.at(-1) ?? null,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sseClients(base: string): Promise<number | null> {
  const res = await fetch(`${base}/api/metrics`);
  const m = /^reel_shim_sse_clients(?:\{[^}]*\})?\s+(\S+)/m.exec(await res.text());
  return m ? Number(m[1]) : null;
}

async function run(o: SseOptions) {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const pool = new Pool(o.base, {
    connections: o.subscribers + 8,
    pipelining: 1,
    bodyTimeout: 0,
    headersTimeout: 60_000,
    connectTimeout: 30_000,
  });
  const path = `/api/v1/jobs/${encodeURIComponent(o.job)}/events`;
  const receivedAt: (number | undefined)[] = new Array(o.subscribers).fill(undefined);
  const bodies: { destroy(): void }[] = [];
  let patchedAt: number | undefined;
  let received = 0;
  let allReceived: () => void = () => {};
  const everyone = new Promise<void>((r) => {
    allReceived = r;
  });
  const errors: string[] = [];

  // One stream: resolves when its first message (the snapshot) is in, then keeps listening.
  const open = async (i: number) => {
    const { statusCode, body } = await pool.request({
      path,
      method: "GET",
      headers: { authorization: `Bearer ${o.key}`, accept: "text/event-stream" },
    });
    if (statusCode !== 200) {
      const text = await body.text();
      throw new Error(`stream ${i}: HTTP ${statusCode}: ${text.slice(0, 200)}`);
    }
    bodies.push(body);
    body.setEncoding("utf8");
    let snapshot: () => void = () => {};
    const first = new Promise<void>((r) => {
      snapshot = r;
    });
    let seen = 0;
    const feed = sseParser((m) => {
      if (seen++ === 0) snapshot();
      // The phase event is told apart without parsing every message in full.
      if (patchedAt === undefined || receivedAt[i] !== undefined || !m.data.includes('"type":"phase"')) return;
      const e = JSON.parse(m.data) as { type?: string; phase?: string };
      if (e.type !== "phase" || e.phase !== o.phase) return;
      receivedAt[i] = performance.now() - patchedAt;
      if (++received === o.subscribers) allReceived();
    });
    body.on("data", feed);
    body.on("error", (err: Error) => {
      if (patchedAt !== undefined && receivedAt[i] === undefined) errors.push(`stream ${i}: ${err.message}`);
    });
    await first;
  };

  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < o.subscribers) await open(next++);
  };
  await Promise.all(Array.from({ length: Math.min(o.connectConcurrency ?? 100, o.subscribers) }, worker));
  const connectMs = performance.now() - t0;

  // The shim's own count must agree before the change is made (all streams registered there).
  let gauge: number | null = null;
  for (const deadline = performance.now() + 10_000; performance.now() < deadline; await sleep(50)) {
    gauge = await sseClients(o.base);
    if (gauge === o.subscribers) break;
  }
  process.stdout.write(`${JSON.stringify({ event: "connected", connectMs, sseClients: gauge })}\n`);

  const api = await KubeApi.create({ kubeConfig: loadKubeConfig(), qps: 100, burst: 100, connections: 2 });
  // A warm connection to the apiserver, so the TLS handshake is not in the measured time.
  await api.get("reel.dev/v1alpha1", "VideoJob", o.namespace, o.job);
  patchedAt = performance.now();
  await api.request(
    "PATCH",
    `${resourcePath("reel.dev/v1alpha1", "VideoJob", o.namespace, o.job)}/status`,
    { status: { phase: o.phase, progress: 1 } },
    "application/merge-patch+json",
  );
  const patchMs = performance.now() - patchedAt;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([everyone, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  for (const b of bodies) b.destroy();
  await pool.destroy();
  await api.close();
  return {
    ...fanoutReport(receivedAt),
    connectMs,
    sseClients: gauge,
    patchMs,
    timeoutMs,
    errors: errors.length,
    firstError: errors[0] ?? null,
  };
}

if (import.meta.main) {
  const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  emit({ event: "start", pid: process.pid });
  try {
    emit({ event: "done", report: await run(JSON.parse(process.argv[2] ?? "{}") as SseOptions) });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    emit({ event: "error", code: e.code ?? "error", message: e.message ?? String(err) });
    process.exitCode = 1;
  }
}
