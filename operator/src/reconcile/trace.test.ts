import { stableSpanId } from "@reel/crds/tracing";
import { describe, expect, it } from "vitest";
import { videoJobParent } from "./trace.ts";

const vj = (annotations?: Record<string, string>) => ({ metadata: { ...(annotations ? { annotations } : {}) } });

describe("a VideoJob's trace as the reconcile's remote parent", () => {
  it("continues the trace named by reel.dev/trace-id, from a stable span of that VideoJob", () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = videoJobParent(vj({ "reel.dev/trace-id": trace }));
    expect(parent).toEqual({ traceId: trace, spanId: stableSpanId(trace, "videojob"), traceFlags: 1, isRemote: true });
    expect(parent?.spanId).toMatch(/^[0-9a-f]{16}$/);
    // Every reconcile of the VideoJob gets the same parent.
    expect(videoJobParent(vj({ "reel.dev/trace-id": trace }))).toEqual(parent);
  });

  it("hangs from the create request's span when the shim named it (reel.dev/parent-span-id)", () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = videoJobParent(vj({ "reel.dev/trace-id": trace, "reel.dev/parent-span-id": "00f067aa0ba902b7" }));
    expect(parent?.spanId).toBe("00f067aa0ba902b7");
    const bad = videoJobParent(vj({ "reel.dev/trace-id": trace, "reel.dev/parent-span-id": "0000000000000000" }));
    expect(bad?.spanId).toBe(stableSpanId(trace, "videojob"));
  });

  it("has no parent (a new trace) without an annotation or with an invalid trace id", () => {
    expect(videoJobParent(vj())).toBeUndefined();
    expect(videoJobParent(vj({ "reel.dev/trace-id": "0".repeat(32) }))).toBeUndefined();
    expect(videoJobParent(vj({ "reel.dev/trace-id": "XYZ" }))).toBeUndefined();
    expect(videoJobParent(vj({ "reel.dev/trace-id": "4BF92F3577B34DA6A3CE929D0E0E4736" }))).toBeUndefined();
  });
});
