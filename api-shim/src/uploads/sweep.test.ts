import { describe, expect, it } from "vitest";
import { namespaceOfKey, planSweep } from "./sweep.ts";
import type { UploadRow } from "./store.ts";

const H = 3_600_000;
const now = Date.parse("2026-12-05T12:00:00Z");
const row = (id: string, createdHoursAgo: number, finishedHoursAgo?: number): UploadRow => ({
  id: id.padEnd(32, "0"),
  tenant: "media",
  objectKey: `uploads/media/${id.padEnd(32, "0")}`,
  length: 100,
  filename: null,
  createdAt: new Date(now - createdHoursAgo * H).toISOString(),
  completedAt: finishedHoursAgo === undefined ? null : new Date(now - finishedHoursAgo * H).toISOString(),
});
const ids = (rs: UploadRow[]) => rs.map((r) => r.id.slice(0, 1));

describe("planSweep", () => {
  const rows = [row("a", 30), row("b", 2), row("c", 200, 190), row("d", 200, 190), row("e", 30, 29)];
  const settings = { expiryMs: 24 * H, retentionMs: 7 * 24 * H };

  it("aborts unfinished uploads past their expiry and removes finished ones past the retention that no job names", () => {
    const plan = planSweep(rows, now, settings, (r) => r.id.startsWith("d"));
    expect(ids(plan.expired)).toEqual(["a"]);
    expect(ids(plan.unused)).toEqual(["c"]);
  });

  it("removes no finished upload while it cannot know which jobs name them (watch not synced)", () => {
    const plan = planSweep(rows, now, settings, undefined);
    expect(ids(plan.expired)).toEqual(["a"]);
    expect(plan.unused).toEqual([]);
  });

  it("keeps everything of a kind whose period is unset", () => {
    expect(planSweep(rows, now, {}, () => false)).toEqual({ expired: [], unused: [] });
    expect(ids(planSweep(rows, now, { retentionMs: 7 * 24 * H }, () => false).unused)).toEqual(["c", "d"]);
  });

  it("never counts an unfinished upload as unused, however old", () => {
    expect(planSweep([row("f", 900)], now, { retentionMs: H }, () => false).unused).toEqual([]);
  });
});

describe("namespaceOfKey", () => {
  it("reads the namespace out of <prefix><namespace>/<id>", () => {
    expect(namespaceOfKey("uploads/", `uploads/media/${"a".repeat(32)}`)).toBe("media");
    expect(namespaceOfKey("", `news/${"a".repeat(32)}`)).toBe("news");
  });
});
