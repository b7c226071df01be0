import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ApiError } from "../kube/api.ts";
import { CreationGate, DeferredStatus } from "./priority.ts";

const log = pino({ level: "silent" });
const tick = () => new Promise((r) => setImmediate(r));
const until = async (f: () => boolean) => {
  while (!f()) await new Promise((r) => setTimeout(r, 2));
};

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("CreationGate", () => {
  it("is idle at once when nothing is being created", async () => {
    const gate = new CreationGate();
    let idle = false;
    await gate.idle().then(() => {
      idle = true;
    });
    expect(idle).toBe(true);
  });

  it("holds waiters while creates are in flight and releases them once none ran for quietMs", async () => {
    const gate = new CreationGate(30_000, 40);
    const a = deferred();
    const b = deferred();
    const creates = [gate.create(() => a.promise), gate.create(() => b.promise)];
    let idle = false;
    void gate.idle().then(() => {
      idle = true;
    });
    a.resolve();
    await tick();
    expect(idle).toBe(false); // b is still creating
    b.resolve();
    await Promise.all(creates);
    await new Promise((r) => setTimeout(r, 10));
    expect(idle).toBe(false); // quiet for less than 40 ms
    // a create starting inside the quiet period starts it over
    const c = deferred();
    const third = gate.create(() => c.promise);
    c.resolve();
    await third;
    const t0 = Date.now();
    await until(() => idle);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(30);
  });

  it("never holds a waiter longer than maxDeferMs", async () => {
    const gate = new CreationGate(20, 0);
    const never = deferred();
    void gate.create(() => never.promise);
    const t0 = Date.now();
    await gate.idle();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    never.resolve();
  });
});

describe("DeferredStatus", () => {
  it("sends only the latest of a key's writes that waited behind creation", async () => {
    const gate = new CreationGate();
    const creating = deferred();
    void gate.create(() => creating.promise);
    const sent: unknown[] = [];
    const s = new DeferredStatus(gate, log, () => {});
    for (const phase of ["Pending", "Downloading", "Processing"]) {
      s.write("media/a", {
        status: { phase },
        patch: () => ({ status: { phase } }),
        send: async (p) => void sent.push(p),
      });
    }
    s.write("media/b", { status: {}, patch: () => undefined, send: async (p) => void sent.push(p) }); // nothing to write
    await tick();
    expect(sent).toEqual([]);
    creating.resolve();
    await s.flush(1000);
    expect(sent).toEqual([{ status: { phase: "Processing" } }]);
  });

  it("tells what status a waiting write will leave (a reconcile reads its own writes)", () => {
    const gate = new CreationGate();
    void gate.create(() => new Promise(() => {}));
    const s = new DeferredStatus(gate, log, () => {});
    s.write("media/a", { status: { phase: "Pending" }, patch: () => ({}), send: async () => {} });
    s.write("media/a", { status: { phase: "Downloading" }, patch: () => ({}), send: async () => {} });
    expect(s.waiting("media/a")).toEqual({ phase: "Downloading" });
    expect(s.waiting("media/b")).toBeUndefined();
  });

  it("hands a failed write to onError (the key is reconciled again) and forgets a 404", async () => {
    const again: string[] = [];
    const s = new DeferredStatus(new CreationGate(), log, (k) => again.push(k));
    s.write("media/gone", {
      status: {},
      patch: () => ({}),
      send: async () => {
        throw new ApiError(404, "NotFound", "gone");
      },
    });
    s.write("media/busy", {
      status: {},
      patch: () => ({}),
      send: async () => {
        throw new ApiError(500, "InternalError", "etcd timeout");
      },
    });
    await s.flush(1000);
    expect(again).toEqual(["media/busy"]);
  });
});
