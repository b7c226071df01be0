// The PostgreSQL connection. The shim starts without it: `connect()` retries with backoff until
// the server answers and the migrations are applied; until then `ready` is false, health says 503
// and the routes that need it answer 503 REEL_UNAVAILABLE. Reconnects after a restart are the
// client's own (a new connection on the next query).
import postgres, { type Sql } from "postgres";
import { ReelError } from "@reel/crds";
import type { Logger } from "pino";
import { migrate } from "./migrate.ts";

/** Client settings shared by the server and the admin command. */
export function connectPostgres(url: string, max = 10): Sql {
  return postgres(url, {
    max,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
    // bigint ids come back as numbers (they stay far below 2^53), not strings.
    types: {
      bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) },
    },
    transform: { undefined: null },
  });
}

export class Database {
  readonly sql: Sql;
  ready = false;
  private stopped = false;
  private connecting?: Promise<void>;
  private readonly log: Logger;

  constructor(url: string, log: Logger) {
    this.log = log;
    this.sql = connectPostgres(url);
  }

  /** Resolves once migrated; retries forever (0.5 s doubling to 10 s) until `close()`. */
  connect(): Promise<void> {
    this.connecting ??= (async () => {
      for (let attempt = 0, delay = 500; !this.stopped; attempt++, delay = Math.min(delay * 2, 10_000)) {
        try {
          const applied = await migrate(this.sql);
          this.ready = true;
          this.log.info({ applied }, "postgres ready");
          return;
        } catch (err) {
          this.log.warn({ err: (err as Error).message, attempt, retryInMs: delay }, "postgres not ready");
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
    return this.connecting;
  }

  /** The pool, or 503 while the database has not come up yet. */
  get db(): Sql {
    if (!this.ready) throw new ReelError("REEL_UNAVAILABLE", "postgres is not connected yet");
    return this.sql;
  }

  async ping(timeoutMs = 2000): Promise<void> {
    if (!this.ready) throw new Error("not connected (migrations not applied yet)");
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.sql`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.sql.end({ timeout: 2 });
  }
}
