// Pod status as a kubelet writes it for a pod with one run of its containers (restartPolicy
// Never): Pending with a waiting reason, Running, then terminated with the exit code, the reason and
// the termination message, and the phase the Job controller reads (Succeeded/Failed).
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from "./types.ts";

/** The kubelet's limits on the termination message (kubelet/kuberuntime). */
export const MAX_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;

export type ContainerRun =
  | { state: "waiting"; reason: string; message?: string }
  | { state: "running"; startedAt: string }
  | {
      state: "terminated";
      exitCode: number;
      /** The signal that ended the process, when one did (SIGKILL: exit code 137). */
      signal?: NodeJS.Signals;
      message?: string;
      reason?: string;
      startedAt?: string;
      finishedAt: string;
    };

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** The exit code a runtime reports for a process ended by a signal: 128 + the signal's number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
}

/** What the kubelet puts in `terminated.message`: the file, else (policy and failure) the log's tail. */
export function terminationMessage(opts: {
  file: string;
  logs: string;
  exitCode: number;
  policy?: "File" | "FallbackToLogsOnError";
}): string {
  const fromFile = truncateBytes(opts.file, MAX_MESSAGE_BYTES);
  if (fromFile || opts.policy !== "FallbackToLogsOnError" || opts.exitCode === 0) return fromFile;
  const lines = opts.logs.replace(/\n$/, "").split("\n").slice(-FALLBACK_LOG_LINES).join("\n");
  const buf = Buffer.from(lines);
  return buf.length > FALLBACK_LOG_BYTES ? buf.subarray(buf.length - FALLBACK_LOG_BYTES).toString() : lines;
}

function truncateBytes(s: string, max: number): string {
  const buf = Buffer.from(s);
  return buf.length > max ? buf.subarray(0, max).toString() : s;
}

function condition(type: string, status: boolean, now: string, reason?: string): PodCondition {
  return {
    type,
    status: status ? "True" : "False",
    lastTransitionTime: now,
    lastProbeTime: null,
    ...(reason ? { reason } : {}),
  };
}

/** Conditions merged by type: a condition whose status did not change keeps its transition time. */
function mergeConditions(existing: PodCondition[] = [], next: PodCondition[]): PodCondition[] {
  const out = existing.map((c) => ({ ...c }));
  for (const n of next) {
    const i = out.findIndex((c) => c.type === n.type);
    if (i < 0) out.push(n);
    else if (out[i]?.status !== n.status || out[i]?.reason !== n.reason) out[i] = n;
  }
  return out;
}

/**
 * The pod's whole status after this run of its (first) container; other containers, if any, are
 * reported the same way. `now` is an RFC 3339 time (second precision, as the apiserver keeps it).
 */
export function podStatus(
  pod: Pod,
  run: ContainerRun,
  o: { now: string; hostIP?: string; containerID: string; startTime?: string },
): PodStatus {
  const running = run.state === "running";
  const terminated = run.state === "terminated";
  const state: ContainerState =
    run.state === "waiting"
      ? { waiting: { reason: run.reason, ...(run.message ? { message: run.message } : {}) } }
      : run.state === "running"
        ? { running: { startedAt: run.startedAt } }
        : {
            terminated: {
              exitCode: run.exitCode,
              ...(run.signal ? { signal: SIGNALS[run.signal] ?? 0 } : {}),
              reason: run.reason ?? (run.exitCode === 0 ? "Completed" : "Error"),
              ...(run.message ? { message: run.message } : {}),
              ...(run.startedAt ? { startedAt: run.startedAt } : {}),
              finishedAt: run.finishedAt,
              containerID: o.containerID,
            },
          };
  const statuses: ContainerStatus[] = pod.spec.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: `${c.image.split(":")[0]}@local`,
    ...(run.state === "waiting" ? {} : { containerID: o.containerID }),
    ready: running,
    started: running,
    restartCount: 0,
    state,
  }));
  const phase: PodStatus["phase"] = terminated
    ? run.exitCode === 0
      ? "Succeeded"
      : "Failed"
    : running
      ? "Running"
      : "Pending";
  const notReady = terminated ? "PodCompleted" : running ? undefined : "ContainersNotReady";
  const conditions = mergeConditions(pod.status?.conditions, [
    condition("PodReadyToStartContainers", !terminated, o.now),
    condition("Initialized", true, o.now, terminated ? "PodCompleted" : undefined),
    condition("Ready", running, o.now, notReady),
    condition("ContainersReady", running, o.now, notReady),
  ]);
  return {
    phase,
    conditions,
    ...(o.hostIP ? { hostIP: o.hostIP, hostIPs: [{ ip: o.hostIP }] } : {}),
    startTime: pod.status?.startTime ?? o.startTime ?? o.now,
    containerStatuses: statuses,
  };
}
