// One job's live stream, shared by SSE and WebSocket: first what the client missed since its last
// event id (or a snapshot of the current status when that is not kept), then live events.
import type { JobCache } from "../jobs/cache.ts";
import type { JobEvent, JobEvents } from "./events.ts";

export function openStream(
  o: { cache: JobCache; events: JobEvents; namespace: string; name: string; lastEventId?: number },
  send: (e: JobEvent) => void,
): () => void {
  const key = `${o.namespace}/${o.name}`;
  // Subscribe first, so nothing appended while the backlog is sent is lost; drop duplicates by id.
  let sentUpTo = 0;
  const queue: JobEvent[] = [];
  let replaying = true;
  const forward = (e: JobEvent) => {
    if (e.id <= sentUpTo) return;
    sentUpTo = e.id;
    send(e);
  };
  const off = o.events.subscribe(key, (e) => (replaying ? queue.push(e) : forward(e)));
  const missed = o.lastEventId === undefined ? undefined : o.events.since(key, o.lastEventId);
  if (missed) for (const e of missed) forward(e);
  else {
    const job = o.cache.get(o.namespace, o.name);
    const id = o.events.lastId(key);
    sentUpTo = id;
    send({
      id,
      type: "status",
      job: o.name,
      at: new Date().toISOString(),
      ...(job?.status?.phase ? { phase: job.status.phase } : {}),
      ...(job?.status?.progress !== undefined ? { progress: job.status.progress } : {}),
      ...(job?.status ? { status: job.status } : {}),
    });
  }
  replaying = false;
  for (const e of queue.splice(0)) forward(e);
  return off;
}

/** Last-Event-ID header or ?lastEventId= as a number, when it is one. */
export function lastEventId(header: unknown, query: unknown): number | undefined {
  const raw = typeof header === "string" && header !== "" ? header : typeof query === "string" ? query : undefined;
  if (raw === undefined || !/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}
