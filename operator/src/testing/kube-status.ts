// Nothing runs Jobs' containers in the operator's integration tests, so the tests write the status
// that the Job controller (at L2, where there is none) and the kubelet would have written.
import type { Kubectl } from "./kube-read.ts";

async function patchStatus(kubectl: Kubectl, namespace: string, kind: string, name: string, status: object) {
  await kubectl([
    "-n",
    namespace,
    "patch",
    kind,
    name,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);
}

/** Marks a Job finished the way the Job controller does; `message` goes on the failure conditions. */
export async function finishJob(
  kubectl: Kubectl,
  namespace: string,
  name: string,
  outcome: "Complete" | "Failed",
  message?: string,
): Promise<void> {
  const now = new Date().toISOString();
  const c = (type: string) => ({ type, status: "True", lastProbeTime: now, lastTransitionTime: now });
  const failure = { reason: "BackoffLimitExceeded", ...(message === undefined ? {} : { message }) };
  const status =
    outcome === "Complete"
      ? { startTime: now, completionTime: now, succeeded: 1, conditions: [c("SuccessCriteriaMet"), c("Complete")] }
      : {
          startTime: now,
          failed: 4,
          conditions: [
            { ...c("FailureTarget"), ...failure },
            { ...c("Failed"), ...failure },
          ],
        };
  await patchStatus(kubectl, namespace, "job", name, status);
}

/** Plays the kubelet: the pod's worker container ran and exited with this code, leaving `result` as its termination message. */
export async function exitPod(
  kubectl: Kubectl,
  namespace: string,
  name: string,
  exitCode: number,
  result: object,
): Promise<void> {
  const now = new Date().toISOString();
  await patchStatus(kubectl, namespace, "pod", name, {
    phase: exitCode === 0 ? "Succeeded" : "Failed",
    containerStatuses: [
      {
        name: "worker",
        image: "reel-worker:test",
        imageID: "",
        ready: false,
        restartCount: 0,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? "Completed" : "Error",
            message: JSON.stringify(result),
            startedAt: now,
            finishedAt: now,
          },
        },
      },
    ],
  });
}
