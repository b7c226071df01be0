// The local directory target used by `reel run`: the file appears in place atomically (copied
// beside its final name, then renamed), so a reader never sees half a video. The temporary file
// gets an unpredictable name and is created exclusively without following links: whoever can write
// the output directory cannot point it at another file and make a root `reel run` overwrite that.
import { constants, createReadStream } from "node:fs";
import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { ReelError } from "@reel/crds";
import { storedName } from "./names.ts";
import type { OutputTarget, PutOptions, StoredObject } from "./target.ts";

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export class LocalTarget implements OutputTarget {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject> {
    const dest = join(this.dir, storedName(name));
    let tmp: string | undefined;
    try {
      await mkdir(this.dir, { recursive: true });
      const created = await createExclusive(dest);
      tmp = created.path;
      await pipeline(createReadStream(localPath), created.handle.createWriteStream());
      // rename replaces a link at `dest` itself, never the file it points to.
      await rename(tmp, dest);
    } catch (cause) {
      if (tmp) await rm(tmp, { force: true });
      throw new ReelError("REEL_IO", `cannot write ${dest}: ${(cause as Error).message}`, { cause });
    }
    const { size } = await stat(dest);
    opts.onProgress?.(size, size);
    return { location: dest, sizeBytes: size, checksum: `sha256:${opts.sha256}` };
  }
}

/** A new file beside `dest` with a random name; O_EXCL|O_NOFOLLOW refuse anything already there. */
async function createExclusive(dest: string): Promise<{ path: string; handle: FileHandle }> {
  for (let attempt = 0; ; attempt++) {
    const path = `${dest}.${randomBytes(8).toString("hex")}.reel-tmp`;
    try {
      return { path, handle: await open(path, EXCLUSIVE, 0o644) };
    } catch (err) {
      // Only a planted file could collide with 64 random bits; never write through it.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 2) throw err;
    }
  }
}
