// Status through one door: conditions are only ever changed with setCondition, which keeps one
// entry per type, moves lastTransitionTime only when the status really changes (kstatus and
// Argo CD read it), and stamps observedGeneration.
import type { Condition } from "@reel/crds";

export type ConditionType = "Ready" | "Reconciling" | "Stalled";

export interface ConditionUpdate {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message?: string;
  observedGeneration: number;
}

export function setCondition(conditions: readonly Condition[] | undefined, u: ConditionUpdate, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === u.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: u.type,
    status: u.status,
    reason: u.reason,
    message: u.message ?? "",
    observedGeneration: u.observedGeneration,
    lastTransitionTime: prev && prev.status === u.status ? prev.lastTransitionTime : now.toISOString(),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
