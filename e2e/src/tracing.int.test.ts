// One trace across the shim, the operator and a worker pod, received by a real OTLP/HTTP endpoint
// (a node:http server decoding the exporters' JSON): the shim on PostgreSQL, Redis and the L2
// control plane handles a create call, the operator reconciles the VideoJob it wrote, and a real
// episode pod (ffmpeg, the Rust core, a loopback source, a volume output) runs with TRACEPARENT
// taken from the shim's answer.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addUser } from "../../api-shim/src/admin.ts";
import { parseConfig as shimConfig } from "../../api-shim/src/config.ts";
import { connectPostgres } from "../../api-shim/src/db/database.ts";
import { migrate } from "../../api-shim/src/db/migrate.ts";
import { type RunningShim, startShim } from "../../api-shim/src/main.ts";
import { parseConfig as operatorConfig } from "../../operator/src/config.ts";
import { type RunningOperator, startOperator } from "../../operator/src/main.ts";
import { type StaticServer, serveDir } from "../../worker-image/src/cli/serve.ts";
import { makeTestClip } from "../../worker-image/src/ffmpeg/test-media.ts";
import { workerMain } from "../../worker-image/src/worker/main.ts";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "./services/postgres.ts";
import { type RedisServer, startRedis } from "./services/redis.ts";
import { until } from "./until.ts";

interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
}

/** OTLP/JSON ids are hex in the JS exporters; the protobuf JSON mapping would send base64. */
const hex = (id: unknown): string => {
  const s = typeof id === "string" ? id : "";
  return /^[0-9a-f]*$/.test(s) ? s : Buffer.from(s, "base64").toString("hex");
};

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const anyValue = (v: AnyValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));

