export * from "./scheduling/gpu.ts";
