// A loopback HTTP server that speaks the shim's contract (api-shim/API.md) as far as the CLI uses
// it: /me, jobs (create, list, get, status, cancel) and the SSE event stream with Last-Event-ID
// replay. Tests drive it (append events, drop streams, fail the next requests) and read what the
// client sent. For the client's unit tests only; the real shim is tested in client.int.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { jobSummary, type Job as RestJob } from "@reel/crds";
import type { Job, JobEvent, Me } from "./types.ts";

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body?: unknown;
}

export interface FakeShim {
  url: string;
  key: string;
  me: Me;
  jobs: Map<string, Job>;
  requests: Recorded[];
  /** Answers the next `count` requests whose path starts with `prefix` with this status and body. */
  fail(prefix: string, status: number, body?: unknown, count?: number, headers?: Record<string, string>): void;
  /** Appends an event to a job's log (updating its status) and sends it to the open streams. */
  emit(id: string, e: Omit<JobEvent, "id" | "at" | "job">): JobEvent;
  /** Cuts every open event stream, as a restart or a proxy timeout would. */
  dropStreams(): void;
  /** Open event streams right now. */
  streams(): number;
  close(): Promise<void>;
}

const ERR = (code: string, message: string, hint?: string) => ({ error: { code, message, ...(hint ? { hint } : {}) } });

