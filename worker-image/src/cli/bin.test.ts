import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const bin = join(import.meta.dirname, "reel.mjs");

/** A Node older than 24 on this machine (the system one, where distributions ship an older Node). */
const oldNode = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => {
  if (!existsSync(p)) return false;
  const out = execFileVersion(p);
  return out !== undefined && out < 24;
});

function execFileVersion(path: string): number | undefined {
  try {
    return Number(execFileSync(path, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).trim());
  } catch {
    return undefined;
  }
}

async function run(node: string, args: string[]) {
  return exec(node, [bin, ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe("the reel bin", () => {
  it.skipIf(!oldNode)("on a Node older than 24 says which Node it needs, exit 2, no stack trace", async () => {
    const r = await run(oldNode ?? "", ["--version"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reel needs Node\.js 24 or newer \(this is v\d+/);
    expect(r.stderr).not.toMatch(/\n\s+at |ERR_UNKNOWN_FILE_EXTENSION/);
  });

  it("on this Node runs the CLI", async () => {
    const r = await run(process.execPath, ["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("0.1.0");
  });
});
