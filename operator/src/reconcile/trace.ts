// The trace a VideoJob belongs to, as the remote parent of the operator's reconcile spans. The
// shim writes only the trace id (annotation reel.dev/trace-id), so the parent's span id is a
// stable one derived from it: every reconcile of one VideoJob is a child of the same span, in the
// trace the REST call started.
import { type SpanContext, stableSpanId } from "@reel/crds/tracing";
import { SPAN_ANNOTATION, TRACE_ANNOTATION } from "../plan/jobs.ts";

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/**
 * The span the VideoJob's work hangs from: the shim's create request (annotation
 * reel.dev/parent-span-id, a span the shim exports), else a stable id derived from the trace (a
 * VideoJob made by kubectl: the trace id alone was given).
 */
export function parentSpanId(
  vj: { metadata: { annotations?: Record<string, string> } },
  traceId: string,
  fallback: string,
): string {
  const span = vj.metadata.annotations?.[SPAN_ANNOTATION];
  return span && SPAN_ID.test(span) && !/^0+$/.test(span) ? span : stableSpanId(traceId, fallback);
}

/** The VideoJob's remote parent span context, or undefined when it carries no valid trace id. */
export function videoJobParent(vj: { metadata: { annotations?: Record<string, string> } }): SpanContext | undefined {
  const traceId = vj.metadata.annotations?.[TRACE_ANNOTATION];
  if (!traceId || !TRACE_ID.test(traceId) || /^0+$/.test(traceId)) return undefined;
  return { traceId, spanId: parentSpanId(vj, traceId, "videojob"), traceFlags: 1, isRemote: true };
}
