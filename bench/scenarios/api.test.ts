// The api-status and api-sse scenarios' pure parts: what is kept of an autocannon result and when a
// run cannot stand, the SSE parser and the fan-out figures of the subscriber tool, the admin CLI's
// key line, Redis's CPU counters, the job the scenarios submit, and the CPU profile summary.
import { describe, expect, test } from "vitest";
import { CreateJobInput } from "../../api-shim/src/api/schemas.ts";
import { packageOf, topSelfTime } from "../tools/cpu-top.mjs";
import { loadProblem, summarizeAutocannon } from "../tools/http-load.mjs";
import { fanoutReport, quantile, type SseMessage, sseParser } from "../tools/sse-load.ts";
import { apiParams, jobBody, logVolume, pairedRatios, parseAdminKey, parseRedisCpu } from "./api.mjs";

// An autocannon 9.0.0 result as `await autocannon(opts)` returns it (throughput left out).
const autocannonResult = {
  url: "http://127.0.0.1:33801/api/v1/jobs/bench-status/status",
  connections: 200,
  sampleInt: 1000,
  pipelining: 1,
  duration: 10.03,
  samples: 10,
  errors: 0,
  timeouts: 0,
  mismatches: 0,
  non2xx: 0,
  resets: 0,
  "1xx": 0,
  "2xx": 88_810,
  "3xx": 0,
  "4xx": 0,
  "5xx": 0,
  statusCodeStats: { "200": { count: 88_810 } },
  latency: {
    average: 22.1,
    mean: 22.1,
    stddev: 9.3,
    min: 1,
    max: 140,
    p50: 20,
    p90: 31,
    p97_5: 45,
    p99: 62,
    p99_9: 103,
    totalCount: 88_810,
  },
  requests: { average: 8881, mean: 8881, stddev: 301, min: 8402, max: 9260, total: 88_810, sent: 89_010 },
};

