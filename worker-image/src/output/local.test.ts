import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalTarget } from "./local.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "reel-local-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function source(body: string) {
  const path = join(root, "src.mp4");
  await writeFile(path, body);
  return { path, sha256: createHash("sha256").update(body).digest("hex") };
}

describe("LocalTarget", () => {
  it("stores the file under its name and leaves no temporary file", async () => {
    const src = await source("video bytes");
    const out = join(root, "out");
    const stored = await new LocalTarget(out).put(src.path, "show.mp4", { sha256: src.sha256 });
    expect(stored.location).toBe(join(out, "show.mp4"));
    expect(await readFile(stored.location, "utf8")).toBe("video bytes");
    expect(await readdir(out)).toEqual(["show.mp4"]);
  });

  it("never writes through a symlink planted at a temporary name: the victim file is untouched", async () => {
    const victim = join(root, "victim");
    await writeFile(victim, "precious");
    const out = join(root, "out");
    await new LocalTarget(out).put((await source("x")).path, "seed.mp4", { sha256: "0" });
    // The old fixed temp name and other plausible spellings, all pointing at the victim.
    const planted = ["show.mp4.reel-tmp", "show.mp4.tmp", ".show.mp4.reel-tmp", "show.mp4.part", "show.reel-tmp"];
    for (const name of planted) await symlink(victim, join(out, name));
    const src = await source("attacker-controlled encode");
    const stored = await new LocalTarget(out).put(src.path, "show.mp4", { sha256: src.sha256 });
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect(await readFile(stored.location, "utf8")).toBe("attacker-controlled encode");
    expect((await readdir(out)).sort()).toEqual([...planted, "seed.mp4", "show.mp4"].sort());
  });

  it("replaces a symlink at the final name instead of writing through it", async () => {
    const victim = join(root, "victim");
    await writeFile(victim, "precious");
    const out = join(root, "out");
    await new LocalTarget(out).put((await source("x")).path, "seed.mp4", { sha256: "0" });
    await symlink(victim, join(out, "show.mp4"));
    const src = await source("encode");
    await new LocalTarget(out).put(src.path, "show.mp4", { sha256: src.sha256 });
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect(await readFile(join(out, "show.mp4"), "utf8")).toBe("encode");
  });
});
