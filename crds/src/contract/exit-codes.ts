// The worker's exit codes, read by the Jobs' podFailurePolicy (operator/src/plan/jobs.ts) and the
// operator's retry planning, answered by `reel worker` (worker-image/src/worker/main.ts).
export const EXIT = {
  /** The pod's work is done. */
  ok: 0,
  /** Anything that may pass on another try: the Job retries it (backoffLimit). */
  retry: 1,
  /** Bad input that retrying cannot fix: the podFailurePolicy fails the Job at once. */
  badInput: 2,
  /**
   * The GPU encoder failed on this node: the Job fails at once and the operator plans the next
   * attempt away from the node (then on the CPU when the GPU policy allows).
   */
  encoderFailed: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Exit codes that fail the Job at once instead of being retried in place. */
export const FAIL_JOB_EXIT_CODES: readonly number[] = [EXIT.badInput, EXIT.encoderFailed];
