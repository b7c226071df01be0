// Runs an encode along the plan's chain: when a GPU encode fails (driver error, session limit,
// unsupported input) the next step — ultimately the CPU, where the policy allows — is tried.
import { ReelError } from "@reel/crds";
import type { EncodePlan, EncodeStep } from "./plan.ts";

export interface FallbackResult<T> {
  result: T;
  /** The step that produced the output: record its encoder in status. */
  step: EncodeStep;
  /** Steps that failed first, with their errors. */
  failures: Array<{ step: EncodeStep; error: ReelError }>;
}

/** Errors that another encoder might not hit; anything else (cancel, bad media) stops the chain. */
const retryable = new Set(["REEL_FFMPEG_FAILED", "REEL_ENCODER_UNAVAILABLE"]);

export async function withFallback<T>(
  plan: EncodePlan,
  run: (step: EncodeStep) => Promise<T>,
): Promise<FallbackResult<T>> {
  const failures: FallbackResult<T>["failures"] = [];
  for (const step of plan.fallbackChain) {
    try {
      return { result: await run(step), step, failures };
    } catch (err) {
      const error = ReelError.from(err, "REEL_FFMPEG_FAILED");
      if (!retryable.has(error.code)) throw error;
      failures.push({ step, error });
    }
  }
  const tried = failures.map((f) => `${f.step.encoder}/${f.step.hwDecode}: ${f.error.message.split("\n")[0]}`);
  const last = failures.at(-1)?.error;
  throw new ReelError(last?.code ?? "REEL_ENCODER_UNAVAILABLE", `every encoder failed: ${tried.join("; ")}`, {
    cause: last,
  });
}