export async function startFakeShim(opts: { key?: string } = {}): Promise<FakeShim> {
  const key = opts.key ?? "reel_abcd1234_0123456789abcdefghijABCDEFGHIJ01";
  const me: Me = { id: 1, name: "alice", role: "operator", tenant: "media", namespace: "media" };
  const jobs = new Map<string, Job>();
  const logs = new Map<string, JobEvent[]>();
  const open = new Map<string, Set<ServerResponse>>();
  const requests: Recorded[] = [];
  const failures: { prefix: string; status: number; body: unknown; count: number; headers: Record<string, string> }[] =
    [];

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers });
    res.end(body !== undefined ? JSON.stringify(body) : undefined);
  };
  const write = (res: ServerResponse, e: JobEvent) =>
    res.write(`id: ${e.id}\nevent: status\ndata: ${JSON.stringify(e)}\n\n`);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const rec: Recorded = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers };
    if (text) rec.body = JSON.parse(text);
    requests.push(rec);
    const u = new URL(req.url ?? "/", "http://x");
    const f = failures.find((x) => u.pathname.startsWith(x.prefix) && x.count > 0);
    if (f) {
      f.count--;
      if (typeof f.body === "string") {
        res.writeHead(f.status, { "content-type": "text/html", ...f.headers });
        res.end(f.body);
      } else send(res, f.status, f.body, f.headers);
      return;
    }
    if (req.headers.authorization === undefined) return send(res, 401, ERR("REEL_AUTH_REQUIRED", "no credential"));
    if (req.headers.authorization !== `Bearer ${key}`) {
      return send(res, 401, ERR("REEL_AUTH_INVALID", "the API key is unknown or revoked", "Create a new key."));
    }
    const m = u.pathname.match(/^\/api\/v1\/jobs\/([^/]+)(\/status|\/cancel|\/retry|\/events)?$/);
    if (u.pathname === "/api/v1/me" && req.method === "GET") return send(res, 200, me);
    if (u.pathname === "/api/v1/jobs" && req.method === "POST") {
      const body = rec.body as { name?: string; spec?: Job["spec"] };
      if (!body?.spec?.episodes?.length) {
        return send(res, 400, {
          error: {
            code: "REEL_JOB_INVALID",
            message: "invalid job",
            hint: "Fix the fields listed.",
            details: [{ path: "spec.episodes", message: "Required" }],
          },
        });
      }
      const id = body.name ?? `job-${jobs.size + 1}`;
      if (jobs.has(id)) return send(res, 409, ERR("REEL_JOB_EXISTS", `job ${id} already exists`));
      const job: Job = {
        id,
        namespace: me.namespace ?? "",
        createdAt: new Date().toISOString(),
        spec: body.spec,
        status: { phase: "Pending", progress: 0 },
        tags: (body.spec.tags as string[] | undefined) ?? [],
      };
      jobs.set(id, job);
      return send(res, 201, job);
    }
    if (u.pathname === "/api/v1/jobs" && req.method === "GET") {
      const phase = u.searchParams.get("phase");
      const tag = u.searchParams.get("tag");
      const limit = Number(u.searchParams.get("limit") ?? 50);
      const all = [...jobs.values()].filter(
        (j) => (!phase || (j.status?.phase ?? "Pending") === phase) && (!tag || j.tags.includes(tag)),
      );
      const start = Number(u.searchParams.get("cursor") ?? 0);
      const page = all.slice(start, start + limit);
      // Summaries, as the shim answers unless asked for view=full.
      const items = u.searchParams.get("view") === "full" ? page : page.map((j) => jobSummary(j as RestJob));
      return send(res, 200, { items, ...(start + limit < all.length ? { next: String(start + limit) } : {}) });
    }
    const job = m?.[1] ? jobs.get(decodeURIComponent(m[1])) : undefined;
    if (m && !job)
      return send(res, 404, ERR("REEL_JOB_NOT_FOUND", `job ${m[1]} not found`, "Check the id with reel list."));
    if (job && !m?.[2] && req.method === "GET") return send(res, 200, job);
    if (job && m?.[2] === "/status" && req.method === "GET") return send(res, 200, job.status ?? {});
    if (job && m?.[2] === "/cancel" && req.method === "POST") {
      job.spec = { ...job.spec, cancel: true };
      return send(res, 202, job);
    }
    if (job && m?.[2] === "/retry" && req.method === "POST") {
      if (job.status?.phase !== "Failed")
        return send(res, 409, ERR("REEL_JOB_NOT_RETRYABLE", `job ${job.id} is not failed`));
      const id = `${job.id}-r1`;
      const copy: Job = { ...job, id, status: { phase: "Pending", progress: 0 } };
      jobs.set(id, copy);
      return send(res, 201, copy);
    }
    if (job && m?.[2] === "/events" && req.method === "GET") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(": stream open\nretry: 50\n\n");
      const log = logs.get(job.id) ?? [];
      const last = Number(req.headers["last-event-id"] ?? u.searchParams.get("lastEventId") ?? Number.NaN);
      const newest = Number(log.at(-1)?.id ?? 0);
      if (Number.isInteger(last) && last <= newest)
        for (const e of log.filter((x) => Number(x.id) > last)) write(res, e);
      else {
        write(res, {
          id: String(newest),
          type: "status",
          job: job.id,
          at: new Date().toISOString(),
          ...(job.status?.phase ? { phase: job.status.phase } : {}),
          ...(job.status ? { status: job.status } : {}),
        });
      }
      const set = open.get(job.id) ?? new Set();
      open.set(job.id, set);
      set.add(res);
      res.on("close", () => set.delete(res));
      return;
    }
    send(res, 404, ERR("REEL_NOT_FOUND", `no route ${req.method} ${u.pathname}`));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, 500, ERR("REEL_INTERNAL", String(err))));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    key,
    me,
    jobs,
    requests,
    fail(prefix, status, body, count = 1, headers = {}) {
      failures.push({ prefix, status, body, count, headers });
    },
    emit(id, partial) {
      const log = logs.get(id) ?? [];
      logs.set(id, log);
      const e: JobEvent = {
        id: String(Number(log.at(-1)?.id ?? 0) + 1),
        job: id,
        at: new Date().toISOString(),
        ...partial,
      };
      log.push(e);
      const job = jobs.get(id);
      if (job) {
        const status: NonNullable<Job["status"]> = { ...job.status, ...e.status };
        if (e.phase) status.phase = e.phase;
        if (e.progress !== undefined) status.progress = e.progress;
        job.status = status;
      }
      for (const res of open.get(id) ?? []) write(res, e);
      return e;
    },
    dropStreams() {
      for (const set of open.values()) for (const res of set) res.socket?.destroy();
    },
    streams: () => [...open.values()].reduce((n, s) => n + s.size, 0),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
