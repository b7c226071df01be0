// The S3 storage class of outputs (issue 17): the chart's s3.storageClass, set on the operator as
// REEL_S3_STORAGE_CLASS, passed on to the merge pod (the one pod that stores outputs) and read back
// by the worker, which sends it as x-amz-storage-class on every output PutObject and
// CreateMultipartUpload. `reel run` takes the same variable, or --storage-class.
//
// Staging never gets it: staged episodes live minutes (the merge pod reads them back, then removes
// them), and the infrequent-access classes bill a 30-day minimum, a 128 KiB minimum object and a
// per-GB retrieval fee — all of which a staged file or an ep<i>.json record would pay in full.
//
// Which values: the AWS names below, plus any other upper-case name ([A-Z][A-Z0-9_]*), because
// other S3 servers define their own (Ceph RGW placement targets, GCS's NEARLINE/COLDLINE through
// its XML API); a name the bucket does not know is refused by the server on the first upload
// (InvalidStorageClass), and the job fails REEL_STORAGE_FAILED. Lower case, spaces and hyphens are
// refused here, with the AWS name suggested. GLACIER and DEEP_ARCHIVE are refused: their objects
// cannot be read until restored, so the reported URL, the player, posters and subtitles would all
// fail — archive finished outputs with a bucket lifecycle rule instead.
import { ReelError } from "../errors.ts";

export const STORAGE_CLASS_ENV = "REEL_S3_STORAGE_CLASS";

/** The storage classes AWS S3 documents (PutObject x-amz-storage-class). */
export const AWS_STORAGE_CLASSES = [
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "GLACIER_IR",
  "OUTPOSTS",
  "EXPRESS_ONEZONE",
] as const;

const ARCHIVED = ["GLACIER", "DEEP_ARCHIVE"];
const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * "" is undefined (the bucket's default, STANDARD on AWS); else a checked class name. `name` is
 * what the message names: the variable, or `reel run`'s --storage-class.
 */
export function parseStorageClass(text = "", name = STORAGE_CLASS_ENV): string | undefined {
  const raw = text.trim();
  if (!raw) return undefined;
  const invalid = (why: string) => new ReelError("REEL_CONFIG_INVALID", `${name} is ${JSON.stringify(raw)}: ${why}`);
  if (ARCHIVED.includes(raw)) {
    throw invalid(
      "archived objects cannot be downloaded until restored (URLs, player, posters would fail): use GLACIER_IR, or a bucket lifecycle rule to archive",
    );
  }
  if (!NAME.test(raw)) {
    const near = raw.toUpperCase().replace(/[-\s]+/g, "_");
    const known = (AWS_STORAGE_CLASSES as readonly string[]).includes(near) && !ARCHIVED.includes(near);
    const hint = known ? ` (did you mean ${near}?)` : "";
    throw invalid(
      `use an S3 storage class name such as STANDARD_IA or INTELLIGENT_TIERING${hint}, or "" for the bucket's default`,
    );
  }
  return raw;
}

/** The writer's side: the env entry of a merge pod (none when unset, so unset installations plan the same Jobs). */
export function storageClassEnv(storageClass: string | undefined): Array<{ name: string; value: string }> {
  return storageClass ? [{ name: STORAGE_CLASS_ENV, value: storageClass }] : [];
}
