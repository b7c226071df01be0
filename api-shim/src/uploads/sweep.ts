// The upload area's sweep: uploads never finished within their expiry (tus Upload-Expires) are
// aborted — the S3 multipart upload and every object of it removed, the row deleted, so its bytes
// leave the tenant's quota — and finished uploads that no VideoJob names are removed once the
// retention has passed since they finished. One replica sweeps per interval (a Redis lease taken
// for the interval and never released); an upload another request is writing is left for the next.
import { UPLOADS_ANNOTATION, uploadsOf } from "@reel/crds";
import { Counter, type Registry } from "prom-client";
import type { ShimDeps } from "../deps.ts";
import { takeLease } from "./lock.ts";
import { forgetUploadByKey, type UploadRow, sweepCandidates } from "./store.ts";
import type { TusUploads } from "./tus.ts";

export type SweepReason = "expired" | "unused";

export interface SweepPlan {
  /** Unfinished past their expiry: abort the multipart upload, then forget. */
  expired: UploadRow[];
  /** Finished, past the retention and named by no VideoJob: delete the object, then forget. */
  unused: UploadRow[];
}

export interface SweepSettings {
  expiryMs?: number | undefined;
  retentionMs?: number | undefined;
}

/**
 * Which of `rows` go, at `now`. `named(row)` says whether a VideoJob names the upload; undefined
 * when that cannot be known (the VideoJob watch has not synced): then no finished upload goes.
 */
export function planSweep(
  rows: UploadRow[],
  now: number,
  s: SweepSettings,
  named: ((row: UploadRow) => boolean) | undefined,
): SweepPlan {
  const expired = rows.filter(
    (r) => r.completedAt === null && s.expiryMs !== undefined && Date.parse(r.createdAt) + s.expiryMs < now,
  );
  const unused = rows.filter(
    (r) =>
      r.completedAt !== null &&
      s.retentionMs !== undefined &&
      named !== undefined &&
      Date.parse(r.completedAt) + s.retentionMs < now &&
      !named(r),
  );
  return { expired, unused };
}

/** The namespace part of `<prefix><namespace>/<id>`. */
export const namespaceOfKey = (prefix: string, key: string): string => key.slice(prefix.length).split("/")[0] ?? "";

export interface SweepResult {
  /** false when another replica had this interval's turn. */
  ran: boolean;
  expired: number;
  unused: number;
  /** Left for the next sweep: being written, or a failed S3 call (logged). */
  skipped: number;
  freedBytes: number;
}

export interface UploadSweeper {
  /** One sweep as of `now`, if this replica gets the turn (tests pass a later clock). */
  sweep(now?: number): Promise<SweepResult>;
  /** Sweeps every interval until stopped. */
  start(): () => void;
}

/** Rows a sweep handles at most; the rest wait for the next interval. */
const BATCH = 500;

export function createUploadSweeper(deps: ShimDeps, tus: TusUploads): UploadSweeper {
  const { config, redis } = deps;
  const log = deps.log.child({ component: "uploads-sweep" });
  const swept = counter(deps.metrics.registry);
  const settings: SweepSettings = { expiryMs: config.REEL_UPLOAD_EXPIRY, retentionMs: config.REEL_UPLOAD_RETENTION };
  const intervalMs = config.REEL_UPLOAD_SWEEP_INTERVAL_MS;
  const named = (row: UploadRow) =>
    deps.cache
      .list(namespaceOfKey(config.REEL_UPLOAD_S3_PREFIX, row.objectKey))
      .some((j) => uploadsOf(j.metadata.annotations?.[UPLOADS_ANNOTATION]).includes(row.id));

  /** Removes one upload under its write lock; false when it is being written or S3 failed. */
  const take = async (row: UploadRow, reason: SweepReason): Promise<boolean> => {
    const lock = await takeLease(redis, tus.lockKey(row.objectKey), config.REEL_UPLOAD_LOCK_LEASE_MS);
    if (!lock) return false;
    try {
      await tus.abortKey(row.objectKey);
      await forgetUploadByKey(deps.db.db, row.id, row.objectKey);
      swept.inc({ reason });
      return true;
    } catch (err) {
      log.warn({ upload: row.id, reason, err: (err as Error).message }, "upload not swept; the next sweep tries again");
      return false;
    } finally {
      await lock.release().catch(() => {});
    }
  };

  const sweep = async (now = Date.now()): Promise<SweepResult> => {
    const result: SweepResult = { ran: false, expired: 0, unused: 0, skipped: 0, freedBytes: 0 };
    // The turn lasts a little less than the interval, so the next tick of some replica gets the next.
    if (!(await takeLease(redis, "reel:uploads:sweep", Math.max(1000, intervalMs - 1000), { renew: false })))
      return result;
    result.ran = true;
    const before = (ms: number | undefined) => (ms === undefined ? undefined : new Date(now - ms));
    const rows = await sweepCandidates(deps.db.db, {
      unfinishedBefore: before(settings.expiryMs),
      finishedBefore: before(settings.retentionMs),
      limit: BATCH,
    });
    const watchKnown = deps.cache.isSynced && deps.cache.watchError === undefined;
    const plan = planSweep(rows, now, settings, watchKnown ? named : undefined);
    for (const [reason, list] of [
      ["expired", plan.expired],
      ["unused", plan.unused],
    ] as const) {
      for (const row of list) {
        if (await take(row, reason)) {
          result[reason]++;
          result.freedBytes += row.length;
        } else result.skipped++;
      }
    }
    const line = { ...result, candidates: rows.length, watchKnown };
    if (result.expired + result.unused + result.skipped > 0) log.info(line, "uploads swept");
    else log.debug(line, "uploads swept: none due");
    return result;
  };

  return {
    sweep,
    start() {
      const timer = setInterval(() => {
        sweep().catch((err) => log.warn({ err: (err as Error).message }, "upload sweep failed; next interval"));
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

function counter(registry: Registry): Counter<"reason"> {
  const name = "reel_shim_uploads_swept_total";
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<"reason">;
  return new Counter({
    name,
    help: "Uploads the sweep removed: expired (never finished, aborted) or unused (finished, named by no VideoJob).",
    labelNames: ["reason"],
    registers: [registry],
  });
}
