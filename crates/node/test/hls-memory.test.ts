import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const MIB = 1 << 20;
const SEGMENTS = 4;
const SEGMENT_BYTES = 64 * MIB;

describe("HLS memory", () => {
  // Before segments were streamed to disk, every segment in flight was held whole: 8 x 250 MB
  // segments peaked at 2.09 GB. Here 4 x 64 MiB must stay well under the 256 MiB they add up to.
  it("keeps peak RSS bounded when segments are large (4 x 64 MiB on loopback)", async () => {
    const block = randomBytes(MIB);
    const server = createServer((req, res) => {
      if (req.url === "/p.m3u8") {
        const segs = Array.from({ length: SEGMENTS }, (_, i) => `#EXTINF:4.0,\ns${i}.ts\n`).join("");
        res.end(`#EXTM3U\n#EXT-X-TARGETDURATION:4\n${segs}#EXT-X-ENDLIST\n`);
        return;
      }
      res.writeHead(200, { "content-length": SEGMENT_BYTES });
      let sent = 0;
      const pump = () => {
        while (sent < SEGMENT_BYTES) {
          sent += MIB;
          if (!res.write(block)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const dir = await mkdtemp(join(tmpdir(), "reel-hls-mem-"));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p.m3u8`;
      const dest = join(dir, "out.ts");
      const { stdout } = await promisify(execFile)(process.execPath, [
        join(import.meta.dirname, "fixtures-hls-child.ts"),
        url,
        dest,
      ]);
      const r = JSON.parse(stdout) as { bytes: number; maxRssBytes: number };
      console.log(`HLS ${SEGMENTS} x ${SEGMENT_BYTES / MIB} MiB: peak RSS ${(r.maxRssBytes / MIB).toFixed(0)} MiB`);
      expect(r.bytes).toBe(SEGMENTS * SEGMENT_BYTES);
      expect((await stat(dest)).size).toBe(SEGMENTS * SEGMENT_BYTES);
      expect(await readdir(dir)).toEqual(["out.ts"]);
      expect(r.maxRssBytes).toBeLessThan((SEGMENTS * SEGMENT_BYTES) / 2);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
