// The local directory target used by `reel run`: the file appears in place atomically (copied
// beside its final name, then renamed), so a reader never sees half a video.
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ReelError } from "@reel/crds";
import { safeName } from "./names.ts";
import type { OutputTarget, PutOptions, StoredObject } from "./target.ts";

export class LocalTarget implements OutputTarget {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject> {
    const dest = join(this.dir, safeName(name));
    const tmp = `${dest}.reel-tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      await copyFile(localPath, tmp);
      await rename(tmp, dest);
    } catch (cause) {
      await rm(tmp, { force: true });
      throw new ReelError("REEL_IO", `cannot write ${dest}: ${(cause as Error).message}`, { cause });
    }
    const { size } = await stat(dest);
    opts.onProgress?.(size, size);
    return { location: dest, sizeBytes: size, checksum: `sha256:${opts.sha256}` };
  }
}
