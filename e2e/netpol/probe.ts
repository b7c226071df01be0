// What a pod can reach: a Node script run inside the pod (`kubectl exec POD -- node -e PROBE host port
// [payload]`) that opens one TCP connection, writes the payload (a JSON string: "PING\r\n"), waits for
// the first bytes back and prints one JSON line; and its reader. A refusal by a policy engine's REJECT
// is ECONNREFUSED at once; a timeout would be a silent drop or no route — the test tells them apart.
import { z } from "zod";

/** Run as `node -e PROBE host port [payload-json]`; always exits 0 and prints one line. */
export const PROBE = `
const [host, port, payload] = process.argv.slice(1);
const out = (r) => { process.stdout.write(JSON.stringify(r) + "\\n"); process.exit(0); };
const s = require("node:net").connect({ host, port: Number(port), timeout: 5000 });
let reply = "";
s.on("connect", () => {
  if (!payload) out({ result: "open", reply });
  s.write(JSON.parse(payload));
  setTimeout(() => out({ result: "open", reply }), 3000);
});
s.on("data", (d) => { reply += d; out({ result: "open", reply: reply.slice(0, 80) }); });
s.on("timeout", () => out({ result: "timeout" }));
s.on("error", (e) => out({ result: e.code || e.message }));
`;

export const ReachSchema = z.object({
  /** "open", or the connection's error code (ECONNREFUSED, EHOSTUNREACH, ...) or "timeout" */
  result: z.string(),
  reply: z.string().optional(),
});
export type Reach = z.infer<typeof ReachSchema>;

/** The probe's line, from a command's output that may hold other lines (kubectl's warnings). */
export function parseReach(out: string): Reach {
  const line = out
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (!line) throw new Error(`the probe printed no result: ${JSON.stringify(out.slice(0, 200))}`);
  return ReachSchema.parse(JSON.parse(line));
}

/** The arguments after `node`: the script, where to, and what to send. */
export function probeArgs(host: string, port: number, payload?: string): string[] {
  return ["-e", PROBE, host, String(port), ...(payload === undefined ? [] : [JSON.stringify(payload)])];
}
