// Staging: where episode pods leave their encoded episode and its record for the merge pod. A
// prefix in the output bucket or a directory on the output volume (the layout and its names:
// crds/src/contract/staging.ts).
// Writes go through the output targets (S3 multipart with checksums; local copy-then-rename), so a
// reader never sees half a file; a record is always written after the file it describes.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { ReelError } from "@reel/crds";
import { LocalTarget } from "../output/local.ts";
import { storedName } from "../output/names.ts";
import { outputSettingsFromEnv, type S3Connection, S3Target, s3Client } from "../output/s3.ts";
import type { PutOptions, StoredObject } from "../output/target.ts";
import type { StagingRef } from "./env.ts";

export interface Staging {
  /** s3://bucket/prefix/ or the directory, for messages. */
  readonly location: string;
  /** Where a staged name is (s3://bucket/key or a path), for records and messages. */
  locate(name: string): string;
  /** A staged JSON record, or undefined when there is none (or it is torn). */
  readJson<T>(name: string, signal?: AbortSignal): Promise<T | undefined>;
  /** A local path holding the staged file: downloaded into `dir` from S3, the file itself on a volume. */
  materialise(name: string, dir: string, signal?: AbortSignal): Promise<string>;
  put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject>;
  /** Removes every staged file but those named in `keep`; answers how many were removed. */
  clear(keep: readonly string[], signal?: AbortSignal): Promise<number>;
}

/** Writes a JSON record through the staging's own put (same atomicity and checksums as files). */
export async function putJson(staging: Staging, scratch: string, name: string, value: unknown): Promise<void> {
  const body = JSON.stringify(value);
  await mkdir(scratch, { recursive: true });
  const path = join(scratch, `${name}.out`);
  await writeFile(path, body);
  try {
    await staging.put(path, name, {
      sha256: createHash("sha256").update(body).digest("hex"),
      contentType: "application/json",
    });
  } finally {
    await rm(path, { force: true });
  }
}

export function openStaging(ref: StagingRef, conn?: S3Connection): Staging {
  if (ref.kind === "dir") return new DirStaging(ref.dir);
  if (!conn) throw new ReelError("REEL_WORKER_ENV_INVALID", "S3 staging needs an S3 connection");
  return new S3Staging(ref.bucket, ref.prefix, conn);
}

class DirStaging implements Staging {
  readonly location: string;
  readonly #target: LocalTarget;
  constructor(dir: string) {
    this.#target = new LocalTarget(dir);
    this.location = this.#target.dir;
  }

  locate(name: string): string {
    return join(this.location, storedName(name));
  }

  async readJson<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.locate(name), "utf8")) as T;
    } catch {
      return undefined;
    }
  }

  async materialise(name: string): Promise<string> {
    const path = this.locate(name);
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile()) throw new ReelError("REEL_STAGING_MISSING", `${path} is not in staging`);
    return path;
  }

  put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject> {
    return this.#target.put(localPath, name, opts);
  }

  async clear(keep: readonly string[]): Promise<number> {
    const names = await readdir(this.location).catch(() => [] as string[]);
    const gone = names.filter((n) => !keep.includes(n));
    for (const n of gone) await rm(join(this.location, n), { recursive: true, force: true });
    return gone.length;
  }
}

class S3Staging implements Staging {
  readonly location: string;
  readonly #bucket: string;
  readonly #target: S3Target;
  readonly #client: S3Client;

  constructor(bucket: string, prefix: string, conn: S3Connection) {
    this.#bucket = bucket;
    // The presigned URL S3Target answers is not used for staged files; an hour is plenty.
    // The installation's SSE applies to staging too; its output storage class does not: staged
    // files live minutes, and IA classes bill 30 days and 128 KiB at least (contract/storage-class.ts).
    const { storageClass: _outputsOnly, ...settings } = outputSettingsFromEnv();
    this.#target = new S3Target({ ...conn, bucket, prefix, urlExpirySecs: 3600, settings });
    this.#client = s3Client(conn);
    this.location = `s3://${bucket}/${prefix}`;
  }

  locate(name: string): string {
    return `s3://${this.#bucket}/${this.#target.key(name)}`;
  }

  async #get(name: string, signal?: AbortSignal) {
    const Key = this.#target.key(name);
    try {
      return await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }), { abortSignal: signal });
    } catch (cause) {
      const e = cause as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return undefined;
      throw new ReelError("REEL_STORAGE_FAILED", `reading s3://${this.#bucket}/${Key} failed: ${e.name ?? cause}`, {
        cause,
      });
    }
  }

  async readJson<T>(name: string, signal?: AbortSignal): Promise<T | undefined> {
    const res = await this.#get(name, signal);
    if (!res?.Body) return undefined;
    try {
      return JSON.parse(await res.Body.transformToString()) as T;
    } catch {
      return undefined;
    }
  }

  async materialise(name: string, dir: string, signal?: AbortSignal): Promise<string> {
    const res = await this.#get(name, signal);
    if (!res?.Body) throw new ReelError("REEL_STAGING_MISSING", `${this.locate(name)} is not in staging`);
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    try {
      await pipeline(res.Body as Readable, createWriteStream(path), signal ? { signal } : {});
    } catch (cause) {
      await rm(path, { force: true });
      throw new ReelError("REEL_STORAGE_FAILED", `downloading ${this.locate(name)} failed`, { cause });
    }
    return path;
  }

  put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject> {
    return this.#target.put(localPath, name, opts);
  }

  async clear(keep: readonly string[], signal?: AbortSignal): Promise<number> {
    const prefix = this.location.slice(`s3://${this.#bucket}/`.length);
    // Never a whole bucket: staging is always a folder of its own.
    if (!prefix) throw new ReelError("REEL_INTERNAL", `refusing to clear bucket ${this.#bucket} whole`);
    const kept = new Set(keep.map((n) => this.#target.key(n)));
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
        { abortSignal: signal },
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key && !kept.has(o.Key) ? [{ Key: o.Key }] : []));
      if (keys.length) {
        await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys, Quiet: true } }),
          { abortSignal: signal },
        );
        removed += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }
}
