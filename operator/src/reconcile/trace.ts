// The trace a VideoJob belongs to, as the remote parent of the operator's reconcile spans. The
// shim writes only the trace id (annotation reel.dev/trace-id), so the parent's span id is a
// stable one derived from it: every reconcile of one VideoJob is a child of the same span, in the
// trace the REST call started.
import { type SpanContext, stableSpanId } from "@reel/crds/tracing";
import { TRACE_ANNOTATION } from "../plan/jobs.ts";

const TRACE_ID = /^[0-9a-f]{32}$/;

/** The VideoJob's remote parent span context, or undefined when it carries no valid trace id. */
export function videoJobParent(vj: { metadata: { annotations?: Record<string, string> } }): SpanContext | undefined {
  const traceId = vj.metadata.annotations?.[TRACE_ANNOTATION];
  if (!traceId || !TRACE_ID.test(traceId) || /^0+$/.test(traceId)) return undefined;
  return { traceId, spanId: stableSpanId(traceId, "videojob"), traceFlags: 1, isRemote: true };
}
