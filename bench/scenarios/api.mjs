// api-status and api-sse: the REST shim (`node api-shim/src/main.ts`, its own process) on a real
// PostgreSQL 15, redis-server and the L2 control plane (etcd + kube-apiserver), all on loopback, one
// set per bench run shared by both scenarios.
//   api-status  GET /api/v1/jobs/:id/status under autocannon (bench/tools/http-load.mjs, its own
//               process, 200 connections, after a warm-up), against a bare Fastify hello-world
//               (bench/tools/hello-server.mjs: same fastify, same Node, its own process) loaded the
//               same way in the same rounds. Requests/s, higher is better; p99 latency beside it.
//   api-sse     N SSE subscribers on one job (bench/tools/sse-load.ts, its own process), then one
//               phase change on the VideoJob's status subresource; seconds from the PATCH until the
//               last subscriber had the phase event, lower is better.
// Every round starts the server afresh and stops it with SIGTERM, so its peak RSS is GNU time's.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { join } from "node:path";
import { k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import { startPostgres } from "../../e2e/src/services/postgres.ts";
import { startRedis } from "../../e2e/src/services/redis.ts";
import { makeTempDir, onCleanup } from "../lib/cleanup.mjs";
import { config } from "../lib/config.mjs";
import { startControlPlane } from "../lib/controlplane.mjs";
import { freePort } from "../lib/nginx.mjs";
import { failureReason, runMeasured } from "../lib/proc.mjs";
import { cpuSeconds, rssMb } from "../lib/procfs.mjs";
import { errorRow, goal, median, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import { nodeBinary, reelOutcome, repoRoot } from "../lib/tools.mjs";
import { loadProblem } from "../tools/http-load.mjs";

const shimMain = join(repoRoot, "api-shim", "src", "main.ts");
const adminCli = join(repoRoot, "api-shim", "src", "admin.ts");
const helloServer = join(repoRoot, "bench", "tools", "hello-server.mjs");
const httpLoad = join(repoRoot, "bench", "tools", "http-load.mjs");
const sseLoad = join(repoRoot, "bench", "tools", "sse-load.ts");
const crdFile = join(repoRoot, "crds", "generated", "videojob.crd.yaml");
const TENANT = "bench";
const STATUS_JOB = "bench-status";
const CONNECTIONS = 200;
// Per address and per key, per window: high enough that no request of a run is ever refused (a full
// api-status round sends about 10^6). Every request is still counted against the Redis window, as
// deployed: the shim leases tokens from it (api-shim/src/ratelimit/lease.ts).
const RATE_LIMIT = 1_000_000_000;
/** Streams one credential may hold: api-sse opens all of its streams with the one key. */
const SSE_STREAM_CAP = 100_000;
// The status GET answers with this (what a job mid-way looks like), not an empty object.
const STATUS = { phase: "Processing", progress: 42, episodesSummary: "1/2" };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function apiParams(quick) {
  return quick
    ? { rounds: 2, durationS: 5, warmupS: 1, subscribers: 200, sseRounds: 2 }
    : { rounds: 5, durationS: 10, warmupS: 3, subscribers: 1000, sseRounds: 5 };
}

/** The key `shim:admin add-user` prints once, or null. */
export function parseAdminKey(stdout) {
  return /^API key \(shown once\): (\S+)$/m.exec(stdout)?.[1] ?? null;
}

/** A job as a user would submit it: two episodes, CPU only, S3 output. */
export function jobBody(name) {
  return {
    name,
    spec: {
      episodes: [
        { url: `https://cdn.example.com/${name}/0.mp4`, title: "Pilot" },
        { url: `https://cdn.example.com/${name}/1.mp4`, title: "Two" },
      ],
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
    },
  };
}

/** used_cpu_user + used_cpu_sys (seconds) from Redis's `INFO cpu` answer, or null. */
export function parseRedisCpu(info) {
  const user = /^used_cpu_user:([\d.]+)/m.exec(info);
  const sys = /^used_cpu_sys:([\d.]+)/m.exec(info);
  return user && sys ? Number(user[1]) + Number(sys[1]) : null;
}

/** CPU seconds redis-server has spent so far (INFO cpu over a plain connection), or null. */
function redisCpuSeconds(port) {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(null));
    s.once("error", () => done(null));
    s.once("connect", () => s.write("INFO cpu\r\n"));
    s.setEncoding("utf8");
    s.on("data", (d) => {
      text += d;
      // A bulk string: $<len>\r\n<payload>\r\n
      const m = /^\$(\d+)\r\n/.exec(text);
      if (m && Buffer.byteLength(text) >= m[0].length + Number(m[1]) + 2) done(parseRedisCpu(text));
    });
  });
}

