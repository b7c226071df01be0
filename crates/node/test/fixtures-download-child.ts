// Run as a child process by the resume test, which SIGKILLs it mid-download.
import { download } from "../lib/index.ts";

const [url, dest] = process.argv.slice(2);
if (!url || !dest) throw new Error("usage: fixtures-download-child.ts URL DEST");
await download(
  { url, dest, connections: 4, chunkSize: 64 * 1024, net: { allow: ["127.0.0.1/32"], progressIntervalMs: 20 } },
  { onProgress: (p) => process.stdout.write(`${p.downloaded}\n`) },
);
