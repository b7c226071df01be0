#!/usr/bin/env node
// api-status's baseline: a bare Fastify hello-world in its own process, the same fastify the shim
// resolves (the root node_modules) on the same Node, no plugins, no logger.
//   node bench/tools/hello-server.mjs [port]
// Prints {"event":"listening","pid","port","fastify"} once it listens on 127.0.0.1; SIGTERM closes it
// and it exits 0.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/hello", async () => ({ hello: "world" }));
await app.listen({ port: Number(process.argv[2] ?? 0), host: "127.0.0.1" });
const { port } = app.server.address();
process.stdout.write(`${JSON.stringify({ event: "listening", pid: process.pid, port, fastify: app.version })}\n`);
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, () => {
    void app.close().then(() => process.exit(0));
  });
}
