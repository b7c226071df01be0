// `reel submit --file`: local files uploaded to the shim's tus endpoint (/api/v1/uploads), then
// named in the job as `upload: <id>` episodes. A dropped connection is retried from the offset the
// shim holds (tus HEAD, then PATCH from there), not from the start; progress goes to stderr.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { ReelError } from "@reel/crds";
import { DetailedError, Upload } from "tus-js-client";
import type { Ctx } from "./context.ts";
import type { Api } from "./http.ts";

/**
 * Bytes per PATCH. A PATCH cut midway can be lost whole (in the test, one cut after 3 MiB left the
 * shim at offset 0), so pieces bound what a dropped connection costs.
 */
export const CHUNK_BYTES = 8 * 1024 * 1024;

export interface UploadedFile {
  file: string;
  id: string;
  bytes: number;
}

export interface UploadFlags {
  /** Waits between tries after a dropped connection (tus-js-client retryDelays). */
  retryDelaysMs?: number[];
  /** PATCH size (CHUNK_BYTES when absent). */
  chunkBytes?: number;
  quiet?: boolean;
}

/** The shim's REEL_* error from a failed tus request, or a network failure as REEL_SHIM_UNREACHABLE. */
function uploadError(file: string, err: Error): ReelError {
  const res = err instanceof DetailedError ? err.originalResponse : null;
  if (!res) return new ReelError("REEL_SHIM_UNREACHABLE", `uploading ${file}: ${err.message}`, { cause: err });
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(res.getBody() ?? "");
  } catch {}
  const code = body.error?.code;
  const message = `uploading ${file}: ${body.error?.message ?? `HTTP ${res.getStatus()}`}`;
  return code?.startsWith("REEL_")
    ? new ReelError(code as never, message)
    : new ReelError("REEL_SHIM_RESPONSE_INVALID", message);
}

/** Uploads one file of `size` bytes; resolves with its upload id. */
async function uploadOne(ctx: Ctx, api: Api, file: string, size: number, flags: UploadFlags): Promise<UploadedFile> {
  const name = basename(file);
  let shown = -1;
  const id = await new Promise<string>((resolve, reject) => {
    const up: Upload = new Upload(createReadStream(file), {
      endpoint: api.url("/api/v1/uploads"),
      headers: api.authHeaders(),
      metadata: { filename: name },
      uploadSize: size,
      chunkSize: flags.chunkBytes ?? CHUNK_BYTES,
      retryDelays: flags.retryDelaysMs ?? [0, 1000, 3000, 5000, 10_000],
      // A refusal (quota, scope) is final; network failures, 5xx, 423 (locked) and 409 (the offset
      // moved: ask HEAD again) are tried again, as tus-js-client's own rule does.
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        return status === 0 || status >= 500 || status === 423 || status === 409;
      },
      onProgress: (sent, total) => {
        const pct = total ? Math.floor((sent / total) * 10) * 10 : 100;
        if (flags.quiet || pct === shown) return;
        shown = pct;
        ctx.stderr.write(`uploading ${name}: ${pct}% of ${size} bytes\n`);
      },
      onError: (err) => reject(uploadError(file, err)),
      onSuccess: () => resolve((up.url ?? "").slice((up.url ?? "").lastIndexOf("/") + 1)),
    });
    up.start();
  });
  return { file, id, bytes: size };
}

/** Uploads the files one after another (each resumable); their ids in the same order. */
export async function uploadFiles(
  ctx: Ctx,
  api: Api,
  files: string[],
  flags: UploadFlags = {},
): Promise<UploadedFile[]> {
  // Every file is checked before the first byte goes: a typo in the last --file costs no upload.
  const sizes = await Promise.all(
    files.map(async (f) => {
      const s = await stat(f).catch((cause) => {
        throw new ReelError("REEL_INVALID_ARGUMENT", `--file ${f}: ${(cause as Error).message}`, { cause });
      });
      if (!s.isFile()) throw new ReelError("REEL_INVALID_ARGUMENT", `--file ${f} is not a regular file`);
      return s.size;
    }),
  );
  const done: UploadedFile[] = [];
  for (const [i, f] of files.entries()) done.push(await uploadOne(ctx, api, f, sizes[i] ?? 0, flags));
  return done;
}
