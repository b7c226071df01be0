// The trace a VideoJob belongs to, as the remote parent of the operator's reconcile spans: the
// same trace id and parent span the pods get in TRACEPARENT (plan/jobs.ts, one definition), so
// every reconcile of one VideoJob hangs from the same span, in the trace the REST call started.
import type { SpanContext } from "@reel/crds/tracing";
import { parentSpanId, videoJobTraceId } from "../plan/jobs.ts";

/** The VideoJob's remote parent span context, or undefined when it carries no valid trace id. */
export function videoJobParent(vj: { metadata: { annotations?: Record<string, string> } }): SpanContext | undefined {
  const traceId = videoJobTraceId(vj);
  if (!traceId) return undefined;
  return { traceId, spanId: parentSpanId(vj, traceId, "videojob"), traceFlags: 1, isRemote: true };
}
