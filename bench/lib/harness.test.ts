// The harness's pure parts: statistics, the result shape and its table, the round order,
// nginx sizes and the MP4 box walk. No servers or tools needed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { moovBeforeMdat, topLevelBoxes } from "./mp4.mjs";
import { nginxSizeBytes } from "./nginx.mjs";
import { errorRow, formatTable, goal, makeRow, median, round } from "./report.mjs";
import { runRounds } from "./rounds.mjs";

describe("report", () => {
  test("median of odd and even counts, null for none", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  test("round keeps three decimals of small numbers and the integer part of big ones", () => {
    expect(round(0.123456)).toBe(0.123);
    expect(round(64.31234)).toBe(64.31);
    expect(round(1234.56)).toBe(1235);
    expect(round(null)).toBeNull();
  });

  test("a row folds samples into median, min, max and the highest peak RSS, and keeps the first error", () => {
    const row = makeRow(
      "reel",
      [
        { value: 10, rssMb: 50 },
        { value: 30, rssMb: 70 },
        { value: 20, rssMb: 60 },
      ],
      ["timed out"],
    );
    expect(row).toMatchObject({ tool: "reel", median: 20, min: 10, max: 30, peak_rss_mb: 70, rounds: 3 });
    expect(row).toMatchObject({ error: "timed out", failed_rounds: 1 });
  });

  test("the table shows every row, every error and every goal as PASS, FAIL or N/A", () => {
    const text = formatTable({
      scenario: "demo",
      unit: "s",
      higher_is_better: false,
      rows: [makeRow("a", [{ value: 1, rssMb: 2 }], [], { chapters: 4 }), errorRow("b", "b unavailable")],
      goals: [goal("a fast", true, "1 s"), goal("b fast", false, ""), goal("c fast", null, "no data")],
    });
    expect(text).toContain("median s");
    expect(text).toContain("chapters");
    expect(text).toContain("! b: b unavailable");
    expect(text).toMatch(/\[PASS\] a fast/);
    expect(text).toMatch(/\[FAIL\] b fast/);
    expect(text).toMatch(/\[N\/A \] c fast/);
  });
});

test("rounds reverse the tool order on every other round and stop calling a tool that is unavailable", async () => {
  const calls: string[] = [];
  const tool = (name: string, fail = false) => ({
    name,
    async run() {
      calls.push(name);
      if (fail) throw Object.assign(new Error(`${name} missing`), { fatalForTool: true });
      return { value: 1, rssMb: null };
    },
  });
  const results = await runRounds({ rounds: 3, tools: [tool("a"), tool("b"), tool("c", true)] });
  expect(calls).toEqual(["a", "b", "c", "b", "a", "a", "b"]);
  expect(results.get("c")?.errors).toEqual(["c missing"]);
  expect(results.get("a")?.samples).toHaveLength(3);
});

test("nginx sizes use binary units", () => {
  expect(nginxSizeBytes("4m")).toBe(4 * 1024 * 1024);
  expect(nginxSizeBytes("64k")).toBe(65536);
  expect(nginxSizeBytes("100")).toBe(100);
  expect(() => nginxSizeBytes("4 MB")).toThrow();
});

describe("mp4 boxes", () => {
  const dir = mkdtempSync(join(tmpdir(), "reel-bench-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const box = (type: string, payload = 0) => {
    const b = Buffer.alloc(8 + payload);
    b.writeUInt32BE(8 + payload, 0);
    b.write(type, 4, "latin1");
    return b;
  };

  test("tells moov-first files from moov-last ones", () => {
    const fast = join(dir, "fast.mp4");
    const slow = join(dir, "slow.mp4");
    writeFileSync(fast, Buffer.concat([box("ftyp", 8), box("moov", 16), box("mdat", 32)]));
    writeFileSync(slow, Buffer.concat([box("ftyp", 8), box("mdat", 32), box("moov", 16)]));
    expect(topLevelBoxes(fast).map((b: { type: string }) => b.type)).toEqual(["ftyp", "moov", "mdat"]);
    expect(moovBeforeMdat(fast)).toBe(true);
    expect(moovBeforeMdat(slow)).toBe(false);
  });

  test("reads 64-bit box sizes", () => {
    const big = Buffer.alloc(16 + 4);
    big.writeUInt32BE(1, 0);
    big.write("mdat", 4, "latin1");
    big.writeBigUInt64BE(20n, 8);
    const path = join(dir, "large.mp4");
    writeFileSync(path, Buffer.concat([box("ftyp", 8), big, box("moov", 8)]));
    expect(topLevelBoxes(path).map((b: { type: string; size: number }) => [b.type, b.size])).toEqual([
      ["ftyp", 16],
      ["mdat", 20],
      ["moov", 16],
    ]);
  });
});
