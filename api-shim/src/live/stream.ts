// One job's live stream, shared by SSE and WebSocket: first what the client missed since its last
// event id, or — when there is no id or this replica cannot place it — the current full status;
// then live events. Each connection keeps its own cursor (live/events.ts): an event goes out only
// when it moves the cursor, and carries the cursor it moves the client to as its id, so ids a
// client sees never go back even on a replica whose watch runs behind the one it came from.
import type { JobCache } from "../jobs/cache.ts";
import { advances, type Cursor, type Entry, formatId, type JobEvent, type JobEvents, parseId, rvOf } from "./events.ts";

export function openStream(
  o: { cache: JobCache; events: JobEvents; namespace: string; name: string; lastEventId?: string },
  send: (e: JobEvent) => void,
): () => void {
  const key = `${o.namespace}/${o.name}`;
  const job = o.cache.get(o.namespace, o.name);
  const jobRv = rvOf(job?.metadata.resourceVersion);
  const cursor: Cursor = { rv: 0, seq: 0 };
  let deletedSent = false;
  const forward = (x: Entry) => {
    if (!advances(x, cursor)) return;
    if (x.event.type === "deleted") {
      if (deletedSent) return;
      deletedSent = true;
    }
    if (x.source === "watch") cursor.rv = Math.max(cursor.rv, x.rv);
    else cursor.seq = Math.max(cursor.seq, x.seq);
    // The log's own id when it is this connection's cursor (almost always): no copy per client.
    send(x.rv === cursor.rv && x.seq === cursor.seq ? x.event : { ...x.event, id: formatId(cursor) });
  };
  // Subscribe first, so nothing appended while the backlog is sent is lost; the cursor drops repeats.
  const queue: Entry[] = [];
  let replaying = true;
  const off = o.events.subscribe(key, jobRv, (x) => (replaying ? queue.push(x) : forward(x)));
  const resume = parseId(o.lastEventId);
  const missed = resume ? o.events.since(key, resume) : undefined;
  if (resume && missed) {
    cursor.rv = resume.rv;
    cursor.seq = resume.seq;
    for (const x of missed) forward(x);
  } else {
    // The snapshot stands for the cached version and the newest progress this log holds; a client
    // that had seen more (it came from a replica ahead of this one) keeps its own cursor.
    const head = o.events.head(key);
    cursor.rv = Math.max(jobRv, head?.rv ?? 0, resume?.rv ?? 0);
    cursor.seq = Math.max(head?.seq ?? 0, resume?.seq ?? 0);
    send({
      id: formatId(cursor),
      type: "status",
      job: o.name,
      at: new Date().toISOString(),
      ...(job?.status?.phase ? { phase: job.status.phase } : {}),
      ...(job?.status?.progress !== undefined ? { progress: job.status.progress } : {}),
      ...(job?.status ? { status: job.status } : {}),
    });
  }
  replaying = false;
  for (const x of queue.splice(0)) forward(x);
  return off;
}

/** Last-Event-ID header, else ?lastEventId= (EventSource cannot set headers on its first request). */
export function lastEventId(header: unknown, query: unknown): string | undefined {
  const raw = typeof header === "string" && header !== "" ? header : typeof query === "string" ? query : undefined;
  return raw !== undefined && raw.length <= 64 ? raw : undefined;
}
