// pg_dump and pg_restore as child processes. The connection goes to them through libpq's own
// environment variables (PGHOST, PGPASSWORD, …) built from DATABASE_URL, set on the child alone:
// nothing secret is ever in argv (which `ps` shows to every user of the node) and the child does
// not inherit the shim's environment (the S3 keys stay with us).
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ReelError } from "@reel/crds";

/** libpq's variables for a postgres:// URL; the database name is returned apart (pg_restore needs it in -d). */
export function libpqEnv(databaseUrl: string): { env: Record<string, string>; database: string } {
  let u: URL;
  try {
    u = new URL(databaseUrl);
  } catch {
    throw new ReelError("REEL_CONFIG_INVALID", "DATABASE_URL is not a URL: use postgres://user:password@host:5432/db");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new ReelError("REEL_CONFIG_INVALID", `DATABASE_URL must be postgres://…, not ${u.protocol}//…`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || decodeURIComponent(u.username) || "postgres";
  const env: Record<string, string> = {
    PGHOST: u.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost",
    PGPORT: u.port || "5432",
    PGDATABASE: database,
    ...(u.username ? { PGUSER: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}),
  };
  // The TLS settings a URL may carry, in libpq's names (the postgres.js client reads the same query).
  const q: Record<string, string> = {
    sslmode: "PGSSLMODE",
    sslrootcert: "PGSSLROOTCERT",
    application_name: "PGAPPNAME",
  };
  for (const [param, name] of Object.entries(q)) {
    const v = u.searchParams.get(param);
    if (v) env[name] = v;
  }
  return { env, database };
}

export interface PgTools {
  /** Directory of pg_dump/pg_restore; "" finds them on PATH. */
  binDir: string;
  /** PATH for the child (to find the tools and nothing else). */
  path: string;
}

/** Starts one of the tools with the connection in its environment only. */
export function spawnPg(
  tools: PgTools,
  tool: "pg_dump" | "pg_restore",
  args: string[],
  conn: Record<string, string>,
): ChildProcess {
  const bin = tools.binDir ? join(tools.binDir, tool) : tool;
  return spawn(bin, args, {
    env: { PATH: tools.path, LC_ALL: "C.UTF-8", ...conn },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Resolves when the child exits 0; else REEL_UNAVAILABLE with the last lines it wrote to stderr. */
export function exited(child: ChildProcess, what: string): Promise<void> {
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err = (err + b.toString()).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    child.once("error", (cause) =>
      reject(
        new ReelError(
          "REEL_UNAVAILABLE",
          `${what} could not start (${(cause as Error).message}): install postgresql-client or set REEL_BACKUP_PG_BIN`,
          { cause },
        ),
      ),
    );
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new ReelError(
            "REEL_UNAVAILABLE",
            `${what} exited ${code ?? signal}: ${err.trim() || "(no message)"}; check DATABASE_URL and that the server is reachable`,
          ),
        );
    });
  });
}
