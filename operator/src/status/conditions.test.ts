import { describe, expect, it } from "vitest";
import { getCondition, setCondition } from "./conditions.ts";

const t1 = new Date("2026-11-24T10:00:00Z");
const t2 = new Date("2026-11-24T10:05:00Z");

describe("setCondition", () => {
  it("adds a condition with the transition time and observed generation", () => {
    const c = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "EpisodesRunning", observedGeneration: 1 },
      t1,
    );
    expect(c).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "EpisodesRunning",
        message: "",
        observedGeneration: 1,
        lastTransitionTime: t1.toISOString(),
      },
    ]);
  });

  it("keeps lastTransitionTime when only the reason, message or generation changes", () => {
    const a = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "EpisodesRunning", observedGeneration: 1 },
      t1,
    );
    const b = setCondition(
      a,
      { type: "Ready", status: "False", reason: "Merging", message: "3/4 done", observedGeneration: 2 },
      t2,
    );
    expect(b).toHaveLength(1);
    expect(getCondition(b, "Ready")).toMatchObject({
      reason: "Merging",
      observedGeneration: 2,
      lastTransitionTime: t1.toISOString(),
    });
  });

  it("moves lastTransitionTime when the status flips, and keeps one entry per type", () => {
    let c = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "EpisodesRunning", observedGeneration: 1 },
      t1,
    );
    c = setCondition(c, { type: "Reconciling", status: "True", reason: "EpisodesRunning", observedGeneration: 1 }, t1);
    c = setCondition(c, { type: "Ready", status: "True", reason: "Completed", observedGeneration: 1 }, t2);
    expect(c.map((x) => x.type)).toEqual(["Ready", "Reconciling"]);
    expect(getCondition(c, "Ready")?.lastTransitionTime).toBe(t2.toISOString());
  });

  it("does not mutate its input", () => {
    const a = setCondition(
      undefined,
      { type: "Stalled", status: "False", reason: "Progressing", observedGeneration: 1 },
      t1,
    );
    const copy = structuredClone(a);
    setCondition(a, { type: "Stalled", status: "True", reason: "EncoderUnavailable", observedGeneration: 1 }, t2);
    expect(a).toEqual(copy);
  });
});
