// Ids from paths, checked before any lookup: a job id is a DNS label (a VideoJob's name) or a uid,
// a key id its 8 base62 characters, a user id a positive integer. Anything else — a NUL byte, a
// 300-character name, an upper-case letter — is a 400 that names the rule, never a database error.
import { RequestError } from "./errors.ts";

const JOB_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ID = /^[0-9A-Za-z]{8}$/;

const bad = (what: string, rule: string) =>
  new RequestError("REEL_INVALID_ARGUMENT", `${what} in the path ${rule}`, [{ path: what, message: rule }]);

/** A job's `:id`: its name or its uid. */
export function jobIdParam(id: string): string {
  if (JOB_NAME.test(id) || UID.test(id)) return id;
  throw bad("id", "must be a job name (a lowercase DNS label of at most 63 characters) or a uid");
}

/** A key's `:id`: the 8 characters after `reel_` in the key. */
export function keyIdParam(id: string): string {
  if (KEY_ID.test(id)) return id;
  throw bad("id", "must be a key id: the 8 letters and digits after reel_ in the key");
}

/** A user's `:id`. */
export function userIdParam(id: string): number {
  const n = /^[1-9]\d{0,14}$/.test(id) ? Number(id) : 0;
  if (n > 0) return n;
  throw bad("id", "must be a user id (a positive integer)");
}

/** An output's `:n`: its index in the job's outputs. */
export function outputIndexParam(n: string): number {
  if (/^\d{1,6}$/.test(n)) return Number(n);
  throw bad("n", "must be an output index (0, 1, ...)");
}

/** An episode's `:n`: its index in the job's episodes, from 0. */
export function episodeIndexParam(n: string): number {
  if (/^\d{1,6}$/.test(n)) return Number(n);
  throw bad("n", "must be an episode index (0, 1, ...)");
}
