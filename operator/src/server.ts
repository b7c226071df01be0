// /metrics (Prometheus), /healthz (the process answers) and /readyz (leading with synced caches,
// or standing by).
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export function startServer(o: {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
}): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      res.writeHead(200, { "Content-Type": o.registry.contentType });
      res.end(await o.registry.metrics());
    } else if (path === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } else if (path === "/readyz") {
      const ok = o.ready();
      res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok" : "not ready");
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      const a = server.address();
      resolve({ server, port: typeof a === "object" && a ? a.port : o.port });
    });
  });
}
