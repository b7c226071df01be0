export { videoJobCrd } from "./crd.ts";
export { type ErrorCode, errorCodes, isErrorCode, ReelError } from "./errors.ts";
export { parseVideoJob, VideoJobInvalidError } from "./parse.ts";
export { type Rule, rules } from "./rules.ts";
export * from "./schema.ts";
