import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

describe("the shim's sizes (the chart passes them as strings)", () => {
  it.each([
    ["20Gi", 20 * 2 ** 30],
    ["512Mi", 512 * 2 ** 20],
    ["4.5M", 4_500_000],
    ["1073741824", 1073741824],
    [" 8Mi ", 8 * 2 ** 20],
  ])("REEL_UPLOAD_MAX_BYTES=%j is %i bytes, as the operator reads the same quantity", (text, bytes) => {
    expect(parseConfig({ REEL_UPLOAD_MAX_BYTES: text }).REEL_UPLOAD_MAX_BYTES).toBe(bytes);
  });

  it.each(["20 GB", "1e9", "-5Mi", "Mi", "2Pi"])("refuses %j with REEL_CONFIG_INVALID naming the variable", (text) => {
    expect(() => parseConfig({ REEL_UPLOAD_MAX_BYTES: text })).toThrow(/REEL_UPLOAD_MAX_BYTES is "/);
  });

  it("keeps a size's lower bound: a part under S3's 5 MiB minimum is refused", () => {
    expect(() => parseConfig({ REEL_UPLOAD_PART_BYTES: "4Mi" })).toThrow(/REEL_UPLOAD_PART_BYTES/);
    expect(parseConfig({ REEL_UPLOAD_PART_BYTES: "5Mi" }).REEL_UPLOAD_PART_BYTES).toBe(5 * 2 ** 20);
  });
});
