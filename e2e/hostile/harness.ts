// The hostile-input suite's harness: `reel run` as an attacker or a careless user would run it.
// Each case gets a fresh directory (cache, temp, output), sources served on 127.0.0.2 (the address
// the egress guard is opened to), a canary listener on 127.0.0.3 (refused by the guard: any
// connection to it is a defect), secrets planted in the environment, and checks that no secret
// shows in anything the run printed or wrote, and what the run left behind.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { stringify } from "yaml";
import { type StaticServer, type ServeOptions, serveDir } from "../../worker-image/src/cli/serve.ts";

const main = join(import.meta.dirname, "..", "..", "worker-image", "src", "cli", "main.ts");

/** Values no output, log, status or child environment may ever show. */
export const SECRETS = {
  AWS_SECRET_ACCESS_KEY: "hostileSECRETkey0123456789abcdefXYZ",
  AWS_ACCESS_KEY_ID: "AKIAHOSTILECANARY01",
  REEL_TEST_TOKEN: "tok_hostile_canary_5e3c",
} as const;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A listener no run may reach: every connection it accepts is counted. */
export interface Canary {
  host: string;
  port: number;
  url: string;
  hits: number;
  close(): Promise<void>;
}

export async function startCanary(host = "127.0.0.3"): Promise<Canary> {
  const c = { host, port: 0, url: "", hits: 0, close: async () => {} } as Canary;
  const server: Server = createServer((s) => {
    c.hits++;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  c.port = (server.address() as { port: number }).port;
  c.url = `http://${host}:${c.port}`;
  c.close = () => new Promise((r) => server.close(() => r()));
  return c;
}

export interface Hostile {
  /** The case's own directory: cache/, tmp/, out/ and the manifests live here. */
  dir: string;
  cache: string;
  tmp: string;
  out: string;
  /** Files served on 127.0.0.2 (write them under `src`). */
  src: string;
  origin: string;
  canary: Canary;
  /** `reel run <manifest> [args]` (or any reel command with `raw`), with the planted secrets in its env. */
  reel(args: string[], env?: NodeJS.ProcessEnv): Promise<Run>;
  /** A VideoJob manifest for `reel run` with local output under `out`; answers its path. */
  manifest(name: string, spec: Record<string, unknown>): Promise<string>;
  /** Every file left under `dir`'s cache and tmp, relative to `dir` (what a run left behind). */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

export async function hostile(prefix: string, serve: ServeOptions = {}): Promise<Hostile> {
  const dir = await mkdtemp(join(tmpdir(), `reel-hostile-${prefix}-`));
  const [cache, tmp, out, src] = ["cache", "tmp", "out", "src"].map((d) => join(dir, d)) as [
    string,
    string,
    string,
    string,
  ];
  await Promise.all([cache, tmp, out, src].map((d) => mkdir(d, { recursive: true })));
  const server: StaticServer = await serveDir(src, { host: "127.0.0.2", ...serve });
  const canary = await startCanary();
  return {
    dir,
    cache,
    tmp,
    out,
    src,
    origin: server.origin,
    canary,
    reel: (args, env = {}) =>
      run(args, {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TMPDIR: tmp,
        REEL_CACHE_DIR: cache,
        REEL_EGRESS_ALLOW: "127.0.0.2/32",
        ...SECRETS,
        ...env,
      }),
    async manifest(name, spec) {
      const path = join(dir, `${name}.yaml`);
      await writeFile(
        path,
        stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name },
          spec: {
            quality: "480p",
            compression: { preset: "fast", level: 6 },
            output: { local: { path: out } },
            ...spec,
          },
        }),
      );
      return path;
    },
    async leftovers() {
      return [...(await files(dir, cache)), ...(await files(dir, tmp))].sort();
    },
    async close() {
      await server.close();
      await canary.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { env, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

async function files(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(root, p));
    }
  };
  await walk(dir);
  return out;
}

/** The planted secrets (and any extra ones) found in `texts`: each hit names the secret. */
export function secretsIn(texts: string[], extra: string[] = []): string[] {
  const all = [...Object.values(SECRETS), ...extra];
  return all.filter((s) => texts.some((t) => t.includes(s)));
}

/** Every file under `dir` read as text (outputs, results, logs), for secretsIn. */
export async function textsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await files(dir, dir)) {
    const p = join(dir, f);
    if ((await stat(p)).size < 4 * 1024 * 1024) out.push(await readFile(p, "latin1"));
  }
  return out;
}
