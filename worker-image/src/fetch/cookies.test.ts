import { mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Cookies, MAX_COOKIES_BYTES, netscapeValues, readCookies } from "./cookies.ts";

const MARKER = "ck_marker_7f3a9e21";
const FILE = `# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tTRUE\t2000000000\tsession\t${MARKER}\n#HttpOnly_example.com\tFALSE\t/\tFALSE\t0\tsid\tother_value_42\n`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-cookies-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("netscapeValues", () => {
  it("reads each cookie line's value, HttpOnly ones too, skipping comments and blank lines", () => {
    expect(netscapeValues(`${FILE}\r\n\n# a comment\n`)).toEqual([MARKER, "other_value_42"]);
  });

  it.each([
    ["a JSON export", `[{"name":"session","value":"${MARKER}"}]`, /line 1 has 1 fields/],
    ["a line of 6 fields", `example.com\tTRUE\t/\tTRUE\t0\t${MARKER}`, /line 1 has 6 fields/],
    ["an expiry that is not a number", `example.com\tTRUE\t/\tTRUE\tsoon\ts\t${MARKER}`, /line 1's expiry/],
    ["only comments", "# Netscape HTTP Cookie File\n# nothing\n", /holds no cookie/],
  ])("refuses %s, naming the line but never its content", (_what, text, why) => {
    const r = netscapeValues(text);
    expect(r).toMatch(why);
    expect(r).not.toContain(MARKER);
  });
});

describe("readCookies", () => {
  it("refuses a missing file, a directory, a file over 1 MiB and a bad one with REEL_COOKIES_INVALID", async () => {
    const big = join(dir, "big.txt");
    await writeFile(big, "#".repeat(MAX_COOKIES_BYTES + 1));
    const bad = join(dir, "bad.txt");
    await writeFile(bad, `example.com ${MARKER}\n`);
    const cases: [string, RegExp][] = [
      [join(dir, "none.txt"), /does not exist/],
      [dir, /not a regular file/],
      [big, /larger than 1048576 bytes/],
      [bad, /not a Netscape cookies file/],
    ];
    for (const [path, why] of cases) {
      const err = await readCookies(path).catch((e: Error) => e);
      expect(err, path).toMatchObject({ code: "REEL_COOKIES_INVALID" });
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).not.toContain(MARKER);
    }
  });

  it("names a Secret's file by the name it is given, not by the mount path", async () => {
    const err = await readCookies(join(dir, "absent"), "Secret site-cookies key cookies.txt").catch((e: Error) => e);
    expect((err as Error).message).toBe("cookies file Secret site-cookies key cookies.txt does not exist");
  });

  it("shows no cookie when logged or serialised", async () => {
    const path = join(dir, "cookies.txt");
    await writeFile(path, FILE);
    const c = await readCookies(path);
    expect(JSON.stringify(c)).toBe(JSON.stringify({ source: path }));
    expect(JSON.stringify({ c })).not.toContain(MARKER);
    expect(Object.keys(c)).toEqual(["source"]);
  });
});

describe("Cookies.privateCopy", () => {
  it("writes a 0600 copy for yt-dlp, with the header a file of bare lines lacks, and removes it", async () => {
    const c = new Cookies("test", `example.com\tFALSE\t/\tFALSE\t0\ts\t${MARKER}\n`);
    const copy = await c.privateCopy(dir);
    expect((await stat(copy.path)).mode & 0o777).toBe(0o600);
    const text = await readFile(copy.path, "utf8");
    expect(text.split("\n")[0]).toBe("# Netscape HTTP Cookie File");
    expect(text).toContain(MARKER);
    await copy.remove();
    await expect(stat(copy.path)).rejects.toThrow();
  });

  it("never writes through a link planted at the copy's name", async () => {
    const victim = join(dir, "victim");
    await writeFile(victim, "untouched");
    await symlink(victim, join(dir, ".reel-cookies.txt"));
    const copy = await new Cookies("test", FILE).privateCopy(dir);
    expect(await readFile(victim, "utf8")).toBe("untouched");
    expect(await readFile(copy.path, "utf8")).toBe(FILE);
  });
});
