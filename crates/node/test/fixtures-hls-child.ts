// Run as a child process by the HLS memory test: downloads one playlist and prints its peak RSS, so
// the figure is this download's alone (the parent holds the server and vitest).
import { downloadHls } from "../lib/index.ts";

const [url, dest] = process.argv.slice(2);
if (!url || !dest) throw new Error("usage: fixtures-hls-child.ts URL DEST");
const r = await downloadHls({ url, dest, concurrency: 8, net: { allow: ["127.0.0.1/32"] } });
process.stdout.write(`${JSON.stringify({ bytes: r.bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
