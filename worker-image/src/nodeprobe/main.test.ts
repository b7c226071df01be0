import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { fakeHost, machines } from "../hw/fake-host.ts";
import { parseInterval } from "./config.ts";
import type { NodeMetadata } from "./labels.ts";
import { nodeProbeMain } from "./main.ts";
import { type NodeApi, NodeApiError } from "./node-api.ts";

/** JSON log lines, as pino writes them. */
function capture() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines, text: () => lines.map((l) => l.msg).join("\n") };
}

/** An apiserver in memory: one Node, or failures served in order. */
function fakeApi(opts: { failures?: NodeApiError[]; onApply?: (m: NodeMetadata) => void } = {}) {
  const failures = [...(opts.failures ?? [])];
  const calls: string[] = [];
  const api: NodeApi = {
    async uid(name) {
      calls.push(`uid ${name}`);
      const f = failures.shift();
      if (f) throw f;
      return "uid-1";
    },
    async apply(name, uid, meta) {
      calls.push(`apply ${name} ${uid}`);
      opts.onApply?.(meta);
      return meta.labels;
    },
  };
  return { api, calls };
}

const unavailable = () => new NodeApiError(503, "ServiceUnavailable", "get node n1: 503 ServiceUnavailable: etcd");
const fast = { attempts: 3, baseDelayMs: 1 };

describe("nodeProbeMain", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir("reel-nodeprobe-");
  });
  afterAll(() => tmp.cleanup());
  const env = (extra: Record<string, string> = {}) => ({ NODE_NAME: "n1", REEL_CACHE_DIR: tmp.dir, ...extra });

  it("probes once, applies the labels and exits 0 when no interval is set", async () => {
    const applied: NodeMetadata[] = [];
    const { api, calls } = fakeApi({ onApply: (m) => applied.push(m) });
    const { log, lines } = capture();
    const code = await nodeProbeMain(env(), { host: fakeHost(machines.h100), nodeApi: api, log });
    expect(code).toBe(0);
    expect(calls).toEqual(["uid n1", "apply n1 uid-1"]);
    expect(applied[0]?.labels["reel.dev/encoder.h264_nvenc"]).toBe("false");
    expect(applied[0]?.labels["reel.dev/decoder.cuda"]).toBe("true");
    expect(applied[0]?.labels["reel.dev/gpu-vendor"]).toBe("nvidia");
    // the H100 warning reaches the log, as JSON with the node's name
    const warn = lines.find((l) => l.level === 40);
    expect(warn?.msg).toMatch(/NVDEC but no NVENC/);
    expect(warn?.node).toBe("n1");
  });

  it("probes again every interval until stopped, then exits 0", async () => {
    const stop = new AbortController();
    let rounds = 0;
    const { api } = fakeApi({ onApply: () => ++rounds === 3 && stop.abort() });
    const { log } = capture();
    const host = fakeHost(machines.rtx);
    const code = await nodeProbeMain(env({ REEL_PROBE_INTERVAL: "10ms" }), {
      host,
      nodeApi: api,
      log,
      signal: stop.signal,
    });
    expect(code).toBe(0);
    expect(rounds).toBe(3);
    // every round tests the encoders again instead of trusting the cache
    expect(host.calls.filter((c) => c.includes("h264_nvenc")).length).toBe(3);
  });

  it("retries an unavailable apiserver with backoff, then succeeds", async () => {
    const { api, calls } = fakeApi({ failures: [unavailable(), unavailable()] });
    const { log, lines } = capture();
    const code = await nodeProbeMain(env(), { host: fakeHost(machines.cpuOnly), nodeApi: api, log, retry: fast });
    expect(code).toBe(0);
    expect(calls.filter((c) => c.startsWith("uid"))).toHaveLength(3);
    expect(lines.filter((l) => l.msg.includes("retrying")).map((l) => l.delayMs)).toEqual([1, 2]);
  });

  it("exits 1 with the status code and message when the apiserver keeps failing", async () => {
    const { api, calls } = fakeApi({ failures: [unavailable(), unavailable(), unavailable()] });
    const { log, lines } = capture();
    const code = await nodeProbeMain(env(), { host: fakeHost(machines.cpuOnly), nodeApi: api, log, retry: fast });
    expect(code).toBe(1);
    expect(calls).toHaveLength(3);
    const err = lines.find((l) => l.level === 50);
    expect(err).toMatchObject({ status: 503, code: "ServiceUnavailable" });
    expect(err?.msg).toMatch(/503 ServiceUnavailable/);
  });

  it("does not retry a Node that does not exist, and says NODE_NAME is wrong", async () => {
    const { api, calls } = fakeApi({
      failures: [new NodeApiError(404, "NotFound", 'get node n1: 404 NotFound: nodes "n1" not found')],
    });
    const { log, lines } = capture();
    const code = await nodeProbeMain(env(), { host: fakeHost(machines.cpuOnly), nodeApi: api, log, retry: fast });
    expect(code).toBe(1);
    expect(calls).toEqual(["uid n1"]);
    expect(lines.find((l) => l.level === 50)?.msg).toMatch(/node "n1" does not exist .*NODE_NAME/);
  });

  it("exits 0 without labelling when stopped during the probe", async () => {
    const stop = new AbortController();
    const host = fakeHost(machines.rtx);
    const runner = host.runner;
    host.runner = async (cmd, args, o) => {
      if (args.includes("-c:v")) stop.abort();
      return runner(cmd, args, o);
    };
    const { api, calls } = fakeApi();
    const code = await nodeProbeMain(env(), { host, nodeApi: api, log: capture().log, signal: stop.signal });
    expect(code).toBe(0);
    expect(calls).toEqual([]);
  });

  it("exits 2 naming the variable when NODE_NAME is missing or the interval is not a duration", async () => {
    const { log, text } = capture();
    expect(await nodeProbeMain({ REEL_PROBE_INTERVAL: "6 hours" }, { log })).toBe(2);
    expect(text()).toMatch(/NODE_NAME is required/);
    expect(text()).toMatch(/"6 hours" is not a duration/);
  });
});

describe("parseInterval", () => {
  it.each([
    ["6h", 21_600_000],
    ["30m", 1_800_000],
    ["1h30m", 5_400_000],
    ["90s", 90_000],
    ["250ms", 250],
    ["0", 0],
    ["", 0],
    [undefined, 0],
  ])("reads %j as %d ms", (text, ms) => {
    expect(parseInterval(text)).toBe(ms);
  });

  it.each(["6", "6 h", "-1h", "1d", "h"])("refuses %j", (text) => {
    expect(() => parseInterval(text)).toThrow(/not a duration/);
  });
});
