import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseClientEnv } from "./config.ts";
import { credentialsPath, forgetKey, normalizeServer, resolveTarget, storeKey } from "./credentials.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-creds-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("where the credentials live", () => {
  it("uses $XDG_CONFIG_HOME/reel when set", () => {
    expect(parseClientEnv({ XDG_CONFIG_HOME: "/x/conf", HOME: "/home/a" }).configDir).toBe("/x/conf/reel");
  });

  it("falls back to ~/.config/reel when XDG_CONFIG_HOME is unset or relative (the XDG spec ignores relative ones)", () => {
    expect(parseClientEnv({ HOME: "/home/a" }).configDir).toBe("/home/a/.config/reel");
    expect(parseClientEnv({ HOME: "/home/a", XDG_CONFIG_HOME: "conf" }).configDir).toBe("/home/a/.config/reel");
  });
});

describe("the credentials file", () => {
  it("is written with mode 0600 in a 0700 directory, even under a permissive umask", async () => {
    const config = parseClientEnv({ XDG_CONFIG_HOME: dir });
    const old = process.umask(0);
    try {
      await storeKey(config, "https://reel.example.com", "reel_k1", "alice");
    } finally {
      process.umask(old);
    }
    const path = join(dir, "reel", "credentials.json");
    expect(credentialsPath(config)).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "reel"))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({
      version: 1,
      current: "https://reel.example.com",
      servers: { "https://reel.example.com": { key: "reel_k1", user: "alice" } },
    });
  });

  it("keeps one key per server and makes the last login current", async () => {
    const config = parseClientEnv({ XDG_CONFIG_HOME: dir });
    await storeKey(config, "https://a.example", "key-a");
    await storeKey(config, "https://b.example", "key-b");
    expect(await resolveTarget(config, {})).toEqual({ server: "https://b.example", key: "key-b" });
    expect(await resolveTarget(config, { server: "https://a.example/" })).toEqual({
      server: "https://a.example",
      key: "key-a",
    });
  });

  it("logout forgets the current server, then removes the file with the last key", async () => {
    const config = parseClientEnv({ XDG_CONFIG_HOME: dir });
    await storeKey(config, "https://a.example", "key-a");
    await storeKey(config, "https://b.example", "key-b");
    expect(await forgetKey(config, {})).toEqual(["https://b.example"]);
    await expect(resolveTarget(config, {})).rejects.toMatchObject({ code: "REEL_NOT_LOGGED_IN" });
    expect(await forgetKey(config, { server: "https://a.example" })).toEqual(["https://a.example"]);
    await expect(stat(credentialsPath(config))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await forgetKey(config, {})).toEqual([]);
  });
});

describe("resolveTarget", () => {
  it("takes --server over REEL_SERVER over the last login, and REEL_API_KEY over the stored key", async () => {
    await storeKey(parseClientEnv({ XDG_CONFIG_HOME: dir }), "https://stored.example", "stored-key");
    const env = { XDG_CONFIG_HOME: dir };
    expect(await resolveTarget(parseClientEnv(env), {})).toEqual({
      server: "https://stored.example",
      key: "stored-key",
    });
    expect(await resolveTarget(parseClientEnv({ ...env, REEL_API_KEY: "env-key" }), {})).toEqual({
      server: "https://stored.example",
      key: "env-key",
    });
    const both = parseClientEnv({ ...env, REEL_SERVER: "https://env.example", REEL_API_KEY: "env-key" });
    expect(await resolveTarget(both, {})).toEqual({ server: "https://env.example", key: "env-key" });
    expect(await resolveTarget(both, { server: "http://flag.example:8080/" })).toEqual({
      server: "http://flag.example:8080",
      key: "env-key",
    });
  });

  it("never sends a stored key to another server", async () => {
    await storeKey(parseClientEnv({ XDG_CONFIG_HOME: dir }), "https://stored.example", "stored-key");
    const config = parseClientEnv({ XDG_CONFIG_HOME: dir, REEL_SERVER: "https://other.example" });
    await expect(resolveTarget(config, {})).rejects.toMatchObject({
      code: "REEL_NOT_LOGGED_IN",
      message: expect.stringContaining("not logged in to https://other.example"),
    });
  });

  it("names a malformed file with REEL_CREDENTIALS_INVALID, but does not read it when env gives server and key", async () => {
    await mkdir(join(dir, "reel"));
    await writeFile(join(dir, "reel", "credentials.json"), "{not json");
    await expect(resolveTarget(parseClientEnv({ XDG_CONFIG_HOME: dir }), {})).rejects.toMatchObject({
      code: "REEL_CREDENTIALS_INVALID",
    });
    const env = parseClientEnv({ XDG_CONFIG_HOME: dir, REEL_SERVER: "https://ci.example", REEL_API_KEY: "k" });
    expect(await resolveTarget(env, {})).toEqual({ server: "https://ci.example", key: "k" });
  });

  it("asks for a login when nothing names a server", async () => {
    await expect(resolveTarget(parseClientEnv({ XDG_CONFIG_HOME: dir }), {})).rejects.toMatchObject({
      code: "REEL_NOT_LOGGED_IN",
      message: expect.stringContaining("reel login --server URL"),
    });
  });
});

describe("normalizeServer", () => {
  it.each([
    ["https://reel.example.com/", "https://reel.example.com"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["https://example.com/reel//", "https://example.com/reel"],
    ["HTTPS://Reel.Example.com", "https://reel.example.com"],
  ])("%s → %s", (input, out) => {
    expect(normalizeServer(input)).toBe(out);
  });

  it.each([
    ["reel.example.com", /give it with its scheme/],
    ["ftp://reel.example.com", /http:\/\/ or https:\/\//],
    ["https://u:p@reel.example.com", /user info/],
    ["https://reel.example.com/?x=1", /query/],
  ])("refuses %s", (input, msg) => {
    expect(() => normalizeServer(input)).toThrow(msg);
  });
});
