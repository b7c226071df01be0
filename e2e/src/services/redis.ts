// A real redis-server (Debian's package) on a free loopback port, no persistence, for one test file.
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, start, waitFor } from "./proc.ts";

export interface RedisServer {
  /** With `password`, the default user's credentials are in it (an admin URL). */
  url: string;
  /** redis://127.0.0.1:<port>, no credentials. */
  bareUrl: string;
  port: number;
  stop(): Promise<void>;
  /** Stops and starts the same server on the same port (clients must reconnect). */
  restart(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      s.destroy();
      // NOAUTH: up, and asking for a password (requirepass).
      resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
    });
    s.once("error", () => resolve(false));
  });
}

/** `password`: the default user needs it (requirepass), as in an installation with worker ACLs. */
export async function startRedis(o: { password?: string } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "reel-redis-"));
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  if (o.password) args.push("--requirepass", o.password);
  let s = start("redis-server", args);
  await waitFor("redis-server", () => ping(port), s);
  return {
    url: o.password ? `redis://:${o.password}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    bareUrl: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await s.stop();
      s = start("redis-server", args);
      await waitFor("redis-server", () => ping(port), s);
    },
  };
}