describe("api-status", () => {
  test("keeps autocannon's Req/Sec average, its 2xx latency percentiles in ms and the answers by status", () => {
    expect(summarizeAutocannon(autocannonResult)).toEqual({
      rps: 8881,
      requests: 88_810,
      ok: 88_810,
      non2xx: 0,
      errors: 0,
      timeouts: 0,
      durationS: 10.03,
      latencyMs: { avg: 22.1, p50: 20, p90: 31, p99: 62, p999: 103, max: 140 },
      statusCodes: { "200": 88_810 },
      connections: 200,
    });
    expect(loadProblem(summarizeAutocannon(autocannonResult))).toBeNull();
  });

  test("a run with any 429 or connection error is refused, naming what went wrong", () => {
    const limited = summarizeAutocannon({
      ...autocannonResult,
      non2xx: 12,
      errors: 3,
      statusCodeStats: { "200": { count: 88_798 }, "429": { count: 12 } },
    });
    expect(loadProblem(limited)).toBe('12 non-2xx answers ({"200":88798,"429":12}), 3 connection errors');
    expect(loadProblem({ ...limited, non2xx: 0, errors: 0, ok: 0 })).toBe("no 2xx answer at all");
  });

  test("quick mode loads for less time and opens fewer streams", () => {
    expect(apiParams(false)).toMatchObject({ durationS: 10, subscribers: 1000 });
    expect(apiParams(true).durationS).toBeLessThan(apiParams(false).durationS);
    expect(apiParams(true).subscribers).toBe(200);
  });

  test("reads the key shim:admin add-user prints once", () => {
    const out =
      "user 1 (operator, tenant bench)\nAPI key (shown once): reel_QwgcJdgd_9E77CizYDpN4GZewjVteA15NJcTY48zr\n";
    expect(parseAdminKey(out)).toBe("reel_QwgcJdgd_9E77CizYDpN4GZewjVteA15NJcTY48zr");
    expect(parseAdminKey("usage: reel-shim admin add-user ...")).toBeNull();
  });

  test("adds Redis's user and system CPU seconds from INFO cpu", () => {
    const info =
      "$140\r\n# CPU\r\nused_cpu_sys:1.503204\r\nused_cpu_user:2.250100\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n";
    expect(parseRedisCpu(info)).toBeCloseTo(3.753304, 6);
    expect(parseRedisCpu("-ERR unknown command")).toBeNull();
  });

  test("counts what the shim logged per answered request, start-up lines included", () => {
    const log = [
      '{"level":30,"msg":"shim started"}',
      '{"level":30,"reqId":"req-1","msg":"incoming request"}',
      '{"level":30,"reqId":"req-1","res":{"statusCode":200},"msg":"request completed"}',
      '{"level":30,"reqId":"req-2","msg":"incoming request"}',
      '{"level":30,"reqId":"req-2","res":{"statusCode":200},"msg":"request completed"}',
    ]
      .map((l) => `${l}\n`)
      .join("");
    const v = logVolume(Buffer.from(log));
    expect(v).toMatchObject({ lines: 5, completed: 2, bytes: log.length, linesPerRequest: 2.5 });
    expect(v.bytesPerRequest).toBe(log.length / 2);
    expect(logVolume("").bytesPerRequest).toBeNull();
    const shim = '{"level":30,"msg":"shim started"}\n{"level":30,"traceId":"t1","status":200,"msg":"request"}\n';
    expect(logVolume(shim)).toMatchObject({ lines: 2, completed: 1, linesPerRequest: 2 });
  });

  test("pairs each round's shim and hello and takes the median of their ratios", () => {
    expect(pairedRatios([{ rps: 40 }, { rps: 20 }, { rps: 30 }], [{ rps: 80 }, { rps: 30 }, { rps: 50 }])).toEqual({
      ratios: [0.5, 0.667, 0.6],
      median: 0.6,
    });
    expect(pairedRatios([{ rps: 1 }], [])).toEqual({ ratios: [], median: null });
  });

  test("submits a job the API accepts", () => {
    const parsed = CreateJobInput.safeParse(jobBody("bench-status"));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});

describe("api-sse", () => {
  test("parses an event stream fed in arbitrary chunks, skipping retry, comments and data-less blocks", () => {
    const got: SseMessage[] = [];
    const feed = sseParser((m) => got.push(m));
    const stream =
      'retry: 2000\n\nid: 0\nevent: status\ndata: {"id":0,"type":"status"}\n\n: heartbeat\n\n' +
      'id: 1\nevent: status\ndata: {"id":1,\ndata:"type":"phase"}\n\n';
    for (let i = 0; i < stream.length; i += 7) feed(stream.slice(i, i + 7));
    expect(got).toEqual([
      { id: "0", event: "status", data: '{"id":0,"type":"status"}' },
      { id: "1", event: "status", data: '{"id":1,\n"type":"phase"}' },
    ]);
  });

  test("holds a message back until its blank line has arrived", () => {
    const got: SseMessage[] = [];
    const feed = sseParser((m) => got.push(m));
    feed('data: {"a":1}\n');
    expect(got).toEqual([]);
    feed("\n");
    expect(got).toEqual([{ data: '{"a":1}' }]);
  });

  test("reports first, median, p99 and last receive times and counts the streams that never got it", () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
    const r = fanoutReport([30, 10, undefined, 20, ...Array.from({ length: 96 }, (_, i) => 40 + i)]);
    expect(r).toEqual({ subscribers: 100, received: 99, firstMs: 10, p50Ms: 86, p99Ms: 135, lastMs: 135 });
    expect(fanoutReport([undefined])).toMatchObject({ received: 0, firstMs: null, lastMs: null });
  });
});

describe("cpu-top", () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 }, children: [2, 3, 4, 5] },
      { id: 2, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
      { id: 3, callFrame: { functionName: "write", url: "file:///x/node_modules/pino/lib/proto.js", lineNumber: 205 } },
      {
        id: 4,
        callFrame: { functionName: "incr", url: "file:///x/node_modules/@fastify/rate-limit/index.js", lineNumber: 9 },
      },
      { id: 5, callFrame: { functionName: "writeUtf8String", url: "", lineNumber: -1 } },
    ],
    samples: [2, 3, 3, 4, 5, 5, 5, 2],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 5000],
  };

  test("ranks self time by function and by package, idle left out of the percentages", () => {
    const t = topSelfTime(profile, 10);
    expect(t).toMatchObject({ busyMs: 6, idleMs: 6 });
    expect(t.functions[0]).toEqual({ name: "writeUtf8String", where: "", ms: 3, pct: 50 });
    expect(t.functions[1]).toEqual({ name: "write", where: "pino/lib/proto.js:206", ms: 2, pct: 33.3 });
    expect(t.packages.map((p) => p.package)).toEqual(["(native)", "pino", "@fastify/rate-limit"]);
  });

  test("names the package of a script URL, scoped packages and node's own code included", () => {
    expect(packageOf("file:///r/node_modules/ioredis/built/Redis.js")).toBe("ioredis");
    expect(packageOf("file:///r/node_modules/@fastify/rate-limit/index.js")).toBe("@fastify/rate-limit");
    expect(packageOf("node:internal/streams/writable")).toBe("node:internal");
    expect(packageOf("")).toBe("(native)");
  });
});
