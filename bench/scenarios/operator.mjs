// operator-scale: N VideoJobs of 8 episodes on a real control plane (L2: etcd + kube-apiserver from
// e2e/cluster/cluster.sh, on loopback), Jobs per second, higher is better.
//   client-loop    bench/tools/kube-load.ts POSTs the same N x 8 Jobs the operator plans (its own
//                  planEpisodeJobs), REEL_WORKERS requests at once, over the operator's KubeApi;
//                  timed from the first request to the last response.
//   reel-operator  `node operator/src/main.ts` in its own process; kube-load.ts creates the N
//                  VideoJobs (same client, same concurrency) and counts the namespace's Jobs with a
//                  `limit=1` list every 100 ms; timed from the first VideoJob request until all N x 8
//                  Jobs exist. Then, with the operator idle, one full resync (its periodic one) must
//                  write nothing: noop_writes.
// Every round uses a fresh namespace and removes its objects afterwards, so each starts from an
// empty apiserver.
import { join } from "node:path";
import { k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import { makeTempDir } from "../lib/cleanup.mjs";
import { config } from "../lib/config.mjs";
import { startControlPlane } from "../lib/controlplane.mjs";
import { freePort } from "../lib/nginx.mjs";
import { failureReason, runMeasured } from "../lib/proc.mjs";
import { cpuSeconds, PID_LINE, rssMb } from "../lib/procfs.mjs";
import { errorRow, goal, median, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import { nodeBinary, reelOutcome, repoRoot } from "../lib/tools.mjs";

const loadTool = join(repoRoot, "bench", "tools", "kube-load.ts");
const operatorMain = join(repoRoot, "operator", "src", "main.ts");
const crdFile = join(repoRoot, "crds", "generated", "videojob.crd.yaml");
// As the chart installs it: the apiserver adds the operator's finalizer when a VideoJob is created.
const policyFile = join(repoRoot, "crds", "generated", "videojob-finalizer-policy.yaml");
const EPISODES = 8;
// The operator's default REEL_WORKERS: reconciles at once, so at most this many writes in flight.
const WORKERS = 8;
// High enough that the client-side token bucket never waits (both sides use the same values).
const QPS = 10_000;
const BURST = 20_000;
const POLL_MS = 100;

/**
 * Prometheus text format into samples.
 * @param {string} text
 * @returns {{ name: string, labels: Record<string, string>, value: number }[]}
 */
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    /** @type {Record<string, string>} */
    const labels = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_x, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * Sum of a metric's samples, those `where` accepts (all by default).
 * @param {{ name: string, labels: Record<string, string>, value: number }[]} samples
 * @param {string} name
 * @param {(labels: Record<string, string>) => boolean} [where]
 */
export function metricSum(samples, name, where = () => true) {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((a, s) => a + s.value, 0);
}

/** What the benchmark reads from the operator's /metrics: writes exclude Lease renewals. */
export function operatorState(samples) {
  const writesByKind = {};
  for (const s of samples) {
    if (s.name !== "reel_operator_api_writes_total" || s.value === 0) continue;
    writesByKind[`${s.labels.verb} ${s.labels.kind}`] = s.value;
  }
  return {
    writes: metricSum(samples, "reel_operator_api_writes_total", (l) => l.kind !== "Lease"),
    writesByKind,
    reconciles: metricSum(samples, "reel_operator_reconcile_duration_seconds_count"),
    errors: metricSum(samples, "reel_operator_reconcile_errors_total"),
    queueDepth: metricSum(samples, "reel_operator_queue_depth"),
  };
}

/**
 * REEL_RESYNC_SECONDS for a round: long enough that no periodic resync lands while the Jobs are
 * being created (it would queue every VideoJob again and slow the timed part), short enough that
 * waiting for the one the noop check needs stays cheap. `estimateS`: the expected creation time.
 */
export function resyncSecondsFor(estimateS, minS = 20) {
  return Math.max(minS, Math.ceil(estimateS * 1.5 + 10));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function operatorScale({ quick, log }) {
  const p = quick ? { videojobs: 100, rounds: 2 } : { videojobs: 1000, rounds: 3 };
  const total = p.videojobs * EPISODES;
  const timeoutMs = quick ? 300_000 : 900_000;
  if (!k8sBinariesBuilt()) {
    const why = "kube-apiserver/etcd not built: run e2e/scripts/build-k8s.sh (cached after the first build)";
    return {
      scenario: "operator-scale",
      unit: "Jobs/s",
      higher_is_better: true,
      rssOverIdle: false,
      rows: [errorRow("client-loop", why), errorRow("reel-operator", why)],
      goals: [goal("reel-operator Jobs/s >= 0.8 x client-loop", null, why), goal("noop_writes = 0", null, why)],
      params: { videojobs: p.videojobs, episodes: EPISODES },
    };
  }
  const { dir, remove } = makeTempDir("reel-bench-operator-");
  log(`control plane: L2 (etcd + kube-apiserver) in ${dir}`);
  const cluster = await startControlPlane(join(dir, "cluster"));
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfig };
  await cluster.kubectl(["apply", "--server-side", "-f", crdFile]);
  await cluster.kubectl(["wait", "--for=condition=Established", "crd/videojobs.reel.dev", "--timeout=60s"]);
  await cluster.kubectl(["apply", "--server-side", "-f", policyFile]);

  const load = async (mode, namespace, extra = {}) => {
    const o = { namespace, videojobs: p.videojobs, episodes: EPISODES, concurrency: WORKERS, qps: QPS, burst: BURST };
    const res = await runMeasured(nodeBinary(), [loadTool, mode, JSON.stringify({ ...o, ...extra })], {
      timeoutMs,
      cwd: repoRoot,
      env,
    });
    return { res, report: reelOutcome(res, `kube-load ${mode}`).done.report };
  };
  const cleanup = async (namespace) => {
    const { report } = await load("cleanup", namespace);
    if (report.left) throw new Error(`cleanup of ${namespace} left ${report.left} Jobs`);
  };
  // apiserver and etcd CPU seconds spent over fn(): where the time of a round goes on a small machine.
  const controlPlaneCpu = async (fn) => {
    const before = Object.fromEntries(Object.entries(cluster.pids).map(([c, pid]) => [c, cpuSeconds(pid)]));
    const out = await fn();
    const used = (c) => round(cpuSeconds(cluster.pids[c]) - before[c]);
    return { out, apiserver_cpu_s: used("kube-apiserver"), etcd_cpu_s: used("etcd") };
  };

  const details = { "client-loop": [], "reel-operator": [] };
  const clientLoop = {
    name: "client-loop",
    async run(r) {
      const ns = `bench-loop-${r + 1}`;
      await cluster.kubectl(["create", "namespace", ns]);
      try {
        const { out, ...cpu } = await controlPlaneCpu(() => load("jobs", ns));
        const { res, report } = out;
        if (report.counted !== total) throw new Error(`${report.counted} Jobs exist after the loop, want ${total}`);
        const seconds = report.elapsedMs / 1000;
        details["client-loop"].push({ seconds, job_bytes: report.jobBytes, client_cpu_s: round(report.cpuS), ...cpu });
        return { value: total / seconds, rssMb: res.peakRssMb };
      } finally {
        await cleanup(ns);
      }
    },
  };

  const reelOperator = {
    name: "reel-operator",
    async run(r) {
      const ns = `bench-op-${r + 1}`;
      await cluster.kubectl(["create", "namespace", ns]);
      const port = await freePort();
      const previous = details["reel-operator"].at(-1)?.seconds;
      const loop = median(details["client-loop"].map((d) => d.seconds));
      const estimateS = previous ?? (loop != null ? loop * 3 : quick ? 15 : 120);
      const resyncS = resyncSecondsFor(estimateS);
      const opEnv = {
        KUBECONFIG: cluster.kubeconfig,
        REEL_METRICS_PORT: String(port),
        REEL_METRICS_HOST: "127.0.0.1",
        REEL_LEADER_ELECT: "false",
        LOG_LEVEL: "warn",
        REEL_MAX_RUNNING_PER_NAMESPACE: "0",
        REEL_API_QPS: String(QPS),
        REEL_API_BURST: String(BURST),
        REEL_WORKERS: String(WORKERS),
        REEL_RESYNC_SECONDS: String(resyncS),
      };
      let pid;
      let warnings = 0;
      let ctl;
      const profDir = config.operatorCpuProfDir;
      const operator = runMeasured(
        nodeBinary(),
        [...(profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : []), "--import", PID_LINE, operatorMain],
        {
          timeoutMs,
          cwd: repoRoot,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opEnv },
          onLine(line, c) {
            ctl = c;
            if (line.startsWith('{"bench":"pid"')) pid = JSON.parse(line).pid;
            else if (line.includes('"level":40') || line.includes('"level":50')) warnings++;
          },
        },
      );
      let exited = false;
      operator.then(() => {
        exited = true;
      });
      const metrics = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        return operatorState(parseMetrics(await res.text()));
      };
      const idle = async (what, untilFn = () => true, limitMs = 120_000) => {
        const deadline = performance.now() + limitMs;
        let last;
        let stable = 0;
        for (;;) {
          if (exited) throw new Error(`the operator exited while waiting for ${what}`);
          const s = await metrics();
          stable = last && s.writes === last.writes && s.reconciles === last.reconciles ? stable + 1 : 0;
          last = s;
          if (s.queueDepth === 0 && stable >= 3 && untilFn(s)) return s;
          if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await sleep(500);
        }
      };
      try {
        // Ready: the informers have listed and the queue runs (the resync clock starts here).
        const readyBy = performance.now() + 60_000;
        for (;;) {
          if (exited) throw new Error(failureReason(await operator, "operator"));
          const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
            .then((res) => res.ok)
            .catch(() => false);
          if (ok && pid) break;
          if (performance.now() > readyBy) throw new Error("the operator was not ready within 60 s");
          await sleep(50);
        }
        const readyAt = performance.now();
        const idleRss = rssMb(pid);
        const opCpu0 = cpuSeconds(pid);
        const { out, ...cpu } = await controlPlaneCpu(() =>
          load("videojobs", ns, { pollMs: POLL_MS, timeoutMs: timeoutMs - 30_000 }),
        );
        const { report } = out;
        const operatorCpu = round(cpuSeconds(pid) - opCpu0);
        const seconds = report.allJobsMs / 1000;
        // The first periodic resync comes resyncS after ready; it should come after the timed part.
        const resyncInTimedPart = readyAt + resyncS * 1000 < performance.now();
        log(`round ${r + 1} reel-operator: ${total} Jobs in ${round(seconds)} s; waiting for a resync (${resyncS} s)`);

        const before = await idle("the queue to settle");
        const after = await idle(
          "a full resync",
          (s) => s.reconciles >= before.reconciles + p.videojobs,
          (resyncS + 120) * 1000,
        );
        const noopWrites = after.writes - before.writes;
        details["reel-operator"].push({
          seconds,
          videojobs_created_s: round(report.createdMs / 1000),
          operator_cpu_s: operatorCpu,
          loader_cpu_s: round(report.cpuS),
          ...cpu,
          idle_rss_mb: round(idleRss),
          noop_writes: noopWrites,
          resync_reconciles: after.reconciles - before.reconciles,
          // Reconciles from the first VideoJob until the queue settled (the burst, before the resync).
          burst_reconciles: before.reconciles,
          reconcile_errors: after.errors,
          writes: before.writes,
          writes_by_kind: before.writesByKind,
          resync_s: resyncS,
          resync_in_timed_part: resyncInTimedPart,
          warnings,
          polls: report.polls,
        });
        if (resyncInTimedPart) log(`round ${r + 1}: a periodic resync fell inside the timed part`);
        ctl?.kill("SIGTERM");
        const res = await operator;
        if (res.code !== 0) throw new Error(failureReason(res, "operator (after SIGTERM)"));
        return { value: total / seconds, rssMb: res.peakRssMb };
      } finally {
        if (!exited) {
          ctl?.kill("SIGKILL");
          await operator;
        }
        await cleanup(ns);
      }
    },
  };

  try {
    const results = await runRounds({ rounds: p.rounds, tools: [clientLoop, reelOperator], log });
    const med = (tool, k) => {
      const v = details[tool].map((d) => d[k]).filter((x) => typeof x === "number");
      return v.length ? round(median(v)) : null;
    };
    const rows = rowsFrom(results, (name) => {
      const d = details[name];
      const common = {
        concurrency: WORKERS,
        seconds_median: med(name, "seconds"),
        apiserver_cpu_s: med(name, "apiserver_cpu_s"),
        etcd_cpu_s: med(name, "etcd_cpu_s"),
      };
      if (name === "client-loop")
        return { ...common, client_cpu_s: med(name, "client_cpu_s"), job_bytes: d[0]?.job_bytes ?? null };
      const noop = d.map((x) => x.noop_writes);
      return {
        ...common,
        noop_writes: noop.length ? Math.max(...noop) : null,
        operator_cpu_s: med(name, "operator_cpu_s"),
        idle_rss_mb: med(name, "idle_rss_mb"),
        videojobs_created_s: med(name, "videojobs_created_s"),
        reconcile_errors: d.length ? Math.max(...d.map((x) => x.reconcile_errors)) : null,
        writes_per_job: d.length ? round(d.at(-1).writes / total) : null,
      };
    });
    const by = Object.fromEntries(rows.map((row) => [row.tool, row]));
    const op = by["reel-operator"];
    const cl = by["client-loop"];
    const ratio = op.median != null && cl.median != null ? op.median / cl.median : null;
    const goals = [
      goal(
        "reel-operator Jobs/s >= 0.8 x client-loop",
        ratio == null ? null : ratio >= 0.8,
        ratio == null ? "a row has no numbers" : `${op.median} vs ${cl.median} Jobs/s (ratio ${round(ratio)})`,
      ),
      goal(
        "noop_writes = 0 (a full resync with nothing changed writes nothing)",
        op.noop_writes == null ? null : op.noop_writes === 0,
        op.noop_writes == null
          ? "not measured"
          : `max ${op.noop_writes} writes over ${details["reel-operator"].length} resync(s) of ${p.videojobs} VideoJobs`,
      ),
    ];
    return {
      scenario: "operator-scale",
      unit: "Jobs/s",
      higher_is_better: true,
      rssOverIdle: false,
      rows,
      goals,
      params: {
        videojobs: p.videojobs,
        episodes: EPISODES,
        jobs: total,
        rounds: p.rounds,
        concurrency: WORKERS,
        control_plane: "L2: etcd + kube-apiserver (e2e/cluster/cluster.sh), loopback, no controller-manager",
        client: "operator/src/kube/api.ts KubeApi (undici keep-alive, client certificate), both rows",
        client_loop: `POST of the Jobs planEpisodeJobs plans, ${WORKERS} at once; first request to last response`,
        reel_operator: `VideoJobs created ${WORKERS} at once; first create until a limit=1 Jobs list counts ${total} (polled every ${POLL_MS} ms)`,
        operator_env: {
          REEL_WORKERS: WORKERS,
          REEL_API_QPS: QPS,
          REEL_API_BURST: BURST,
          REEL_MAX_RUNNING_PER_NAMESPACE: 0,
          REEL_LEADER_ELECT: false,
          LOG_LEVEL: "warn",
          REEL_RESYNC_SECONDS: details["reel-operator"].map((d) => d.resync_s),
        },
        noop_check:
          "operator idle (queue empty, writes and reconciles unchanged for 1.5 s), then one periodic resync of every VideoJob; writes after - before, Lease excluded",
        operator_rounds: details["reel-operator"],
        client_loop_rounds: details["client-loop"],
      },
    };
  } finally {
    await cluster.down();
    await remove();
  }
}
