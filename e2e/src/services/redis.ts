// A real redis-server (Debian's package) on a free loopback port, no persistence, for one test file.
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, start, waitFor } from "./proc.ts";

export interface RedisServer {
  url: string;
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
      resolve(d.toString().startsWith("+PONG"));
    });
    s.once("error", () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "reel-redis-"));
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  let s = start("redis-server", args);
  await waitFor("redis-server", () => ping(port), s);
  return {
    url: `redis://127.0.0.1:${port}`,
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
