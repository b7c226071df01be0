export { videoJobCrd } from "./crd.ts";
export { parseVideoJob, VideoJobInvalidError } from "./parse.ts";
export { type Rule, rules } from "./rules.ts";
export * from "./schema.ts";
