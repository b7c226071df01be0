// Starting real servers as child processes for tests: a free loopback port, readiness by polling,
// logs kept for the failure message, and a stop that never leaves a process behind.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

// Servers still running when the test process exits (a worker ended before its afterAll, a test
// that forgot stop()) are killed with it, instead of living on as orphans holding ports and /tmp.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export interface Started {
  child: ChildProcess;
  logs: () => string;
  stop: () => Promise<void>;
}

/** `user`: run as this uid/gid (servers such as PostgreSQL refuse to run as root). */
export function start(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  user?: { uid: number; gid: number },
): Started {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, ...user });
  const lines: string[] = [];
  const keep = (b: Buffer) => {
    lines.push(...b.toString().split("\n"));
    lines.splice(0, Math.max(0, lines.length - 200));
  };
  running.add(child);
  child.once("exit", () => running.delete(child));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    child,
    logs: () => lines.join("\n"),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

export async function waitFor(what: string, check: () => Promise<boolean>, s: Started, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null) throw new Error(`${what} exited with ${s.child.exitCode}:\n${s.logs()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  await s.stop();
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${s.logs()}`);
}
