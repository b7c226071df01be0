// The client subcommands as a user types them (commander parsing included), in-process against a
// loopback server that speaks the shim's contract; the last tests run the real `reel` binary.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { Command, CommanderError } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { addClientCommands } from "./commands.ts";
import type { Ctx } from "./context.ts";
import { printError } from "./errors.ts";
import { type FakeShim, startFakeShim } from "./fake-shim.ts";
import type { Job, JobEvent, Phase } from "./types.ts";

let dir: string;
let shim: FakeShim;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-cli-"));
  shim = await startFakeShim();
});
afterEach(async () => {
  await shim.close();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

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

/** Runs `reel <args>` in-process; `during` runs once the command is under way (to drive a watch). */
async function reel(
  args: string[],
  o: { stdin?: string; env?: NodeJS.ProcessEnv; interrupt?: AbortSignal; onReconnect?: () => void } = {},
): Promise<Run> {
  const out = sink();
  const err = sink();
  const ctx: Ctx = {
    stdout: out as unknown as NodeJS.WriteStream,
    stderr: err as unknown as NodeJS.WriteStream,
    stdin: Readable.from(o.stdin !== undefined ? [o.stdin] : []) as unknown as NodeJS.ReadStream,
    env: { XDG_CONFIG_HOME: dir, HOME: dir, ...o.env },
    http: { timeoutMs: 2000, retryDelayMs: 10 },
    sse: { delayMs: 10, idleMs: 5000, ...(o.onReconnect ? { onReconnect: o.onReconnect } : {}) },
    interrupt: o.interrupt ?? new AbortController().signal,
  };
  let code = 0;
  const program = new Command()
    .name("reel")
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
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

const login = () => reel(["login", "--server", shim.url], { stdin: `${shim.key}\n` });

async function manifest(name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name, ...metadata },
      spec: {
        episodes: [
          { url: "https://cdn.example.com/a.mp4", title: "Pilot" },
          { url: "https://cdn.example.com/b.mp4", title: "Finale" },
        ],
        output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
        ...spec,
      },
    }),
  );
  return path;
}

function addJob(id: string, phase: Phase = "Pending"): Job {
  const job: Job = {
    id,
    namespace: "media",
    createdAt: new Date(Date.now() - 120_000).toISOString(),
    spec: {
      episodes: [
        { url: "https://cdn.example.com/a.mp4", title: "Pilot" },
        { url: "https://cdn.example.com/b.mp4", title: "Finale" },
      ],
      output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
    },
    status: { phase, progress: 0 },
    tags: ["drama"],
  };
  shim.jobs.set(id, job);
  return job;
}

