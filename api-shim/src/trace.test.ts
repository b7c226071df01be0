import { describe, expect, it } from "vitest";
import { formatTraceparent, parseTraceparent, startSpan } from "./trace.ts";

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceparent", () => {
  it("continues a valid caller trace with a new span of its own", () => {
    expect(parseTraceparent(valid)).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentSpanId: "00f067aa0ba902b7",
      sampled: true,
    });
    const t = startSpan(valid);
    expect(t.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(t.parentSpanId).toBe("00f067aa0ba902b7");
    expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(formatTraceparent(t)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  it.each([
    ["missing", undefined],
    ["garbage", "hello"],
    ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["extra field on version 00", `${valid}-extra`],
  ])("starts a new trace when the header is %s", (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
    const t = startSpan(header);
    expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(t.parentSpanId).toBeUndefined();
  });

  it("accepts a future version's extra fields and keeps the sampled flag", () => {
    expect(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what")).toMatchObject({
      sampled: false,
    });
  });
});
