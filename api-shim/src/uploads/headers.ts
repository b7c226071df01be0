// The tus creation headers the shim reads itself before tus does: the length it reserves against
// the quota (Upload-Length; a deferred length cannot be reserved, so it is refused) and the file's
// name from Upload-Metadata (`filename <base64>`), kept with the upload for listings.
import { ReelError } from "@reel/crds";

/** Upload-Length as a byte count; REEL_INVALID_ARGUMENT when missing, deferred or malformed. */
export function uploadLength(headers: Record<string, string | string[] | undefined>): number {
  if (headers["upload-defer-length"] !== undefined)
    throw new ReelError(
      "REEL_INVALID_ARGUMENT",
      "Upload-Defer-Length is not accepted: the quota is checked against Upload-Length when the upload is created",
    );
  const raw = headers["upload-length"];
  if (typeof raw !== "string" || !/^\d{1,16}$/.test(raw))
    throw new ReelError("REEL_INVALID_ARGUMENT", "send Upload-Length: the file's size in bytes (a whole number)");
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new ReelError("REEL_INVALID_ARGUMENT", `Upload-Length ${raw} is too large`);
  return n;
}

/** At most this many characters of a file name are kept. */
export const FILENAME_MAX = 255;

/** The `filename` (or `name`) of Upload-Metadata, decoded, control characters dropped; undefined if none. */
export function uploadFilename(metadata: string | string[] | undefined): string | undefined {
  if (typeof metadata !== "string") return undefined;
  for (const pair of metadata.split(",")) {
    const [k, v] = pair.trim().split(" ");
    if ((k === "filename" || k === "name") && v) {
      const name = Buffer.from(v, "base64")
        .toString("utf8")
        .replace(/\p{C}+/gu, "")
        .trim();
      return [...name].slice(0, FILENAME_MAX).join("") || undefined;
    }
  }
  return undefined;
}
