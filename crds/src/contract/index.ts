// The contracts between Reel's processes, each defined once (see each module's header).
export * from "./exit-codes.ts";
export * from "./names.ts";
export * from "./progress.ts";
export * from "./redis-access.ts";
export * from "./rest.ts";
export * from "./staging.ts";
export * from "./worker-env.ts";
export * from "./storage-class.ts";
