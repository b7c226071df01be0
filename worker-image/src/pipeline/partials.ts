// The partial-download cache (REEL_CACHE_DIR/partial): one name per fetch, claimed by a lock so two
// fetches of one URL never share a file; the move into a run's folder, across filesystems too; and
// the sweep that keeps the folder bounded in age and size.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { ReelError } from "@reel/crds";

/** What the Rust downloader keeps beside a destination while it works (download/resume.rs). */
const COMPANIONS = [".part", ".reel-ctl", ".reel-ctl.tmp", ".lock"];

export interface Partial {
  /** Where the downloader writes (its `.part` and control file sit beside it). */
  path: string;
  /** True for the URL's stable name, which a later run may resume; false for a one-off name. */
  resumable: boolean;
  /**
   * Drops the claim; `discard` also removes every byte the fetch left, as does a one-off name or a
   * partial without the control file that would let a later run resume it.
   */
  release(discard: boolean): Promise<void>;
}

/**
 * Claims the URL's stable name, or a one-off name while another live fetch (in this process or
 * another) holds it: the second fetch cannot resume, but it no longer races on the first's files.
 */
export async function claimPartial(dir: string, url: string): Promise<Partial> {
  await fs.mkdir(dir, { recursive: true });
  const stable = join(dir, createHash("sha256").update(url).digest("hex").slice(0, 32));
  if (await lock(`${stable}.lock`)) return claimed(stable, true, `${stable}.lock`);
  const oneOff = `${stable}-${process.pid}-${randomBytes(4).toString("hex")}`;
  return claimed(oneOff, false);
}

function claimed(path: string, resumable: boolean, lockPath?: string): Partial {
  return {
    path,
    resumable,
    async release(discard) {
      // Without its control file a partial cannot be resumed (a server without ranges): drop it.
      const canResume =
        resumable &&
        (await fs.stat(`${path}.reel-ctl`).then(
          () => true,
          () => false,
        ));
      if (discard || !canResume) await removeWithCompanions(path);
      if (lockPath) {
        ours.delete(lockPath);
        await fs.rm(lockPath, { force: true });
      }
    },
  };
}

/** The locks this process holds: a lock file with our pid but not listed here is a dead process's. */
const ours = new Set<string>();

/** Takes `path` (an O_EXCL create holding our pid); a lock whose process is gone is taken over. */
async function lock(path: string): Promise<boolean> {
  // Another fetch of this process holds it, or is taking it: checked and marked before any await, so
  // fetches of one process never interleave here (one used to read the other's lock file between its
  // creation and its pid, call it a dead process's, and take the same name).
  if (ours.has(path)) return false;
  ours.add(path);
  let taken = false;
  try {
    for (let attempt = 0; attempt < 2 && !taken; attempt++) {
      try {
        await fs.writeFile(path, String(process.pid), { flag: "wx" });
        taken = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (await lockHeld(path)) break;
        await fs.rm(path, { force: true });
      }
    }
    return taken;
  } finally {
    if (!taken) ours.delete(path);
  }
}

async function lockHeld(path: string): Promise<boolean> {
  const pid = Number.parseInt(await fs.readFile(path, "utf8").catch(() => ""), 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    // No pid yet: another process created it a moment ago and is writing its pid; torn when old.
    const age = await fs.stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => Number.POSITIVE_INFINITY,
    );
    return age < 5000;
  }
  // Our pid but not a fetch of ours (those are caught before): a restarted container's predecessor,
  // which often had the pid we have now.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function removeWithCompanions(path: string): Promise<void> {
  await Promise.all(
    [path, ...COMPANIONS.filter((c) => c !== ".lock").map((c) => path + c)].map((p) => fs.rm(p, { force: true })),
  );
}

/** The file operations `moveInto` uses, a port so a test can make rename fail as it does across mounts. */
export interface MoveOps {
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
}

const realOps: MoveOps = { rename: fs.rename, copyFile: (a, b) => fs.copyFile(a, b) };

/**
 * Moves a finished download into the run's folder. A rename cannot cross filesystems (a tmpfs
 * /tmp with the cache on disk): then the file is copied and the original removed. If the copy
 * fails (the run's folder is full) neither copy is kept and the error says so with REEL_IO.
 */
export async function moveInto(from: string, to: string, ops: MoveOps = realOps): Promise<void> {
  try {
    await ops.rename(from, to);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") {
      throw new ReelError("REEL_IO", `could not move the download into ${to}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  try {
    await ops.copyFile(from, to);
  } catch (err) {
    await Promise.all([fs.rm(to, { force: true }), fs.rm(from, { force: true })]);
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new ReelError("REEL_IO", `could not copy the download into ${to} (another filesystem): ${code}`, {
      cause: err,
    });
  }
  await fs.rm(from, { force: true });
}

export interface SweepLimits {
  maxAgeMs: number;
  maxBytes: number;
  now?: number;
}

/**
 * Removes partial downloads nobody holds that are older than `maxAgeMs`, then the oldest until the
 * folder is under `maxBytes`. Answers the names removed.
 */
export async function sweepPartials(dir: string, limits: SweepLimits): Promise<string[]> {
  const now = limits.now ?? Date.now();
  const groups = new Map<string, { bytes: number; mtime: number; held: boolean }>();
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const base = COMPANIONS.reduce((b, c) => (b.endsWith(c) ? b.slice(0, -c.length) : b), name);
    const st = await fs.stat(join(dir, name)).catch(() => undefined);
    if (!st?.isFile()) continue;
    const g = groups.get(base) ?? { bytes: 0, mtime: 0, held: false };
    g.bytes += st.size;
    g.mtime = Math.max(g.mtime, st.mtimeMs);
    if (name.endsWith(".lock")) g.held = await lockHeld(join(dir, name));
    groups.set(base, g);
  }
  const free = [...groups].filter(([, g]) => !g.held).sort((a, b) => a[1].mtime - b[1].mtime);
  let total = [...groups.values()].reduce((s, g) => s + g.bytes, 0);
  const removed: string[] = [];
  for (const [base, g] of free) {
    if (now - g.mtime <= limits.maxAgeMs && total <= limits.maxBytes) continue;
    await removeWithCompanions(join(dir, base));
    await fs.rm(join(dir, `${base}.lock`), { force: true });
    total -= g.bytes;
    removed.push(base);
  }
  return removed;
}