const until = async (what: string, fn: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("reel login / logout", () => {
  it("checks the key with GET /api/v1/me, saves it 0600 and never prints it", async () => {
    const r = await login();
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe(
      `logged in to ${shim.url} as alice (operator, tenant media, namespace media)\nkey saved in ${join(dir, "reel", "credentials.json")} (mode 0600)\n`,
    );
    expect(r.stdout + r.stderr).not.toContain(shim.key);
    expect(shim.requests.map((q) => `${q.method} ${q.url} ${q.headers.authorization}`)).toEqual([
      `GET /api/v1/me Bearer ${shim.key}`,
    ]);
    const path = join(dir, "reel", "credentials.json");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8")).servers[shim.url].key).toBe(shim.key);
    // The stored login is used from now on.
    expect((await reel(["list"])).code).toBe(0);
  });

  it("refuses a key the server rejects: the API's code, its hint and how to log in, exit 2, nothing saved", async () => {
    const r = await reel(["login", "--server", shim.url, "--key", "reel_wrong"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error REEL_AUTH_INVALID: the API key is unknown or revoked\n  Create a new key.\n  then: reel login --server ${shim.url}\n`,
    );
    await expect(stat(join(dir, "reel", "credentials.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("--json prints the user and server only, never the key", async () => {
    const r = await reel(["login", "--server", `${shim.url}/`, "--json"], { stdin: shim.key });
    expect(JSON.parse(r.stdout)).toEqual({
      server: shim.url,
      user: shim.me,
      credentials: join(dir, "reel", "credentials.json"),
    });
    expect(r.stdout).not.toContain(shim.key);
  });

  it("asks which server when none is given, and refuses an empty key", async () => {
    expect(await reel(["login"], { stdin: "k" })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error REEL_INVALID_ARGUMENT: which server\? reel login --server/),
    });
    expect(await reel(["login", "--server", shim.url], { stdin: "\n" })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("the key is empty"),
    });
    expect(shim.requests).toEqual([]);
  });

  it("logout forgets the key; the next call asks for a login", async () => {
    await login();
    expect(await reel(["logout"])).toMatchObject({ code: 0, stdout: `logged out of ${shim.url}\n` });
    const r = await reel(["list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error REEL_NOT_LOGGED_IN: no server: run `reel login --server URL` first/);
  });
});

describe("reel submit", () => {
  it("sends {name, spec} as written and prints the id", async () => {
    await login();
    const r = await reel(["submit", await manifest("season-1", { tags: ["drama"] })]);
    expect(r).toMatchObject({
      code: 0,
      stdout: "submitted season-1 to media (2 episodes)\nfollow it: reel watch season-1\n",
    });
    const post = shim.requests.find((q) => q.method === "POST");
    expect(post?.body).toEqual({
      name: "season-1",
      spec: {
        episodes: [
          { url: "https://cdn.example.com/a.mp4", title: "Pilot" },
          { url: "https://cdn.example.com/b.mp4", title: "Finale" },
        ],
        output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
        tags: ["drama"],
      },
    });
  });

  it("reports manifest mistakes with their field paths before any network call", async () => {
    await login();
    shim.requests.length = 0;
    const bad = await manifest("bad", { episodes: [{ url: "ftp://x/a.mp4" }], quality: "4k" });
    const r = await reel(["submit", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error REEL_JOB_INVALID: invalid VideoJob:\n {2}- spec\.episodes\.0\.url: must be an http/,
    );
    expect(r.stderr).toContain("  - spec.quality:");
    expect(shim.requests).toEqual([]);
    const yaml = join(dir, "broken.yaml");
    await writeFile(yaml, "spec: [unclosed");
    expect((await reel(["submit", yaml])).stderr).toMatch(/^error REEL_JOB_INVALID: .*broken\.yaml is not valid YAML/);
    expect((await reel(["submit", join(dir, "missing.yaml")])).stderr).toMatch(/cannot read .*missing\.yaml/);
    expect(shim.requests).toEqual([]);
  });

  it("--name overrides metadata.name; metadata.namespace is noted as ignored; - reads stdin", async () => {
    await login();
    const path = await manifest("season-1", {}, { namespace: "other" });
    const r = await reel(["submit", path, "--name", "season-1b", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("note: metadata.namespace (other) is ignored: jobs go to your tenant's namespace\n");
    expect(JSON.parse(r.stdout)).toMatchObject({ id: "season-1b", namespace: "media" });
    const piped = await reel(["submit", "-", "--name", "from-stdin"], { stdin: await readFile(path, "utf8") });
    expect(piped.stdout).toContain("submitted from-stdin");
    expect((await reel(["submit", path, "--name", "Not_A_Name"])).stderr).toMatch(
      /^error REEL_INVALID_ARGUMENT: --name "Not_A_Name" is not a job id/,
    );
  });

  it("prints the API's refusal (an existing name) with its code, exit 2", async () => {
    await login();
    const path = await manifest("twice");
    await reel(["submit", path]);
    const r = await reel(["submit", path]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(
      /^error REEL_JOB_EXISTS: job twice already exists\n {2}A job with this name already exists/,
    );
  });

  it("--watch follows the job it created to the end", async () => {
    await login();
    const running = reel(["submit", await manifest("sw"), "--watch"]);
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("sw", { type: "phase", phase: "Completed", progress: 100 });
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^submitted sw to media \(2 episodes\)\n\njob sw in media/);
    expect(r.stderr).toContain("sw: Completed (100%)\n");
  });
});

describe("reel list / status / cancel", () => {
  beforeEach(async () => {
    await login();
    addJob("alpha", "Processing");
    addJob("beta", "Completed");
  });

  it("list prints a table; --phase and --tag go to the server as query parameters", async () => {
    const r = await reel(["list"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "ID     PHASE       PROGRESS  EPISODES  TAGS   AGE",
        "alpha  Processing  0%        0/2       drama  2m",
        "beta   Completed   0%        0/2       drama  2m",
        "",
      ].join("\n"),
    );
    const f = await reel(["list", "--phase", "Completed", "--tag", "drama", "--limit", "1"]);
    expect(f.stdout).toMatch(/^ID +PHASE.*\nbeta +Completed/);
    expect(shim.requests.at(-1)?.url).toBe("/api/v1/jobs?phase=Completed&tag=drama&limit=1");
  });

  it("list --json prints the API's page and nothing else", async () => {
    const r = await reel(["list", "--json", "--limit", "1"]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ items: [{ id: "alpha" }], next: "1" });
  });

  it("prints the next page's command after a full page", async () => {
    expect((await reel(["list", "--limit", "1"])).stdout).toContain("more: reel list --cursor 1\n");
  });

  it("refuses a phase or limit that cannot be, before the network", async () => {
    shim.requests.length = 0;
    const p = await reel(["list", "--phase", "Done"]);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain(
      "error: option '--phase <phase>' argument 'Done' is invalid. Allowed choices are Pending",
    );
    const l = await reel(["list", "--limit", "0"]);
    expect(l).toMatchObject({ code: 2, stderr: expect.stringContaining("--limit must be a whole number") });
    expect((await reel(["status"])).stderr).toContain("missing required argument 'id'");
    expect((await reel(["list", "--colour"])).stderr).toContain("unknown option '--colour'");
    expect(shim.requests).toEqual([]);
  });

  it("status shows the phase, each episode and the output", async () => {
    const job = shim.jobs.get("beta") as Job;
    job.status = {
      phase: "Completed",
      progress: 100,
      episodesSummary: "2/2",
      episodes: [
        {
          index: 0,
          phase: "Completed",
          progress: 100,
          attempts: 1,
          encoder: "libx264",
          bytesOutput: 374_000,
          quality: { ssim: 0.9897 },
        },
        {
          index: 1,
          phase: "Failed",
          progress: 40,
          attempts: 3,
          error: { code: "REEL_SOURCE_NOT_FOUND", message: "404" },
        },
      ],
      output: {
        location: "s3://videos/beta.mp4",
        url: "https://s3.example/beta.mp4?sig",
        sizeBytes: 820_000,
        chapters: 1,
      },
    };
    const r = await reel(["status", "beta"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "job beta in media, created 2m ago, tags drama",
        "phase Completed, 100% done, episodes 2/2",
        "",
        "#  title   phase      progress  output  ssim    encoder  node  error",
        "1  Pilot   Completed  100%      374 KB  0.9897  libx264  -",
        "2  Finale  Failed     40%       -       -       -        -     REEL_SOURCE_NOT_FOUND 404",
        "",
        "output: s3://videos/beta.mp4 (820 KB, 1 chapters)",
        `  download: ${shim.url}/api/v1/jobs/beta/outputs/0/download`,
        "",
      ].join("\n"),
    );
    expect(JSON.parse((await reel(["status", "beta", "--json"])).stdout)).toEqual(job);
  });

  it("status of an unknown id prints REEL_JOB_NOT_FOUND and what to do, exit 2", async () => {
    const r = await reel(["status", "nope"]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toBe("error REEL_JOB_NOT_FOUND: job nope not found\n  Check the id with reel list.\n");
    expect((await reel(["status", "../me"])).stderr).toMatch(
      /^error REEL_INVALID_ARGUMENT: the job id "..\/me" is not a job id/,
    );
  });

  it("cancel posts to /cancel and says what happens", async () => {
    const r = await reel(["cancel", "alpha"]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toBe(
      "cancel requested for alpha (phase Processing); running episodes are stopped, finished ones kept\n",
    );
    expect(shim.requests.at(-1)).toMatchObject({ method: "POST", url: "/api/v1/jobs/alpha/cancel" });
    expect(JSON.parse((await reel(["cancel", "alpha", "--json"])).stdout).spec.cancel).toBe(true);
  });

  it("retry posts to /retry and names the new job; a refusal is the server's code, exit 2", async () => {
    addJob("gamma", "Failed");
    const r = await reel(["retry", "gamma"]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toBe(
      "retry gamma-r1 created from gamma: finished episodes with an unchanged source are reused, the rest run again (reel watch gamma-r1)\n",
    );
    expect(shim.requests.at(-1)).toMatchObject({ method: "POST", url: "/api/v1/jobs/gamma/retry" });
    const refused = await reel(["retry", "alpha"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error REEL_JOB_NOT_RETRYABLE: job alpha is not failed/);
  });

  it("REEL_SERVER and REEL_API_KEY override the stored login", async () => {
    const other = await startFakeShim({ key: "reel_other_key" });
    try {
      other.jobs.set("gamma", { ...addJob("gamma"), id: "gamma" });
      const r = await reel(["list", "--json"], { env: { REEL_SERVER: other.url, REEL_API_KEY: "reel_other_key" } });
      expect(JSON.parse(r.stdout).items.map((j: Job) => j.id)).toEqual(["gamma"]);
      expect(other.requests[0]?.headers.authorization).toBe("Bearer reel_other_key");
      // A stored key is not sent to a server given by --server without a key for it.
      const s = await reel(["list", "--server", other.url]);
      expect(s.stderr).toMatch(/^error REEL_NOT_LOGGED_IN: not logged in to http:\/\/127\.0\.0\.1:\d+/);
      expect(other.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe("reel watch", () => {
  beforeEach(async () => {
    await login();
    addJob("w1", "Pending");
  });

  it("prints one line per phase change on a non-TTY and exits 0 when the job completes", async () => {
    const running = reel(["watch", "w1"]);
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("w1", { type: "phase", phase: "Downloading", progress: 5 });
    shim.emit("w1", { type: "progress", episode: { index: 0, stage: "fetch", progress: 20, phase: "Downloading" } });
    shim.emit("w1", { type: "progress", episode: { index: 0, stage: "fetch", progress: 25, phase: "Downloading" } });
    shim.emit("w1", { type: "progress", episode: { index: 0, stage: "encode", progress: 60, phase: "Transcoding" } });
    shim.emit("w1", { type: "phase", phase: "Processing", progress: 50 });
    shim.emit("w1", {
      type: "status",
      status: {
        phase: "Completed",
        progress: 100,
        episodes: [
          { index: 0, phase: "Completed", progress: 100, attempts: 1 },
          { index: 1, phase: "Completed", progress: 100, attempts: 1 },
        ],
        output: { location: "s3://videos/w1.mp4" },
      },
    });
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      [
        "w1: Pending (0%)",
        "w1: Downloading (5%)",
        "episode 1 (Pilot): Downloading",
        "episode 1 (Pilot): Transcoding",
        "w1: Processing (50%)",
        "episode 1 (Pilot): Completed",
        "episode 2 (Finale): Completed",
        "w1: Completed (100%)",
        "",
      ].join("\n"),
    );
    expect(r.stdout).toMatch(/^\njob w1 in media.*\nphase Completed, 100% done/s);
    expect(r.stdout).toContain("output: s3://videos/w1.mp4");
  });

  it("resumes with Last-Event-ID after a drop, misses nothing, and exits 1 when the job is cancelled", async () => {
    let reconnects = 0;
    const running = reel(["watch", "w1"], { onReconnect: () => reconnects++ });
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("w1", { type: "phase", phase: "Downloading", progress: 5 });
    await until("the event to arrive", () => shim.requests.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    shim.dropStreams();
    // Sent while no stream is open: the reconnection must replay it.
    shim.emit("w1", { type: "phase", phase: "Processing", progress: 40 });
    await until("the reconnection", () => shim.streams() === 1);
    shim.emit("w1", { type: "phase", phase: "Cancelled", progress: 40 });
    const r = await running;
    expect(r.code).toBe(1);
    expect(reconnects).toBe(1);
    const streams = shim.requests.filter((q) => q.url.endsWith("/events"));
    expect(streams.map((q) => q.headers["last-event-id"])).toEqual([undefined, "1"]);
    expect(r.stderr).toMatch(
      /w1: Downloading \(5%\)\nstream dropped \(.*\); reconnecting in [\d.]+s\nw1: Processing \(40%\)\nw1: Cancelled \(40%\)\n$/,
    );
  });

  it("--json prints one JobEvent per line and nothing else", async () => {
    const running = reel(["watch", "w1", "--json"]);
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("w1", { type: "phase", phase: "Processing", progress: 50 });
    shim.emit("w1", { type: "phase", phase: "Failed", progress: 50 });
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as JobEvent);
    expect(events.map((e) => [e.id, e.type, e.phase])).toEqual([
      ["0", "status", "Pending"],
      ["1", "phase", "Processing"],
      ["2", "phase", "Failed"],
    ]);
  });

  it("ends at once for a job that has already finished", async () => {
    addJob("done", "Completed");
    const r = await reel(["watch", "done"]);
    expect(r.code).toBe(0);
    expect(shim.requests.some((q) => q.url.endsWith("/events"))).toBe(false);
  });

  it("shows an attempt that ended in failure as Failed, not Completed, and the retry's stages after it", async () => {
    const running = reel(["watch", "w1"]);
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("w1", { type: "progress", episode: { index: 0, stage: "encode", progress: 40, phase: "Transcoding" } });
    shim.emit("w1", { type: "progress", episode: { index: 0, stage: "done", progress: 100, phase: "Failed" } });
    shim.emit("w1", { type: "progress", episode: { index: 0, stage: "fetch", progress: 5, phase: "Downloading" } });
    shim.emit("w1", {
      type: "status",
      status: { phase: "Failed", progress: 100, episodes: [{ index: 0, phase: "Failed", progress: 100, attempts: 2 }] },
    });
    const r = await running;
    expect(r.code).toBe(1);
    const lines = r.stderr.split("\n");
    expect(lines).toContain("episode 1 (Pilot): Failed");
    expect(lines.indexOf("episode 1 (Pilot): Failed")).toBeLessThan(lines.indexOf("episode 1 (Pilot): Downloading"));
    expect(lines).not.toContain("episode 1 (Pilot): Completed");
  });

  it("shows the merge pod's progress as the job Merging, before the operator's status says so", async () => {
    const running = reel(["watch", "w1"]);
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("w1", { type: "phase", phase: "Processing", progress: 80 });
    shim.emit("w1", { type: "progress", merge: { stage: "merge", progress: 55, phase: "Merging" } });
    shim.emit("w1", { type: "progress", merge: { stage: "store", progress: 90, phase: "Uploading" } });
    shim.emit("w1", { type: "phase", phase: "Completed", progress: 100 });
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("w1: Pending (0%)\nw1: Processing (80%)\nw1: Merging\nw1: Completed (100%)\n");
  });

  it("Ctrl-C stops watching, not the job: exit 130", async () => {
    const ac = new AbortController();
    const running = reel(["watch", "w1"], { interrupt: ac.signal });
    await until("the event stream", () => shim.streams() === 1);
    ac.abort();
    const r = await running;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("stopped watching w1; the job goes on (reel watch w1, reel cancel w1)\n");
    expect(shim.requests.some((q) => q.url.endsWith("/cancel"))).toBe(false);
  });

  it("a job deleted before it finished ends the watch with exit 1", async () => {
    const running = reel(["watch", "w1"]);
    await until("the event stream", () => shim.streams() === 1);
    shim.emit("w1", { type: "phase", phase: "Processing", progress: 10 });
    shim.jobs.delete("w1");
    shim.emit("w1", { type: "deleted" });
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/job w1 was deleted before it finished\n$/);
  });

  it("an unknown job is REEL_JOB_NOT_FOUND before any stream is opened", async () => {
    const r = await reel(["watch", "ghost"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error REEL_JOB_NOT_FOUND: job ghost not found/),
    });
  });
});

describe("the reel binary", () => {
  const main = join(import.meta.dirname, "..", "main.ts");
  const exec = promisify(execFile);
  const bin = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => {
    try {
      const r = await exec(process.execPath, [main, ...args], {
        env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir, ...env },
      });
      return { code: 0, ...r };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  it("answers REEL_SHIM_UNREACHABLE with the server URL and a next step when nothing listens, exit 2", async () => {
    const url = shim.url;
    await shim.close();
    shim = await startFakeShim();
    const r = await bin(["list"], { REEL_SERVER: url, REEL_API_KEY: "k" });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `error REEL_SHIM_UNREACHABLE: cannot reach ${url}: connection refused (ECONNREFUSED)\n  The CLI could not reach the Reel API server (connection refused, DNS failure, timeout); check the server URL (--server, REEL_SERVER or the one saved by reel login) and that the shim is running.\n`,
    );
  });

  it("logs in from stdin and prints status --json alone on stdout", async () => {
    addJob("bin-job", "Processing");
    const child = execFile(process.execPath, [main, "login", "--server", shim.url], {
      env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: dir },
    });
    child.stdin?.end(`${shim.key}\n`);
    const code = await new Promise((r) => child.on("exit", r));
    expect(code).toBe(0);
    const r = await bin(["status", "bin-job", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ id: "bin-job", status: { phase: "Processing" } });
  });

  it("a bad option is a usage error, exit 2", async () => {
    const r = await bin(["status"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: missing required argument 'id'");
  });
});
