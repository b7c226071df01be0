// OpenTelemetry traces for the shim, the operator and the worker: one setup, off unless an OTLP
// endpoint is configured. When it is off nothing of the SDK is loaded and no span object is made
// (callers hold `Tracing | undefined` and skip their span code on undefined); when it is on, spans
// leave in batches over OTLP/HTTP (JSON) and are flushed when the program stops.
//
// Parents are always passed explicitly (a traceparent, a span context or a span): no global
// context manager, so nothing in the hot path pays for AsyncLocalStorage.
import { createHash } from "node:crypto";
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { z } from "zod";

export { type Attributes, type Span, type SpanContext, SpanKind, SpanStatusCode };

/** The standard OTel variables Reel reads; each program's config spreads these into its schema. */
export const TracingEnvShape = {
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
};
export const TracingEnv = z.object(TracingEnvShape);
export type TracingEnv = z.infer<typeof TracingEnv>;

/**
 * Where spans are sent, or undefined when tracing is off. The signal-specific variable is used as
 * it is; the general one gets `/v1/traces` appended (the OTLP/HTTP exporter specification).
 */
export function tracesUrl(env: TracingEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

export interface Tracing {
  /** Starts a span; `parent` is a traceparent header, a span context or a span (none: a new trace). */
  startSpan(
    name: string,
    o?: { parent?: string | SpanContext | Span; kind?: SpanKind; attributes?: Attributes; startTime?: number },
  ): Span;
  /** Ends `span` with an error status and the error recorded (message and code). */
  fail(span: Span, err: unknown): void;
  /** Runs `fn` and ends `span` after it: normally when it resolves, through fail() when it throws. */
  within<T>(span: Span, fn: () => Promise<T>): Promise<T>;
  /** Sends what is queued (tests; a program's own shutdown calls shutdown()). */
  flush(): Promise<void>;
  /** Flushes and stops the exporter; spans started after this are dropped. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when an OTLP endpoint is configured; undefined otherwise (and nothing loaded).
 * `defaultServiceName` applies when OTEL_SERVICE_NAME is unset.
 */
export async function startTracing(
  env: TracingEnv,
  defaultServiceName: string,
  o: { attributes?: Attributes; scheduledDelayMillis?: number } = {},
): Promise<Tracing | undefined> {
  const url = tracesUrl(env);
  if (!url) return undefined;
  const [{ BatchSpanProcessor, TracerProvider }, { OTLPTraceExporter }, { resourceFromAttributes }, semconv] =
    await Promise.all([
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/semantic-conventions"),
    ]);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || defaultServiceName,
      ...o.attributes,
    }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url }),
        ...(o.scheduledDelayMillis !== undefined ? { scheduledDelayMillis: o.scheduledDelayMillis } : {}),
      }),
    ],
  });
  const tracer = provider.getTracer("reel");
  const tracing: Tracing = {
    startSpan(name, { parent, kind, attributes, startTime } = {}) {
      return tracer.startSpan(
        name,
        {
          ...(kind !== undefined ? { kind } : {}),
          ...(attributes ? { attributes } : {}),
          ...(startTime !== undefined ? { startTime } : {}),
        },
        parentContext(parent),
      );
    },
    fail(span, err) {
      const e = err as { message?: string; code?: unknown };
      const message = e?.message ?? String(err);
      span.recordException({ message, ...(typeof e?.code === "string" ? { code: e.code } : {}) });
      if (typeof e?.code === "string") span.setAttribute("reel.error.code", e.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end();
    },
    async within(span, fn) {
      try {
        const r = await fn();
        span.end();
        return r;
      } catch (err) {
        tracing.fail(span, err);
        throw err;
      }
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return tracing;
}

function parentContext(parent: string | SpanContext | Span | undefined): Context {
  if (parent === undefined) return ROOT_CONTEXT;
  if (typeof parent === "string") {
    const sc = parseTraceparent(parent);
    return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
  }
  if ("spanContext" in parent) return trace.setSpan(ROOT_CONTEXT, parent);
  return trace.setSpanContext(ROOT_CONTEXT, parent);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A W3C traceparent as a remote span context, or undefined when it is invalid. */
export function parseTraceparent(header: string | undefined): SpanContext | undefined {
  const m = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (!m) return undefined;
  const [, version, traceId = "", spanId = "", flags = "", rest] = m;
  if (version === "ff" || (version === "00" && rest)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & 1, isRemote: true };
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & 1 ? "01" : "00"}`;
}

/**
 * A stable span id for `name` within trace `traceId`: what the operator puts in the pods'
 * TRACEPARENT (planning stays deterministic) and what the VideoJob's own remote parent is when
 * only its trace id is known.
 */
export function stableSpanId(traceId: string, name: string): string {
  return createHash("sha256").update(`${traceId}/${name}`).digest("hex").slice(0, 16);
}
