// Who may keep a live stream open. Every SSE and WebSocket stream is registered here with the
// principal that opened it and ends — with a final event or close code saying why — when:
//   - its credential changes (a key revoked or re-scoped, the user's role or tenant changed, the
//     tenant remapped): every replica hears it from PostgreSQL's NOTIFY reel_auth (main.ts) and
//     re-checks the stream's access against the database, so a change that keeps read access to
//     the tenant (a promotion) does not end anything;
//   - a JWT's exp passes;
//   - it has been open REEL_STREAM_MAX_SECONDS (the client reconnects and is authenticated again).
// A credential holds at most REEL_STREAMS_PER_CREDENTIAL streams per replica.
import { ReelError } from "@reel/crds";
import type { Database } from "../db/database.ts";
import { findKeyForAuth } from "../db/keys.ts";
import type { AuthChange } from "../db/notify.ts";
import { getUser } from "../db/users.ts";
import { can, type Principal, roleScopes } from "../auth/principal.ts";
import type { Logger } from "../log.ts";

/** Why a stream ended: a REEL_* code for the client, and the WebSocket close code that carries it. */
export interface StreamEnd {
  code: "REEL_AUTH_INVALID" | "REEL_FORBIDDEN" | "REEL_UNAVAILABLE";
  message: string;
}

/** WebSocket close codes (4000–4999 are the application's): 4401 credential, 4403 access, 4503 re-check failed. */
export const CLOSE_CODES: Record<StreamEnd["code"], number> = {
  REEL_AUTH_INVALID: 4401,
  REEL_FORBIDDEN: 4403,
  REEL_UNAVAILABLE: 4503,
};

/** The stream's access now, from the database: undefined while it may still read `namespace`. */
export type AccessCheck = (p: Principal, namespace: string) => Promise<StreamEnd | undefined>;

export function databaseAccessCheck(db: Database): AccessCheck {
  return async (p, namespace) => {
    let now: Pick<Principal, "role" | "scopes" | "namespace">;
    if (p.via === "key") {
      const found = p.keyId ? await findKeyForAuth(db.db, p.keyId) : undefined;
      if (!found || found.key.revokedAt) {
        return { code: "REEL_AUTH_INVALID", message: `API key reel_${p.keyId} was revoked` };
      }
      now = { role: found.user.role, scopes: found.key.scopes, namespace: found.user.namespace };
    } else {
      const u = await getUser(db.db, p.userId);
      if (!u) return { code: "REEL_AUTH_INVALID", message: `user ${p.userId} was removed` };
      now = { role: u.role, scopes: roleScopes(u.role), namespace: u.namespace };
    }
    if (now.namespace !== namespace) {
      return { code: "REEL_FORBIDDEN", message: "this credential no longer belongs to the job's tenant" };
    }
    if (!can({ ...p, ...now }, "jobs:read")) {
      return { code: "REEL_FORBIDDEN", message: "this credential no longer holds jobs:read" };
    }
    return undefined;
  };
}

interface OpenStream {
  principal: Principal;
  namespace: string;
  credential: string;
  end(why: StreamEnd): void;
  timer: NodeJS.Timeout;
}

export interface LiveStreamsOptions {
  check: AccessCheck;
  maxPerCredential: number;
  maxSeconds: number;
  log: Logger;
}

export class LiveStreams {
  private readonly open = new Set<OpenStream>();
  private readonly perCredential = new Map<string, number>();
  private readonly o: LiveStreamsOptions;

  constructor(o: LiveStreamsOptions) {
    this.o = o;
  }

  /**
   * Registers a stream about to open; REEL_RATE_LIMITED (before anything is sent) when the
   * credential already holds its maximum. Answers the function that unregisters it.
   */
  add(p: Principal, namespace: string, end: (why: StreamEnd) => void): () => void {
    const credential = p.keyId ? `key:${p.keyId}` : `user:${p.userId}`;
    const n = this.perCredential.get(credential) ?? 0;
    if (n >= this.o.maxPerCredential) {
      throw new ReelError(
        "REEL_RATE_LIMITED",
        `this credential already holds ${n} live streams here (the most allowed); close one first`,
      );
    }
    this.perCredential.set(credential, n + 1);
    const lifetime = Math.min(this.o.maxSeconds * 1000, (p.expiresAt ?? Number.POSITIVE_INFINITY) - Date.now());
    const s: OpenStream = {
      principal: p,
      namespace,
      credential,
      end,
      timer: setTimeout(
        () =>
          this.end(
            s,
            p.expiresAt !== undefined && p.expiresAt - Date.now() < 1000
              ? { code: "REEL_AUTH_INVALID", message: "the token expired; sign in again" }
              : { code: "REEL_UNAVAILABLE", message: "the stream reached its longest lifetime; reconnect" },
          ),
        Math.min(Math.max(0, lifetime), 2 ** 31 - 1),
      ),
    };
    s.timer.unref();
    this.open.add(s);
    return () => this.remove(s);
  }

  /**
   * A credential changed (NOTIFY reel_auth): its streams' access is checked again, once per
   * credential and namespace however many streams it holds (a re-listen checks every stream).
   */
  changed(c: AuthChange): void {
    const hit = (s: OpenStream) =>
      "all" in c ? true : "key" in c ? s.principal.keyId === c.key : s.principal.userId === c.user;
    const checks = new Map<string, Promise<StreamEnd | undefined>>();
    for (const s of [...this.open].filter(hit)) {
      const k = `${s.credential} ${s.namespace}`;
      let check = checks.get(k);
      if (!check) {
        check = this.o.check(s.principal, s.namespace);
        checks.set(k, check);
      }
      check.then(
        (why) => why && this.end(s, why),
        (err: unknown) => {
          this.o.log.warn({ err: (err as Error).message }, "stream access re-check failed; ending the stream");
          this.end(s, { code: "REEL_UNAVAILABLE", message: "access could not be checked again; reconnect" });
        },
      );
    }
  }

  get size(): number {
    return this.open.size;
  }

  private end(s: OpenStream, why: StreamEnd): void {
    if (!this.open.has(s)) return;
    this.remove(s);
    s.end(why);
  }

  private remove(s: OpenStream): void {
    if (!this.open.delete(s)) return;
    clearTimeout(s.timer);
    const n = (this.perCredential.get(s.credential) ?? 1) - 1;
    if (n > 0) this.perCredential.set(s.credential, n);
    else this.perCredential.delete(s.credential);
  }
}
