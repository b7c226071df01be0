// The webhook sender against a real PostgreSQL (e2e startPostgres), the real Rust egress proxy and
// a real HTTP receiver on loopback that verifies every request with the standardwebhooks package.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { type PostgresServer, startPostgres } from "@reel/e2e/services";
import { pino } from "pino";
import postgres, { type Sql } from "postgres";
import { Registry } from "prom-client";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../../e2e/src/until.ts";
import { createWebhooks, postgresJsDb, type SecretRef, type Webhooks, type WebhooksDeps } from "./index.ts";

const MIGRATION = join(import.meta.dirname, "..", "..", "migrations", "0002_webhooks.sql");
const NS = "media";
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const SECRET_REF = { name: "hook", key: "secret" };
const secrets = new Map<string, string>([[`${NS}/hook/secret`, SECRET]]);
const readSecret = async (ns: string, ref: SecretRef) => secrets.get(`${ns}/${ref.name}/${ref.key}`);

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  verified: boolean;
  answered: number;
}

/** A loopback webhook endpoint: answers each path from a script of statuses (200 when it runs out). */
class Receiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, number[]>();
  private readonly hangs = new Set<string>();
  /** Requests left unanswered by hang(). */
  hung = 0;
  server!: Server;

  script(path: string, statuses: number[]): void {
    this.scripts.set(path, [...statuses]);
  }

  hang(path: string, on = true): void {
    if (on) this.hangs.add(path);
    else this.hangs.delete(path);
  }

  for(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      if (this.hangs.has(path.split("?")[0] ?? path)) {
        this.hung++;
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified = false;
      try {
        new Webhook(SECRET).verify(body, headers);
        verified = true;
      } catch {
        verified = false;
      }
      const answered = this.scripts.get(path.split("?")[0] ?? path)?.shift() ?? 200;
      this.received.push({ path, headers, body, verified, answered });
      res.writeHead(answered, { "content-type": "text/plain" });
      // A large body: the sender reads a few KB of it at most.
      res.end("x".repeat(answered === 200 ? 64 * 1024 : 10));
    });
  };

  async listen(server: Server): Promise<string> {
    this.server = server;
    server.on("request", this.handle);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return String((server.address() as AddressInfo).port);
  }
}

let pg: PostgresServer;
let sql: Sql;
let receiver: Receiver;
let base: string;
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(String(chunk));
    cb();
  },
});
const log = pino({ level: "debug" }, logStream);
let running: Webhooks[] = [];
let jobSeq = 0;

function make(overrides: Partial<WebhooksDeps> = {}): Webhooks {
  const w = createWebhooks({
    db: postgresJsDb(sql),
    readSecret,
    allow: ["127.0.0.1/32"],
    log,
    retry: { maxAttempts: 3, baseMs: 40, capMs: 200 },
    pollIntervalMs: 50,
    connectTimeoutMs: 2000,
    totalTimeoutMs: 3000,
    ...overrides,
  });
  running.push(w);
  return w;
}

function phase(path: string, extra: Partial<Parameters<Webhooks["onPhaseChange"]>[0]> = {}) {
  jobSeq++;
  return {
    namespace: NS,
    name: `job-${jobSeq}`,
    uid: `uid-${jobSeq}`,
    resourceVersion: "100",
    phase: "Completed",
    previousPhase: "Merging",
    progress: 100,
    output: { location: "s3://videos/season-1/merged.mp4" },
    webhook: { url: `${base}${path}`, secretRef: SECRET_REF },
    ...extra,
  };
}

async function row(job: string) {
  const [r] = await sql`SELECT * FROM webhook_deliveries WHERE job = ${job}`;
  return r;
}

async function attempts(id: string) {
  return sql`SELECT attempt, status_code, error FROM webhook_delivery_attempts WHERE delivery_id = ${id} ORDER BY attempt`;
}

beforeAll(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { onnotice: () => {} });
  await sql.unsafe(await readFile(MIGRATION, "utf8")).simple();
  receiver = new Receiver();
  base = `http://127.0.0.1:${await receiver.listen(createHttpServer())}`;
}, 120_000);