/** Why the scenario cannot run here, or null. */
function missingServices() {
  const pgBin = process.env.REEL_PG_BIN ?? "/usr/lib/postgresql/15/bin";
  if (!k8sBinariesBuilt()) return "kube-apiserver/etcd not built: run e2e/scripts/build-k8s.sh";
  if (!existsSync(join(pgBin, "postgres"))) return `PostgreSQL 15 not found in ${pgBin} (Debian: postgresql-15)`;
  if (!process.env.PATH?.split(":").some((d) => existsSync(join(d, "redis-server"))))
    return "redis-server not on the PATH (Debian: redis-server)";
  return null;
}

let services;
/** PostgreSQL, Redis and the control plane with the CRD, a tenant and its key: once per bench run. */
function apiServices(log) {
  services ??= startServices(log);
  return services;
}

async function startServices(log) {
  const why = missingServices();
  if (why) return { error: why };
  const { dir } = makeTempDir("reel-bench-api-");
  log(`services: PostgreSQL 15, redis-server, L2 control plane in ${dir}`);
  const stopping = (p, stop) =>
    p.then((s) => {
      onCleanup(() => stop(s));
      return s;
    });
  const [cluster, pg, redis] = await Promise.all([
    startControlPlane(join(dir, "cluster")),
    stopping(startPostgres(), (s) => s.stop()),
    stopping(startRedis(), (s) => s.stop()),
  ]);
  await cluster.kubectl(["apply", "--server-side", "-f", crdFile]);
  await cluster.kubectl(["wait", "--for=condition=Established", "crd/videojobs.reel.dev", "--timeout=60s"]);
  await cluster.kubectl(["create", "namespace", TENANT]);
  const admin = await runMeasured(
    nodeBinary(),
    [adminCli, "add-user", "--name", "bench", "--role", "operator", "--tenant", TENANT],
    { timeoutMs: 60_000, cwd: repoRoot, env: { ...process.env, DATABASE_URL: pg.url } },
  );
  const key = parseAdminKey(admin.stdout);
  if (admin.code !== 0 || !key) throw new Error(failureReason(admin, "shim:admin add-user"));
  const shimEnv = (port) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KUBECONFIG: cluster.kubeconfig,
    DATABASE_URL: pg.url,
    REEL_REDIS_URL: redis.url,
    REEL_SHIM_HOST: "127.0.0.1",
    REEL_SHIM_PORT: String(port),
    REEL_RATE_LIMIT_IP: String(RATE_LIMIT),
    REEL_RATE_LIMIT_KEY: String(RATE_LIMIT),
    // api-sse opens its 1,000 streams with one key: lifted like the rate limits (default 20).
    REEL_STREAMS_PER_CREDENTIAL: String(SSE_STREAM_CAP),
    LOG_LEVEL: config.shimLogLevel,
  });
  return { dir, cluster, pg, redis, key, shimEnv };
}

/**
 * A server in its own Node process under runMeasured (its peak RSS is GNU time's at exit), its
 * stdout appended to `logFile`, as a container runtime would take it: a server logging every request
 * must not wait on the harness reading a pipe. `ready()` waits until `check()` says it serves;
 * `stop()` SIGTERMs it and wants exit 0.
 */
