// `reel submit` with playlists, in-process against the loopback fake shim: the real yt-dlp behind the
// egress proxy lists a podcast feed served on loopback, the list is shown before anything is sent,
// `--dry-run` prints it and sends nothing, and the spec sent is the expanded one (what was shown runs).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Command, CommanderError } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { podcastFeed, serveSite, type TestSite } from "../../fetch/test-site.ts";
import { addClientCommands } from "./commands.ts";
import type { Ctx } from "./context.ts";
import { printError } from "./errors.ts";
import { type FakeShim, startFakeShim } from "./fake-shim.ts";

let dir: string;
let shim: FakeShim;
let site: TestSite;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-submit-playlist-"));
  shim = await startFakeShim();
  const o = "http://127.0.0.2:9";
  const items = [
    { title: "Newest: the finale", url: `${o}/c.mp4` },
    { title: "Older: the pilot", url: `${o}/b.mp4` },
    { title: "Oldest: a teaser", url: `${o}/a.mp4` },
  ];
  site = await serveSite(dir, { "/feed.xml": { type: "application/rss+xml", body: podcastFeed("Show", items) } });
});
afterAll(async () => {
  await shim?.close();
  await site?.close();
  await rm(dir, { recursive: true, force: true });
});

function sink() {
  const s = {
    text: "",
    isTTY: false,
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

async function reel(args: string[], stdin?: string) {
  const out = sink();
  const err = sink();
  const ctx: Ctx = {
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
    stdin: Readable.from(stdin !== undefined ? [stdin] : []) as unknown as NodeJS.ReadStream,
    env: { XDG_CONFIG_HOME: dir, HOME: dir },
    http: { timeoutMs: 5000, retryDelayMs: 10 },
    sse: { delayMs: 10, idleMs: 5000 },
    interrupt: new AbortController().signal,
  };
  let code = 0;
  const program = new Command().name("reel").exitOverride();
  program.configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  addClientCommands(program, ctx, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(["node", "reel", ...args]);
  } catch (e) {
    code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : printError(e, err);
  }
  return { code, stdout: out.text, stderr: err.text };
}

async function manifest(name: string) {
  const path = join(dir, `${name}.yaml`);
  const episodes = [
    { url: "https://cdn.example.com/intro.mp4", title: "Intro" },
    { playlist: `${site.origin}/feed.xml`, items: "1-2", reverse: true },
  ];
  const spec = { episodes, output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } } };
  await writeFile(path, stringify({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name }, spec }));
  return path;
}

const ALLOW = ["--allow", "127.0.0.2/32"];

describe("reel submit with a playlist", () => {
  it("--dry-run lists the playlist, prints the expanded episodes and sends nothing", async () => {
    const r = await reel(["submit", await manifest("dry"), "--dry-run", ...ALLOW]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^3 episodes:\n {3}1 {2}Intro {2}https:\/\/cdn\.example\.com\/intro\.mp4\n {3}2 {2}Older: the pilot {2}http:\/\/127\.0\.0\.2:9\/b\.mp4\n {3}3 {2}Newest: the finale {2}http:\/\/127\.0\.0\.2:9\/c\.mp4\n$/,
    );
    const json = await reel(["submit", await manifest("dry"), "--dry-run", "--json", ...ALLOW]);
    expect(JSON.parse(json.stdout).episodes.map((e: { title: string }) => e.title)).toEqual([
      "Intro",
      "Older: the pilot",
      "Newest: the finale",
    ]);
    // Files to upload are counted (the 500 cap) but not shown: they are sent after the list.
    const withFile = await reel([
      "submit",
      await manifest("dry"),
      "--dry-run",
      "--file",
      join(dir, "dry.yaml"),
      ...ALLOW,
    ]);
    expect(withFile.stdout).toMatch(/^3 episodes:\n/);
    expect(withFile.stdout).not.toContain("upload.invalid");
    expect(shim.requests).toEqual([]);
  }, 60_000);

  it("shows the list, then sends the expanded spec", async () => {
    expect((await reel(["login", "--server", shim.url], `${shim.key}\n`)).code).toBe(0);
    const r = await reel(["submit", await manifest("show"), ...ALLOW]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^3 episodes:\n(.*\n){3}submitted show to media \(3 episodes\)\n/);
    const sent = shim.requests.find((q) => q.method === "POST" && q.url === "/api/v1/jobs")?.body as {
      spec: { episodes: unknown[] };
    };
    expect(sent.spec.episodes).toEqual([
      { url: "https://cdn.example.com/intro.mp4", title: "Intro" },
      { url: "http://127.0.0.2:9/b.mp4", title: "Older: the pilot" },
      { url: "http://127.0.0.2:9/c.mp4", title: "Newest: the finale" },
    ]);
  }, 60_000);

  it("refuses a listing past the egress guard with its code, before anything is sent", async () => {
    const before = shim.requests.length;
    const r = await reel(["submit", await manifest("guarded")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error REEL_EGRESS_DENIED/);
    expect(shim.requests.length).toBe(before);
  }, 60_000);
});
