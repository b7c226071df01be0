import { describe, expect, it } from "vitest";
import { mergePatch } from "./reconciler.ts";

/** RFC 7396 applied, to check that the patch really turns current into next. */
function apply(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = apply(out[k], v);
  }
  return out;
}

describe("mergePatch (status writes)", () => {
  it.each([
    ["a new status", {}, { phase: "Pending", episodes: [{ index: 0 }] }],
    ["a field gone", { phase: "Failed", output: { location: "s3://a" } }, { phase: "Pending" }],
    ["a nested field gone", { output: { location: "s3://a", url: "https://u" } }, { output: { location: "s3://b" } }],
    ["an array replaced whole", { episodes: [{ index: 0, error: { code: "X" } }] }, { episodes: [{ index: 0 }] }],
    ["nothing changed", { phase: "Pending" }, { phase: "Pending" }],
  ])("%s", (_name, current, next) => {
    expect(apply(current, mergePatch(current, next))).toEqual(next);
  });
  it("says null for a removed key", () => {
    expect(mergePatch({ a: 1, b: 2 }, { a: 1 })).toEqual({ a: 1, b: null });
  });
});
