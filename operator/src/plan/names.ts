// Child object names: stable (the same VideoJob always plans the same names, so a restarted
// operator finds its Jobs instead of creating twins) and within Kubernetes' 63-character limit.
import { createHash } from "node:crypto";

export function childName(parent: string, suffix: string): string {
  const full = `${parent}-${suffix}`;
  if (full.length <= 63) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  return `${parent.slice(0, 63 - suffix.length - hash.length - 2).replace(/[-.]+$/, "")}-${hash}-${suffix}`;
}