afterEach(async () => {
  await Promise.all(running.map((w) => w.stop()));
  running = [];
});

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  receiver?.server.close();
  await pg?.stop();
});

describe("webhook delivery", () => {
  it("delivers a phase change once, signed so that the standardwebhooks package verifies it", async () => {
    const registry = new Registry();
    const w = make({ registry });
    const evt = phase("/once");
    w.onPhaseChange(evt);
    await w.drain();

    const got = receiver.for("/once");
    expect(got).toHaveLength(1);
    expect(got[0]?.verified).toBe(true);
    expect(got[0]?.headers["webhook-id"]).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(JSON.parse(got[0]?.body ?? "")).toMatchObject({
      type: "videojob.phase",
      timestamp: expect.any(String),
      data: {
        job: evt.name,
        namespace: NS,
        phase: "Completed",
        previousPhase: "Merging",
        progress: 100,
        output: { location: "s3://videos/season-1/merged.mp4" },
      },
    });
    const r = await row(evt.name);
    expect(r).toMatchObject({
      id: got[0]?.headers["webhook-id"],
      status: "delivered",
      attempts: 1,
      last_status_code: 200,
      last_error: null,
      event_type: "videojob.phase",
      url: `${base}/once`,
    });
    expect(r?.delivered_at).toBeInstanceOf(Date);
    expect(await registry.getSingleMetricAsString("reel_shim_webhook_deliveries_total")).toContain(
      'reel_shim_webhook_deliveries_total{outcome="delivered"} 1',
    );
  });

  it("retries a 500 and delivers on the second attempt under the same webhook-id with a fresh valid signature", async () => {
    receiver.script("/flaky", [500, 200]);
    const w = make();
    const evt = phase("/flaky");
    w.onPhaseChange(evt);
    await w.drain();

    const got = receiver.for("/flaky");
    expect(got.map((g) => g.answered)).toEqual([500, 200]);
    expect(got.every((g) => g.verified)).toBe(true);
    expect(got[1]?.headers["webhook-id"]).toBe(got[0]?.headers["webhook-id"]);
    expect(got[1]?.body).toBe(got[0]?.body);
    const r = await row(evt.name);
    expect(r).toMatchObject({ status: "delivered", attempts: 2, last_status_code: 200 });
    expect(await attempts(r?.id)).toEqual([
      { attempt: 1, status_code: 500, error: "HTTP 500" },
      { attempt: 2, status_code: 200, error: null },
    ]);
  });

  it("stops at 410 Gone without retrying", async () => {
    receiver.script("/gone", [410, 200]);
    const registry = new Registry();
    const w = make({ registry });
    const evt = phase("/gone");
    w.onPhaseChange(evt);
    await w.drain();

    expect(receiver.for("/gone")).toHaveLength(1);
    expect(await row(evt.name)).toMatchObject({ status: "failed", attempts: 1, last_status_code: 410 });
    expect(await registry.getSingleMetricAsString("reel_shim_webhook_deliveries_total")).toContain(
      'reel_shim_webhook_deliveries_total{outcome="gone"} 1',
    );
  });

  it("gives up at once on a 400 and after maxAttempts on repeated 503s", async () => {
    receiver.script("/bad", [400, 200]);
    receiver.script("/down", [503, 503, 503, 200]);
    const w = make();
    const bad = phase("/bad");
    const down = phase("/down");
    w.onPhaseChange(bad);
    w.onPhaseChange(down);
    await w.drain();

    expect(receiver.for("/bad")).toHaveLength(1);
    expect(await row(bad.name)).toMatchObject({ status: "failed", attempts: 1, last_status_code: 400 });
    expect(receiver.for("/down")).toHaveLength(3);
    expect(await row(down.name)).toMatchObject({
      status: "failed",
      attempts: 3,
      last_status_code: 503,
      last_error: "HTTP 503 (gave up after 3 attempts)",
    });
  });

  it("refuses internal webhook URLs at registration with REEL_EGRESS_DENIED", async () => {
    const w = make({ allow: [] });
    for (const url of [
      `${base}/hook`, // 127.0.0.1, not allowlisted here
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]/hook",
      "http://0x7f000001/hook",
      "http://2130706433/hook",
      "http://0177.0.0.1/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "http://localhost/hook",
    ]) {
      await expect(
        w.validateRegistration(NS, { notification: { webhook: { url, secretRef: SECRET_REF } } }),
        url,
      ).rejects.toMatchObject({ code: "REEL_EGRESS_DENIED" });
    }
    await expect(w.validateRegistration(NS, {})).resolves.toBeUndefined();
  });

  it("accepts an allowlisted URL at registration and checks its Secret", async () => {
    const w = make();
    const spec = (secretRef?: SecretRef) => ({ notification: { webhook: { url: `${base}/ok`, secretRef } } });
    await expect(w.validateRegistration(NS, spec(SECRET_REF))).resolves.toBeUndefined();
    await expect(w.validateRegistration(NS, spec())).resolves.toBeUndefined();
    await expect(w.validateRegistration(NS, spec({ name: "missing", key: "secret" }))).rejects.toMatchObject({
      code: "REEL_WEBHOOK_INVALID",
    });
    secrets.set(`${NS}/weak/secret`, "whsec_c2hvcnQ=");
    await expect(w.validateRegistration(NS, spec({ name: "weak", key: "secret" }))).rejects.toMatchObject({
      code: "REEL_WEBHOOK_INVALID",
    });
  });

  it("refuses at delivery a host that now resolves to an internal address, and records it failed", async () => {
    const registry = new Registry();
    // No allowlist: `localhost` passed no registration here, as if its DNS record changed since.
    const w = make({ allow: [], registry });
    const port = new URL(base).port;
    const evt = phase("/rebound", { webhook: { url: `http://localhost:${port}/rebound`, secretRef: SECRET_REF } });
    w.onPhaseChange(evt);
    await w.drain();

    expect(receiver.for("/rebound")).toHaveLength(0);
    const r = await row(evt.name);
    expect(r).toMatchObject({ status: "failed", attempts: 1, last_status_code: null });
    expect(r?.last_error).toMatch(/^REEL_EGRESS_DENIED: .*localhost/);
    expect(await registry.getSingleMetricAsString("reel_shim_webhook_deliveries_total")).toContain(
      'reel_shim_webhook_deliveries_total{outcome="denied"} 1',
    );
  });

  it("resumes a pending delivery after a restart, under the same webhook-id", async () => {
    receiver.script("/resume", [500, 200]);
    // A retry delay long enough that the first sender is stopped before it comes.
    const first = make({ retry: { maxAttempts: 3, baseMs: 1500, capMs: 1500 }, random: () => 0.99 });
    const evt = phase("/resume");
    first.onPhaseChange(evt);
    await until("the first attempt", async () => (await row(evt.name))?.attempts === 1);
    await first.stop();
    expect(await row(evt.name)).toMatchObject({ status: "pending", attempts: 1, last_status_code: 500 });

    const second = make();
    await second.drain();
    const got = receiver.for("/resume");
    expect(got.map((g) => g.answered)).toEqual([500, 200]);
    expect(got[1]?.headers["webhook-id"]).toBe(got[0]?.headers["webhook-id"]);
    expect(got.every((g) => g.verified)).toBe(true);
    expect(await row(evt.name)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("does not count an attempt cut by stop(); the next sender makes it", async () => {
    receiver.hang("/cut");
    const first = make();
    const evt = phase("/cut");
    first.onPhaseChange(evt);
    await until("the request to arrive", async () => receiver.hung > 0);
    await first.stop();
    expect(await row(evt.name)).toMatchObject({ status: "pending", attempts: 0 });

    receiver.hang("/cut", false);
    const second = make();
    await second.drain();
    expect(await row(evt.name)).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("sends a phase change seen by two replicas once", async () => {
    const a = make();
    const b = make();
    const evt = phase("/twice");
    a.onPhaseChange(evt);
    b.onPhaseChange(evt);
    await Promise.all([a.drain(), b.drain()]);
    expect(receiver.for("/twice")).toHaveLength(1);
  });

  it("stores the URL without its query or credentials, and takes the full one from the job's spec after a restart", async () => {
    receiver.script("/token", [500, 200]);
    const first = make({ retry: { maxAttempts: 3, baseMs: 1500, capMs: 1500 }, random: () => 0.99 });
    const url = `http://user:pa55@127.0.0.1:${new URL(base).port}/token?token=T0KEN`;
    const evt = phase("/token", { webhook: { url, secretRef: SECRET_REF } });
    first.onPhaseChange(evt);
    await until("the first attempt", async () => (await row(evt.name))?.attempts === 1);
    await first.stop();
    const stored = await row(evt.name);
    expect(stored?.url).toBe(`${base}/token?…`);
    expect(JSON.stringify(stored)).not.toMatch(/T0KEN|pa55/);

    const second = make({
      resolveWebhook: async (ns, job) => (ns === NS && job === evt.name ? evt.webhook : undefined),
    });
    await second.drain();
    const got = receiver.for("/token?token=T0KEN");
    expect(got).toHaveLength(2);
    expect(got[1]?.headers.authorization).toBe(`Basic ${Buffer.from("user:pa55").toString("base64")}`);
    expect(await row(evt.name)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("delivers to an https endpoint through the same guarded tunnel", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reel-wh-tls-"));
    try {
      await promisify(execFile)("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]);
      const [key, cert] = await Promise.all([readFile(join(dir, "key.pem")), readFile(join(dir, "cert.pem"))]);
      const tls = new Receiver();
      const port = await tls.listen(createHttpsServer({ key, cert }));
      const w = make({ ca: cert });
      const evt = phase("/tls", { webhook: { url: `https://127.0.0.1:${port}/tls`, secretRef: SECRET_REF } });
      w.onPhaseChange(evt);
      await w.drain();
      tls.server.close();
      expect((await row(evt.name))?.last_error).toBeNull();
      expect(tls.for("/tls")).toMatchObject([{ verified: true, answered: 200 }]);
      expect(await row(evt.name)).toMatchObject({ status: "delivered", attempts: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("records a phase change that came while PostgreSQL was down, and sends it once it is back", async () => {
    // A client of its own: a postgres.js pool that lived through the outage sometimes waits out
    // end()'s timeout at the close (no query of the sender's is pending then), and the other
    // tests' client should not.
    const outageSql = postgres(pg.url, { onnotice: () => {} });
    const w = make({ db: postgresJsDb(outageSql) });
    await pg.halt();
    const evt = phase("/outage");
    try {
      w.onPhaseChange(evt);
      await until("the insert to fail", async () => logLines.some((l) => l.includes("cannot record webhook delivery")));
    } finally {
      await pg.start();
    }
    await w.drain();
    expect(receiver.for("/outage")).toMatchObject([{ verified: true }]);
    expect(await row(evt.name)).toMatchObject({ status: "delivered", attempts: 1 });
    await w.stop();
    await outageSql.end({ timeout: 5 });
  });

  it("never writes the secret or a signature to the logs", async () => {
    receiver.script("/logged", [500, 200]);
    const w = make();
    w.onPhaseChange(phase("/logged"));
    await w.drain();
    await expect(
      w.validateRegistration(NS, { notification: { webhook: { url: "http://[::1]/x", secretRef: SECRET_REF } } }),
    ).rejects.toThrow();

    const text = logLines.join("");
    expect(text).toContain("webhook delivered");
    expect(text).toContain("retrying");
    const keyPart = SECRET.slice("whsec_".length);
    expect(text).not.toContain(keyPart);
    expect(text).not.toContain(Buffer.from(keyPart, "base64").toString("hex"));
    const signatures = receiver.received.flatMap((r) =>
      (r.headers["webhook-signature"] ?? "").split(" ").map((s) => s.slice(3)),
    );
    expect(signatures.length).toBeGreaterThan(5);
    for (const sig of signatures) if (sig) expect(text).not.toContain(sig);
    expect(text).not.toMatch(/webhook-signature/i);
    expect(text).not.toMatch(/T0KEN|pa55/);
  });
});