function startServer(label, args, env, logFile, check) {
  let ctl;
  let exited = false;
  const done = runMeasured(nodeBinary(), args, {
    timeoutMs: 900_000,
    cwd: repoRoot,
    env,
    stdoutFile: logFile,
    onStart(c) {
      ctl = c;
    },
  });
  done.then(() => {
    exited = true;
  });
  const kill = async () => {
    if (exited) return done;
    ctl?.kill("SIGKILL");
    return done;
  };
  return {
    pid: () => ctl?.pid() ?? null,
    logFile,
    async ready(limitMs = 60_000) {
      const by = performance.now() + limitMs;
      for (;;) {
        if (exited) throw new Error(`${failureReason(await done, label)} (log: ${logFile})`);
        if (ctl?.pid() && (await check().catch(() => false))) return;
        if (performance.now() > by) {
          await kill();
          throw new Error(`${label} did not serve within ${limitMs / 1000} s (log: ${logFile})`);
        }
        await sleep(50);
      }
    },
    async stop() {
      ctl?.kill("SIGTERM");
      const timer = setTimeout(() => ctl?.kill("SIGKILL"), 15_000);
      const res = await done;
      clearTimeout(timer);
      if (res.code !== 0) throw new Error(`${failureReason(res, `${label} (after SIGTERM)`)} (log: ${logFile})`);
      return res;
    },
    kill,
  };
}

/**
 * What a server logged per request it answered: its whole log (start-up and warm-up included) over
 * its request lines: the shim's one line per request (`"msg":"request"`, written in its onResponse
 * hook), or Fastify's own `request completed` for a server that logs the Fastify way.
 */
export function logVolume(log) {
  const text = typeof log === "string" ? log : log.toString("utf8");
  let lines = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
  let completed = 0;
  for (const mark of ['"msg":"request completed"', '"msg":"request"}']) {
    for (let i = text.indexOf(mark); i >= 0; i = text.indexOf(mark, i + 1)) completed++;
  }
  const bytes = Buffer.byteLength(text);
  return {
    bytes,
    lines,
    completed,
    bytesPerRequest: completed ? bytes / completed : null,
    linesPerRequest: completed ? lines / completed : null,
  };
}

const ok = (url, init) => fetch(url, init).then((r) => r.ok);

let logSeq = 0;
function startShim(svc, port) {
  const prof = config.shimCpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", config.shimCpuProfDir] : [];
  const logFile = join(svc.dir, `shim-${++logSeq}.log`);
  return startServer("shim", [...prof, shimMain], svc.shimEnv(port), logFile, () =>
    ok(`http://127.0.0.1:${port}/api/health`),
  );
}

