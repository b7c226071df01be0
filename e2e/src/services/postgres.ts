// A real throwaway PostgreSQL 15 cluster (Debian's `postgresql` package) on a free loopback port,
// for one test file: initdb into a temp dir, trust auth on loopback, no fsync. PostgreSQL refuses
// to run as root, so as root the data dir is handed to the `postgres` system user and the server
// is spawned with its uid/gid (no runuser/su in between, so SIGTERM reaches the postmaster itself).
import { execFile } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, type Started, start, waitFor } from "./proc.ts";

const run = promisify(execFile);
const BIN = process.env.REEL_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PostgresServer {
  /** postgres://reel@127.0.0.1:PORT/reel */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops the server; `start()` brings the same cluster back on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** halt() then start(): clients must reconnect. */
  restart(): Promise<void>;
}

async function systemUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run("id", ["-u", "postgres"]);
  const { stdout: gid } = await run("id", ["-g", "postgres"]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export async function startPostgres(opts: { port?: number } = {}): Promise<PostgresServer> {
  const dir = await mkdtemp(join(tmpdir(), "reel-pg-"));
  const data = join(dir, "data");
  const user = await systemUser();
  if (user) await chown(dir, user.uid, user.gid);
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    const s = start(
      join(BIN, "initdb"),
      ["-D", data, "-U", "reel", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
      { LC_ALL: "C.UTF-8" },
      user,
    );
    s.child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`initdb exited ${code}:\n${s.logs()}`))));
  });
  const args = [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
  ];
  const ready = async () => {
    try {
      await run(join(BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port), "-U", "reel", "-d", "postgres"]);
      return true;
    } catch {
      return false;
    }
  };
  let s: Started | undefined;
  const up = async () => {
    s = start(join(BIN, "postgres"), args, { LC_ALL: "C.UTF-8" }, user);
    await waitFor("postgres", ready, s);
  };
  // Fast shutdown (SIGINT): active sessions are cut at once, as a crash or failover would.
  const down = async () => {
    const p = s;
    s = undefined;
    if (!p || p.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
      p.child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      p.child.kill("SIGINT");
    });
  };
  await up();
  await run(join(BIN, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "reel", "reel"]);
  return {
    url: `postgres://reel@127.0.0.1:${port}/reel`,
    port,
    halt: down,
    start: up,
    restart: async () => {
      await down();
      await up();
    },
    stop: async () => {
      await down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