/** A tiny OTLP/HTTP trace receiver: POST /v1/traces with a JSON ExportTraceServiceRequest. */
function otlpReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[]; contentTypes: Set<string> }> {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      contentTypes.add(String(req.headers["content-type"]));
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: AnyValue }[] };
          scopeSpans: {
            spans: {
              name: string;
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              attributes?: { key: string; value: AnyValue }[];
            }[];
          }[];
        }[];
      };
      for (const rs of body.resourceSpans) {
        const service = String(
          anyValue(rs.resource.attributes.find((a) => a.key === "service.name")?.value ?? {}) ?? "",
        );
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              service,
              name: s.name,
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId ?? ""),
              attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, anyValue(a.value)])),
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      const port = typeof a === "object" && a ? a.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}`, spans, contentTypes });
    }),
  );
}

const built = k8sBinariesBuilt();
const crd = join(import.meta.dirname, "..", "..", "crds", "generated", "videojob.crd.yaml");

describe.skipIf(!built)("OpenTelemetry traces across the shim, the operator and a worker pod", () => {
  let dir: string;
  let cluster: Cluster;
  let pg: PostgresServer;
  let redis: RedisServer;
  let shim: RunningShim;
  let operator: RunningOperator | undefined;
  let source: StaticServer;
  let otlp: Awaited<ReturnType<typeof otlpReceiver>>;
  let key: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-tracing-"));
    otlp = await otlpReceiver();
    await mkdir(join(dir, "src"));
    [cluster, pg, redis] = await Promise.all([
      clusterUp({ level: 2, dir: join(dir, "cluster") }),
      startPostgres(),
      startRedis(),
      makeTestClip(join(dir, "src", "clip.mp4"), { seconds: 1.5 }),
    ]);
    source = await serveDir(join(dir, "src"), { host: "127.0.0.2" });
    process.env.KUBECONFIG = cluster.kubeconfig;
    await cluster.kubectl(["apply", "--server-side", "-f", crd]);
    await cluster.kubectl(["create", "namespace", "media"]);
    await cluster.kubectl(["create", "namespace", "reel-system"]);
    await until("the CRD to be served", async () => (await cluster.kubectl(["get", "videojobs", "-A"])) !== undefined);
    const sql = connectPostgres(pg.url, 1);
    await migrate(sql);
    key = (await addUser(sql, { name: "olga", role: "operator", tenant: "media" })).key;
    await sql.end();
    shim = await startShim(
      shimConfig({
        REEL_SHIM_PORT: "0",
        REEL_SHIM_HOST: "127.0.0.1",
        DATABASE_URL: pg.url,
        REEL_REDIS_URL: redis.url,
        LOG_LEVEL: "warn",
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      }),
      { webhooks: false },
    );
    await until("the shim to be healthy", async () => (await fetch(`http://127.0.0.1:${shim.port}/api/health`)).ok);
    operator = await startOperator(
      operatorConfig({
        REEL_METRICS_PORT: "0",
        REEL_METRICS_HOST: "127.0.0.1",
        REEL_LEADER_ELECT: "false",
        LOG_LEVEL: "warn",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
        OTEL_SERVICE_NAME: "reel-operator-test",
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled([shim?.stop(), operator?.stop(), source?.close()]);
    await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop()]);
    await new Promise((r) => otlp?.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it("exports the create call's span, the operator's reconcile and the pod's stages in one trace, each parented right", async () => {
    const callerTrace = "5bf92f3577b34da6a3ce929d0e0e4737";
    const callerSpan = "10f067aa0ba902b7";
    const res = await fetch(`http://127.0.0.1:${shim.port}/api/v1/jobs`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      },
      body: JSON.stringify({
        name: "traced",
        spec: {
          episodes: [{ url: `${source.origin}/clip.mp4`, title: "Pilot" }],
          gpu: { policy: "off" },
          output: { volume: { claimName: "media", path: "/shows" } },
        },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const traceparent = res.headers.get("traceparent") ?? "";
    const [, traceId, shimSpanId] = traceparent.split("-");
    expect(traceId).toBe(callerTrace);
    const vj = JSON.parse(await cluster.kubectl(["-n", "media", "get", "videojob", "traced", "-o", "json"]));
    expect(vj.metadata.annotations["reel.dev/trace-id"]).toBe(traceId);

    // The pod, as the operator's Job runs it, continuing the trace from the shim's span.
    const out = join(dir, "volume", "shows");
    const logs = new PassThrough().resume();
    const code = await workerMain(
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REEL_EGRESS_ALLOW: "127.0.0.2/32",
        REEL_CACHE_DIR: join(dir, "scratch"),
        REEL_TERMINATION_LOG: join(dir, "termination"),
        REEL_MODE: "episode",
        REEL_VIDEOJOB: "media/traced",
        REEL_VIDEOJOB_UID: vj.metadata.uid,
        REEL_EPISODE_INDEX: "0",
        REEL_EPISODE_URL: `${source.origin}/clip.mp4`,
        REEL_SPEC: JSON.stringify(vj.spec),
        REEL_STAGING: `${join(out, ".reel-staging", vj.metadata.uid)}/`,
        REEL_TRACE_ID: traceId,
        TRACEPARENT: traceparent,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      },
      { logStream: logs },
    );
    expect(code).toBe(0);

    // The worker flushed before it returned; the shim's and the operator's batches leave on stop.
    await until("the operator's reconcile span", async () => {
      await operator?.stop();
      operator = undefined;
      return otlp.spans.some((s) => s.service === "reel-operator-test");
    });
    await until("the shim's request span", async () =>
      otlp.spans.some((s) => s.service === "reel-shim" && s.name === "POST /api/v1/jobs"),
    );

    const create = otlp.spans.find((s) => s.service === "reel-shim" && s.name === "POST /api/v1/jobs");
    expect(create).toMatchObject({
      traceId,
      spanId: shimSpanId,
      parentSpanId: callerSpan,
      attributes: {
        "http.request.method": "POST",
        "http.route": "/api/v1/jobs",
        "http.response.status_code": 201,
      },
    });

    const reconciles = otlp.spans.filter((s) => s.service === "reel-operator-test" && s.traceId === traceId);
    expect(reconciles.length).toBeGreaterThan(0);
    expect(reconciles[0]).toMatchObject({
      name: "reconcile VideoJob",
      attributes: { "reel.videojob": "media/traced" },
    });
    expect(reconciles.some((s) => s.attributes["reel.decision.create"] === 1)).toBe(true);
    // Every reconcile hangs from the create call's span (the shim names it in reel.dev/parent-span-id).
    expect(new Set(reconciles.map((s) => s.parentSpanId))).toEqual(new Set([shimSpanId]));

    const worker = otlp.spans.filter((s) => s.service === "reel-worker");
    const podSpan = worker.find((s) => s.name === "worker episode");
    expect(podSpan).toMatchObject({
      traceId,
      parentSpanId: shimSpanId,
      attributes: {
        "reel.videojob": "media/traced",
        "reel.episode": 0,
        "reel.phase": "Completed",
        "reel.exit_code": 0,
      },
    });
    const stages = worker.filter((s) => s !== podSpan);
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(["fetch", "probe", "encode", "upload"]));
    expect(stages.filter((s) => s.name === "upload").map((s) => s.attributes["reel.object"])).toEqual([
      "ep0.mp4",
      "ep0.json",
    ]);
    for (const s of stages) expect(s).toMatchObject({ traceId, parentSpanId: podSpan?.spanId });
    expect([...otlp.contentTypes]).toEqual(["application/json"]);
    // What the README shows.
    process.stdout.write(
      `received spans:\n${otlp.spans
        .filter((s) => s.traceId === traceId)
        .map((s) => `  ${s.service.padEnd(19)} ${s.name.padEnd(20)} span ${s.spanId} parent ${s.parentSpanId}`)
        .join("\n")}\n`,
    );
  }, 240_000);
});