/** Creates a job through the API (201, or 409 when a previous round made it). */
async function createJob(base, key, name) {
  const res = await fetch(`${base}/api/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(jobBody(name)),
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`POST /api/v1/jobs: ${res.status} ${await res.text()}`);
}

/**
 * One autocannon run against `url` from its own process; the server's CPU is counted from the end
 * of the warm-up to the end of the run. Throws when any answer was not 2xx.
 */
async function loadServer(server, url, headers, p, redisPort) {
  let cpu0 = null;
  let redis0 = null;
  const rss0 = rssMb(server.pid());
  const res = await runMeasured(
    nodeBinary(),
    [httpLoad, JSON.stringify({ url, connections: CONNECTIONS, durationS: p.durationS, warmupS: p.warmupS, headers })],
    {
      timeoutMs: (p.durationS + p.warmupS + 60) * 1000,
      cwd: repoRoot,
      onLine(line) {
        if (!line.startsWith('{"event":"warm"')) return;
        cpu0 = cpuSeconds(server.pid());
        if (redisPort) redisCpuSeconds(redisPort).then((v) => (redis0 = v));
      },
    },
  );
  const cpu1 = cpuSeconds(server.pid());
  const redis1 = redisPort ? await redisCpuSeconds(redisPort) : null;
  const { report } = reelOutcome(res, "http-load").done;
  const problem = loadProblem(report);
  if (problem) throw new Error(`${url}: ${problem}`);
  return {
    report,
    idleRssMb: rss0,
    serverCores: cpu0 != null && cpu1 != null ? (cpu1 - cpu0) / report.durationS : null,
    loadCores: report.cpuS / report.durationS,
    redisCores: redis0 != null && redis1 != null ? (redis1 - redis0) / report.durationS : null,
  };
}

const noServices = (scenario, unit, higher, tools, why, goals) => ({
  scenario,
  unit,
  higher_is_better: higher,
  rssOverIdle: false,
  rows: tools.map((t) => errorRow(t, why)),
  goals: goals.map((g) => goal(g, null, why)),
  params: {},
});

/**
 * shim/hello requests/s of each round (the two run back to back in a round), and their median: a
 * machine whose load changes between rounds moves both servers of a round alike, which the ratio of
 * the two rows' medians (taken over different rounds) does not account for.
 */
export function pairedRatios(shimRounds, helloRounds) {
  const ratios = [];
  for (let i = 0; i < Math.min(shimRounds.length, helloRounds.length); i++) {
    const a = shimRounds[i]?.rps;
    const b = helloRounds[i]?.rps;
    if (typeof a === "number" && typeof b === "number" && b > 0) ratios.push(round(a / b));
  }
  return { ratios, median: ratios.length ? round(median(ratios)) : null };
}

const medianOf = (details, k) => {
  const v = details.map((d) => d[k]).filter((x) => typeof x === "number");
  return v.length ? round(median(v)) : null;
};

function versions() {
  const req = (from) => createRequire(join(from, "x.js"));
  return {
    fastify_shim: req(join(repoRoot, "api-shim", "src"))("fastify/package.json").version,
    fastify_hello: req(join(repoRoot, "bench", "tools"))("fastify/package.json").version,
    autocannon: req(join(repoRoot, "bench", "tools"))("autocannon/package.json").version,
  };
}

export async function apiStatus({ quick, log }) {
  const p = apiParams(quick);
  const goalName = "reel-shim requests/s >= 0.5 x hello";
  const svc = await apiServices(log);
  if (svc.error) return noServices("api-status", "requests/s", true, ["reel-shim", "hello"], svc.error, [goalName]);
  const headers = { authorization: `Bearer ${svc.key}` };
  const details = { "reel-shim": [], hello: [] };
  let statusReady = false;

  const shimTool = {
    name: "reel-shim",
    async run() {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const shim = startShim(svc, port);
      try {
        await shim.ready();
        if (!statusReady) {
          await createJob(base, svc.key, STATUS_JOB);
          await svc.cluster.kubectl([
            ...["-n", TENANT, "patch", "videojob", STATUS_JOB, "--subresource=status", "--type=merge"],
            ...["-p", JSON.stringify({ status: STATUS })],
          ]);
          statusReady = true;
        }
        const url = `${base}/api/v1/jobs/${STATUS_JOB}/status`;
        // The watch has the status before the load starts: every answer is the same body.
        for (const by = performance.now() + 30_000; ; await sleep(100)) {
          const r = await fetch(url, { headers });
          const body = r.ok ? await r.json() : null;
          if (body?.phase === STATUS.phase) break;
          if (performance.now() > by) throw new Error(`${url} never showed phase ${STATUS.phase}`);
        }
        const m = await loadServer(shim, url, headers, p, svc.redis.port);
        const res = await shim.stop();
        const logged = logVolume(readFileSync(shim.logFile));
        rmSync(shim.logFile, { force: true });
        details["reel-shim"].push({
          ...detail(m),
          log_bytes_per_request: round(logged.bytesPerRequest),
          log_lines_per_request: round(logged.linesPerRequest),
        });
        return { value: m.report.rps, rssMb: res.peakRssMb };
      } finally {
        await shim.kill();
      }
    },
  };
  const helloTool = {
    name: "hello",
    async run() {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/hello`;
      const logFile = join(svc.dir, `hello-${++logSeq}.log`);
      const hello = startServer("hello-server", [helloServer, String(port)], process.env, logFile, () => ok(url));
      try {
        await hello.ready();
        const m = await loadServer(hello, url, {}, p);
        const res = await hello.stop();
        details.hello.push(detail(m));
        return { value: m.report.rps, rssMb: res.peakRssMb };
      } finally {
        await hello.kill();
      }
    },
  };

  const results = await runRounds({ rounds: p.rounds, tools: [shimTool, helloTool], log });
  const rows = rowsFrom(results, (name) => {
    const d = details[name];
    return {
      p99_ms: medianOf(d, "p99_ms"),
      p50_ms: medianOf(d, "p50_ms"),
      p999_ms: medianOf(d, "p999_ms"),
      connections: CONNECTIONS,
      requests_median: medianOf(d, "requests"),
      server_cpu_cores: medianOf(d, "server_cpu_cores"),
      server_cpu_us_per_request: medianOf(d, "server_cpu_us_per_request"),
      redis_cpu_cores: medianOf(d, "redis_cpu_cores"),
      load_cpu_cores: medianOf(d, "load_cpu_cores"),
      log_bytes_per_request: medianOf(d, "log_bytes_per_request"),
      log_lines_per_request: medianOf(d, "log_lines_per_request"),
      idle_rss_mb: medianOf(d, "idle_rss_mb"),
    };
  });
  const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
  const shim = by["reel-shim"];
  const hello = by.hello;
  const ratio = shim.median != null && hello.median ? shim.median / hello.median : null;
  const paired = pairedRatios(details["reel-shim"], details.hello);
  const cpuRatio =
    shim.server_cpu_us_per_request != null && hello.server_cpu_us_per_request
      ? round(shim.server_cpu_us_per_request / hello.server_cpu_us_per_request)
      : null;
  return {
    scenario: "api-status",
    unit: "requests/s",
    higher_is_better: true,
    rssOverIdle: false,
    rows,
    goals: [
      goal(
        goalName,
        ratio == null ? null : ratio >= 0.5,
        ratio == null
          ? "a row has no numbers"
          : `${shim.median} vs ${hello.median} requests/s (ratio ${round(ratio)}); p99 ${shim.p99_ms} vs ${hello.p99_ms} ms at ${CONNECTIONS} connections; per round ${paired.ratios.join(", ")} (median ${paired.median}); server CPU per request ${shim.server_cpu_us_per_request} vs ${hello.server_cpu_us_per_request} us (${cpuRatio}x)`,
      ),
    ],
    params: {
      rounds: p.rounds,
      paired_ratios: paired.ratios,
      paired_ratio_median: paired.median,
      cpu_per_request_ratio: cpuRatio,
      connections: CONNECTIONS,
      duration_s: p.durationS,
      warmup_s: p.warmupS,
      load: "autocannon in its own process (bench/tools/http-load.mjs): a warm-up run, then the measured one; requests/s is autocannon's Req/Sec average, latencies 2xx only at 1 ms resolution",
      shim_route: `GET /api/v1/jobs/${STATUS_JOB}/status with an API key (principal cached 5 s, forgotten on NOTIFY reel_auth; both rate limiters count every request against their Redis window, in leases of up to 4096 tokens)`,
      hello_route: 'GET /hello -> {"hello":"world"}, Fastify({ logger: false }), no plugins',
      status_body: STATUS,
      shim_env: {
        LOG_LEVEL: config.shimLogLevel,
        REEL_RATE_LIMIT_IP: RATE_LIMIT,
        REEL_RATE_LIMIT_KEY: RATE_LIMIT,
        REEL_RATE_LIMIT_WINDOW_MS: "default (60000)",
        REEL_STREAMS_PER_CREDENTIAL: SSE_STREAM_CAP,
      },
      services: "PostgreSQL 15, redis-server, L2 control plane (etcd + kube-apiserver), loopback",
      ...versions(),
      cpu_prof_dir: config.shimCpuProfDir,
      rounds_detail: details,
    },
  };
}

