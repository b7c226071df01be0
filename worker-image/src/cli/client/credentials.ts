// The credentials file: one API key (or token) per server, and which server is current. Written
// with mode 0600 in a 0700 directory, by rename so a crash never leaves half a file; a stored key is
// only ever sent to the server it was saved for.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ReelError } from "@reel/crds";
import { z } from "zod";
import type { ClientConfig } from "./config.ts";

const Stored = z.object({
  version: z.literal(1),
  current: z.string().optional(),
  servers: z.record(
    z.string(),
    z.object({ key: z.string().min(1), user: z.string().optional(), savedAt: z.string().optional() }),
  ),
});
export type Credentials = z.output<typeof Stored>;

export interface Target {
  server: string;
  key: string;
}

export function credentialsPath(config: Pick<ClientConfig, "configDir">): string {
  return join(config.configDir, "credentials.json");
}

/** `https://reel.example.com/` → `https://reel.example.com`; no scheme, a query or a fragment is refused. */
export function normalizeServer(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ReelError(
      "REEL_INVALID_ARGUMENT",
      `server "${input}" is not a URL; give it with its scheme, e.g. http://${input}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ReelError("REEL_INVALID_ARGUMENT", `server "${input}" must be an http:// or https:// URL`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ReelError("REEL_INVALID_ARGUMENT", `server "${input}" must not carry a query, fragment or user info`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export async function loadCredentials(config: Pick<ClientConfig, "configDir">): Promise<Credentials> {
  const path = credentialsPath(config);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, servers: {} };
    throw new ReelError("REEL_CREDENTIALS_INVALID", `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return Stored.parse(JSON.parse(text));
  } catch (cause) {
    throw new ReelError("REEL_CREDENTIALS_INVALID", `${path} is not a Reel credentials file`, { cause });
  }
}

export async function saveCredentials(config: Pick<ClientConfig, "configDir">, creds: Credentials): Promise<string> {
  const path = credentialsPath(config);
  await mkdir(config.configDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  // Created 0600 from the start (never world-readable, not even for a moment); umask can only narrow it.
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(creds, null, 2)}\n`);
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return path;
}

export async function storeKey(
  config: Pick<ClientConfig, "configDir">,
  server: string,
  key: string,
  user?: string,
): Promise<string> {
  const creds = await loadCredentials(config);
  creds.servers[server] = { key, ...(user ? { user } : {}), savedAt: new Date().toISOString() };
  creds.current = server;
  return saveCredentials(config, creds);
}

/** Forgets one server's key (the current one when none is named), or all of them. Answers what was removed. */
export async function forgetKey(
  config: Pick<ClientConfig, "configDir">,
  which: { server?: string; all?: boolean },
): Promise<string[]> {
  const path = credentialsPath(config);
  if (which.all) {
    const creds = await loadCredentials(config).catch(() => ({ servers: {} }) as Credentials);
    await rm(path, { force: true });
    return Object.keys(creds.servers);
  }
  const creds = await loadCredentials(config);
  const server = which.server ?? creds.current;
  if (!server || !creds.servers[server]) return [];
  delete creds.servers[server];
  if (creds.current === server) delete creds.current;
  if (Object.keys(creds.servers).length === 0) await rm(path, { force: true });
  else await saveCredentials(config, creds);
  return [server];
}

/**
 * Which server to call and with which key: --server, then REEL_SERVER, then the server of the last
 * login; REEL_API_KEY, then the key stored for that server. The file is not read when the
 * environment gives both, so a broken file cannot block a CI job that passes its key in env.
 */
export async function resolveTarget(config: ClientConfig, flags: { server?: string }): Promise<Target> {
  const given = flags.server ?? config.server;
  if (given && config.apiKey) return { server: normalizeServer(given), key: config.apiKey };
  const creds = await loadCredentials(config);
  const server = given ? normalizeServer(given) : creds.current;
  if (!server) {
    throw new ReelError(
      "REEL_NOT_LOGGED_IN",
      "no server: run `reel login --server URL` first, or pass --server / set REEL_SERVER and REEL_API_KEY",
    );
  }
  const key = config.apiKey ?? creds.servers[server]?.key;
  if (!key) {
    throw new ReelError("REEL_NOT_LOGGED_IN", `not logged in to ${server}: run \`reel login --server ${server}\``);
  }
  return { server, key };
}
