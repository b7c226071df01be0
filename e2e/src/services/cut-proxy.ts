// A loopback TCP proxy that drops one connection mid-request: the first connection that has
// carried more than `cutAfter` bytes towards the server is destroyed on both sides, as a lost
// network would. It notes the Upload-Offset of each tus PATCH it forwards, so a test can tell a
// resumed upload (a PATCH from an offset above 0) from one started again.
import { connect, createServer, type Socket } from "node:net";

export interface CutProxy {
  port: number;
  seen: { cuts: number; offsets: number[] };
  close(): void;
}

export async function startCutProxy(targetPort: number, cutAfter: number): Promise<CutProxy> {
  const seen = { cuts: 0, offsets: [] as number[] };
  const server = createServer((client: Socket) => {
    const upstream = connect(targetPort, "127.0.0.1");
    let up = 0;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      const head = chunk.subarray(0, 4096).toString("latin1");
      const offset = /^PATCH [^\r\n]*\r\n(?:[^\r\n]+\r\n)*?upload-offset: *(\d+)/im.exec(head);
      if (offset) seen.offsets.push(Number(offset[1]));
      up += chunk.length;
      if (seen.cuts === 0 && up > cutAfter) {
        seen.cuts++;
        end();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (c) => client.write(c));
    for (const s of [client, upstream]) {
      s.on("close", end);
      s.on("error", end);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, seen, close: () => server.close() };
}
