import { describe, expect, it } from "vitest";
import { watchDetail } from "./controller.ts";

describe("watchDetail: a watch problem in one readable line", () => {
  it.each([
    [new Error("Too Many Requests\n[ 'content-type', 'application/json', 'retry-after', '1' ]"), "Too Many Requests"],
    [{ status: 429, headers: ["retry-after", "1", "content-type", "application/json"] }, "HTTP 429"],
    [{ statusCode: 503 }, "HTTP 503"],
    ["connection reset", "connection reset"],
    [undefined, ""],
  ])("%j -> %s", (detail, want) => expect(watchDetail(detail)).toBe(want));

  it("cuts a long line", () => {
    expect(watchDetail(new Error("x".repeat(1000)))).toHaveLength(241);
  });
});
