export * from "./plan/jobs.ts";
export * from "./plan/names.ts";
export * from "./scheduling/gpu.ts";
export * from "./status/conditions.ts";
