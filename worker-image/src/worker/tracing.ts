// The worker's spans, when tracing is on: one per pod run (parented by the pod's TRACEPARENT, set
// by the operator from the VideoJob's trace) and a child per stage. Stages and storage are wrapped
// here instead of threading spans through the pipeline, so with tracing off the pipeline runs on
// the unwrapped objects and makes no span at all.
import type { Span, Tracing } from "@reel/crds/tracing";
import type { OutputTarget } from "../output/target.ts";
import type { Stages } from "../pipeline/stages.ts";
import type { Staging } from "./staging.ts";

/** The span names of the Stages methods worth a span (hashing is not: it is part of its stage). */
const STAGE_SPANS: Partial<Record<keyof Stages, string>> = {
  fetch: "fetch",
  probe: "probe",
  encode: "encode",
  measure: "measure",
  normalise: "normalise",
  merge: "merge",
};
const STAGING_SPANS: Partial<Record<keyof Staging, string>> = { put: "upload", materialise: "download staged" };
const TARGET_SPANS: Partial<Record<keyof OutputTarget, string>> = { put: "upload" };

/** `obj` with the named async methods run inside a child span of `parent`; everything else as is. */
function traced<T extends object>(obj: T, spans: Partial<Record<keyof T, string>>, tracing: Tracing, parent: Span): T {
  return new Proxy(obj, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      const name = spans[prop as keyof T];
      if (!name) return value.bind(target);
      return async (...args: unknown[]) => {
        // The stored object's name: put(localPath, name), materialise(name, dir).
        const object = name === "upload" ? args[1] : name === "download staged" ? args[0] : undefined;
        const span = tracing.startSpan(name, {
          parent,
          ...(typeof object === "string" ? { attributes: { "reel.object": object } } : {}),
        });
        return tracing.within(span, () => value.apply(target, args));
      };
    },
  });
}

export const tracedStages = (s: Stages, t: Tracing, parent: Span): Stages => traced(s, STAGE_SPANS, t, parent);
export const tracedStaging = (s: Staging, t: Tracing, parent: Span): Staging => traced(s, STAGING_SPANS, t, parent);
export const tracedTarget = (o: OutputTarget, t: Tracing, parent: Span): OutputTarget =>
  traced(o, TARGET_SPANS, t, parent);