function detail(m) {
  return {
    rps: round(m.report.rps),
    requests: m.report.requests,
    p50_ms: m.report.latencyMs.p50,
    p99_ms: m.report.latencyMs.p99,
    p999_ms: m.report.latencyMs.p999,
    max_ms: m.report.latencyMs.max,
    server_cpu_cores: round(m.serverCores),
    server_cpu_us_per_request: m.serverCores == null ? null : round((m.serverCores * 1e6) / m.report.rps),
    redis_cpu_cores: round(m.redisCores),
    load_cpu_cores: round(m.loadCores),
    idle_rss_mb: round(m.idleRssMb),
  };
}

export async function apiSse({ quick, log }) {
  const p = apiParams(quick);
  const goalName = `all ${p.subscribers} subscribers get the phase change within 1 s`;
  const svc = await apiServices(log);
  if (svc.error) return noServices("api-sse", "s", false, ["reel-shim"], svc.error, [goalName]);
  const details = [];
  const shimTool = {
    name: "reel-shim",
    async run(r) {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const shim = startShim(svc, port);
      try {
        await shim.ready();
        const job = `bench-sse-${r + 1}-${Date.now().toString(36)}`;
        await createJob(base, svc.key, job);
        const rss0 = rssMb(shim.pid());
        let rssConnected = null;
        const res = await runMeasured(
          nodeBinary(),
          [
            sseLoad,
            JSON.stringify({
              base,
              key: svc.key,
              namespace: TENANT,
              job,
              subscribers: p.subscribers,
              phase: "Downloading",
              timeoutMs: 10_000,
            }),
          ],
          {
            timeoutMs: 180_000,
            cwd: repoRoot,
            env: { ...process.env, KUBECONFIG: svc.cluster.kubeconfig },
            onLine(line) {
              if (line.startsWith('{"event":"connected"')) rssConnected = rssMb(shim.pid());
            },
          },
        );
        const { report } = reelOutcome(res, "sse-load").done;
        const stopped = await shim.stop();
        const d = {
          subscribers: report.subscribers,
          received: report.received,
          last_s: report.lastMs == null ? null : round(report.lastMs / 1000),
          first_s: report.firstMs == null ? null : round(report.firstMs / 1000),
          p50_s: report.p50Ms == null ? null : round(report.p50Ms / 1000),
          p99_s: report.p99Ms == null ? null : round(report.p99Ms / 1000),
          connect_s: round(report.connectMs / 1000),
          patch_ms: round(report.patchMs),
          sse_clients_gauge: report.sseClients,
          stream_errors: report.errors,
          first_error: report.firstError,
          rss_before_mb: round(rss0),
          rss_connected_mb: round(rssConnected),
        };
        details.push(d);
        if (report.received !== p.subscribers)
          throw new Error(
            `${report.received} of ${p.subscribers} subscribers got the phase event within ${report.timeoutMs / 1000} s`,
          );
        return { value: report.lastMs / 1000, rssMb: stopped.peakRssMb };
      } finally {
        await shim.kill();
      }
    },
  };
  const results = await runRounds({ rounds: p.sseRounds, tools: [shimTool], log });
  const complete = details.filter((d) => d.received === d.subscribers);
  const rows = rowsFrom(results, () => ({
    subscribers: p.subscribers,
    received_min: details.length ? Math.min(...details.map((d) => d.received)) : null,
    first_s: medianOf(complete, "first_s"),
    p50_s: medianOf(complete, "p50_s"),
    p99_s: medianOf(complete, "p99_s"),
    connect_s: medianOf(details, "connect_s"),
    patch_ms: medianOf(details, "patch_ms"),
    rss_connected_mb: medianOf(details, "rss_connected_mb"),
  }));
  const row = rows[0];
  const allGot = details.length > 0 && complete.length === details.length;
  const pass = details.length === 0 ? null : allGot && row.median != null && row.median <= 1;
  return {
    scenario: "api-sse",
    unit: "s",
    higher_is_better: false,
    rssOverIdle: false,
    rows,
    goals: [
      goal(
        goalName,
        pass,
        details.length === 0
          ? "no round ran"
          : `last subscriber after ${row.median} s (median of ${complete.length} complete rounds; min ${row.min}, max ${row.max}); ${
              allGot
                ? `all ${p.subscribers} received it every round`
                : `rounds with fewer: ${details
                    .filter((d) => d.received !== d.subscribers)
                    .map((d) => d.received)
                    .join(", ")}`
            }`,
      ),
    ],
    params: {
      rounds: p.sseRounds,
      subscribers: p.subscribers,
      load: "bench/tools/sse-load.ts in its own process: an undici Pool with a connection per stream, 100 streams opening at once until each has its snapshot; then the shim's reel_shim_sse_clients must equal the count",
      change:
        "PATCH (merge) of the VideoJob's status subresource to phase Downloading through the operator's KubeApi, on a connection already open; time from sending it to each stream's phase event, on the load process's clock",
      shim_env: {
        LOG_LEVEL: config.shimLogLevel,
        REEL_RATE_LIMIT_IP: RATE_LIMIT,
        REEL_RATE_LIMIT_KEY: RATE_LIMIT,
      },
      services: "PostgreSQL 15, redis-server, L2 control plane (etcd + kube-apiserver), loopback",
      cpu_prof_dir: config.shimCpuProfDir,
      rounds_detail: details,
    },
  };
}
