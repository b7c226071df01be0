// `reel login` checks a key against GET /api/v1/me before storing it; `reel logout` forgets it.
// The key is read from --key, else from stdin when it is piped, else from a prompt that does not
// echo; it is never printed back.
import { ReelError } from "@reel/crds";
import { parseClientEnv } from "./config.ts";
import { type Ctx, printJson } from "./context.ts";
import { credentialsPath, forgetKey, loadCredentials, normalizeServer, storeKey } from "./credentials.ts";
import { Api } from "./http.ts";
import { meLine } from "./render.ts";
import type { Me } from "./types.ts";

export interface LoginFlags {
  server?: string;
  key?: string;
  json: boolean;
}

export async function login(ctx: Ctx, flags: LoginFlags): Promise<number> {
  const config = parseClientEnv(ctx.env);
  const given = flags.server ?? config.server ?? (await loadCredentials(config).catch(() => undefined))?.current;
  if (!given)
    throw new ReelError("REEL_INVALID_ARGUMENT", "which server? reel login --server https://reel.example.com");
  const server = normalizeServer(given);
  const key = (flags.key ?? (await readKey(ctx, server))).trim();
  if (!key) throw new ReelError("REEL_INVALID_ARGUMENT", "the key is empty; pass --key, pipe it on stdin or type it");
  if (/\s/.test(key)) throw new ReelError("REEL_INVALID_ARGUMENT", "the key contains whitespace; paste it whole");
  const me = await new Api({ server, key }, ctx.http).get<Me>("/api/v1/me");
  const path = await storeKey(config, server, key, me.name);
  const url = new URL(server);
  if (url.protocol === "http:" && !isLoopback(url.hostname)) {
    ctx.stderr.write(`warning: ${server} is plain http; the key crosses the network unencrypted. Prefer https://\n`);
  }
  if (flags.json) printJson(ctx, { server, user: me, credentials: path });
  else ctx.stdout.write(`${meLine(server, me)}\nkey saved in ${path} (mode 0600)\n`);
  return 0;
}

export interface LogoutFlags {
  server?: string;
  all: boolean;
  json: boolean;
}

export async function logout(ctx: Ctx, flags: LogoutFlags): Promise<number> {
  const config = parseClientEnv(ctx.env);
  const server = flags.server ? normalizeServer(flags.server) : undefined;
  const removed = await forgetKey(config, { ...(server ? { server } : {}), all: flags.all });
  if (flags.json) printJson(ctx, { removed, credentials: credentialsPath(config) });
  else if (removed.length) ctx.stdout.write(`logged out of ${removed.join(", ")}\n`);
  else ctx.stdout.write(`not logged in${server ? ` to ${server}` : ""}; nothing to do\n`);
  return 0;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\./.test(host);
}

async function readKey(ctx: Ctx, server: string): Promise<string> {
  if (!ctx.stdin.isTTY) {
    let text = "";
    for await (const chunk of ctx.stdin) text += chunk;
    return text.split(/\r?\n/)[0] ?? "";
  }
  return promptHidden(ctx, `API key for ${server}: `);
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(ctx: Ctx, question: string): Promise<string> {
  const { stdin, stderr } = ctx;
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          finish();
          resolve(typed);
          return;
        }
        if (ch === "\u0003") {
          finish();
          reject(new ReelError("REEL_CANCELLED", "login cancelled"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}
