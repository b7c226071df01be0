import { describe, expect, it } from "vitest";
import { formatTraceparent, parseTraceparent, stableSpanId, startTracing, tracesUrl } from "./tracing.ts";

describe("tracing setup", () => {
  it("is off (nothing started) unless an OTLP endpoint is set", async () => {
    expect(tracesUrl({})).toBeUndefined();
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBeUndefined();
    expect(await startTracing({ OTEL_SERVICE_NAME: "x" }, "reel-test")).toBeUndefined();
  });

  it("sends to <endpoint>/v1/traces, or to the traces endpoint as given", () => {
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe("http://collector:4318/v1/traces");
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(
      tracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://other:4318/custom",
      }),
    ).toBe("http://other:4318/custom");
  });

  it("reads a traceparent as a remote span context and writes it back", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const sc = parseTraceparent(tp);
    expect(sc).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
      isRemote: true,
    });
    expect(formatTraceparent(sc as NonNullable<typeof sc>)).toBe(tp);
    expect(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toBeUndefined();
    expect(parseTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toBeUndefined();
    expect(parseTraceparent("garbage")).toBeUndefined();
  });

  it("derives the same span id for the same trace and name", () => {
    const a = stableSpanId("4bf92f3577b34da6a3ce929d0e0e4736", "ep-0");
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(stableSpanId("4bf92f3577b34da6a3ce929d0e0e4736", "ep-0")).toBe(a);
    expect(stableSpanId("4bf92f3577b34da6a3ce929d0e0e4736", "ep-1")).not.toBe(a);
  });
});
