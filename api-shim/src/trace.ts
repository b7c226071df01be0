// W3C Trace Context: each request continues the caller's trace (traceparent) or starts one, and
// the trace id travels into the VideoJob (annotation reel.dev/trace-id) for the operator and the
// worker pods. A parser of our own, so that with tracing off (no OTLP endpoint) a request costs two
// slices of a random pool and no span object; with tracing on, the ids are the exported span's.
import { randomFillSync } from "node:crypto";
import { type Span, SpanKind, type Tracing } from "@reel/crds/tracing";

export const TRACE_ANNOTATION = "reel.dev/trace-id";
/** The span id of the request that created the VideoJob: the parent the operator gives its reconciles and pods. */
export const SPAN_ANNOTATION = "reel.dev/parent-span-id";

export interface TraceContext {
  traceId: string;
  spanId: string;
  /** The caller's span, when the request carried a valid traceparent. */
  parentSpanId?: string;
  sampled: boolean;
  /** The exported request span, when tracing is on (ended in the onResponse hook). */
  span?: Span;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The parts of a traceparent header, or undefined when it is invalid (then a new trace starts). */
export function parseTraceparent(header: string | undefined): Omit<TraceContext, "spanId"> | undefined {
  const m = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (!m) return undefined;
  const [, version, traceId, parentSpanId, flags, rest] = m as unknown as string[];
  // Version ff is invalid; version 00 has exactly four fields; all-zero ids are invalid.
  if (version === "ff" || (version === "00" && rest)) return undefined;
  if (/^0+$/.test(traceId ?? "") || /^0+$/.test(parentSpanId ?? "")) return undefined;
  return { traceId: traceId as string, parentSpanId, sampled: (Number.parseInt(flags as string, 16) & 1) === 1 };
}

// Random ids from a pooled buffer refilled 4 KiB at a time: one getrandom call per ~170 requests
// instead of two per request (measured: 10 % of the shim's CPU under load). The pool is turned into
// hex once per refill and each id is a slice of that string (V8 shares the characters), not a hex
// conversion per id (0.5 us a request in the profile).
const pool = Buffer.alloc(4096);
let poolHex = "";
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    poolHex = pool.toString("hex");
    used = 0;
  }
  const hex = poolHex.slice(2 * used, 2 * (used + bytes));
  used += bytes;
  return hex;
}

export function startSpan(header: string | undefined): TraceContext {
  const parent = parseTraceparent(header);
  return {
    traceId: parent?.traceId ?? randomHex(16),
    spanId: randomHex(8),
    ...(parent?.parentSpanId ? { parentSpanId: parent.parentSpanId } : {}),
    sampled: parent?.sampled ?? true,
  };
}

/** The request's span when tracing is on: its ids are what the response and the VideoJob carry. */
export function startTracedSpan(tracing: Tracing, header: string | undefined, method: string): TraceContext {
  const parent = parseTraceparent(header);
  // Named by method alone until routing is known; the onResponse hook names it "METHOD /route".
  const span = tracing.startSpan(method, {
    parent: header,
    kind: SpanKind.SERVER,
    attributes: { "http.request.method": method },
  });
  const sc = span.spanContext();
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    ...(parent?.parentSpanId ? { parentSpanId: parent.parentSpanId } : {}),
    sampled: (sc.traceFlags & 1) === 1,
    span,
  };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.sampled ? "01" : "00"}`;
}
