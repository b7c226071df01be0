// The dashboard's tus client (public/tus.js) in Node, against a hand-written tus server behind a
// fake XMLHttpRequest: the upload whose connection drops halfway through a PATCH goes on from the
// offset the server kept (HEAD), not from 0; refusals are not retried; the URL is remembered.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  fingerprint,
  metadataHeader,
  progressText,
  RETRY_DELAYS_MS,
  retryable,
  TusError,
  TusUpload,
  uploadIdOf,
} from "../../public/tus.js";

const ID = "0123456789abcdef0123456789abcdef";

/** A tus server in memory: what it stored, the requests it saw, and a rule that cuts one PATCH. */
class Server {
  stored = new Uint8Array(0);
  length = -1;
  seen: string[] = [];
  cutNextPatch = false;
  refuseCreate?: { status: number; code: string };

  answer(
    method: string,
    headers: Record<string, string>,
    body: Uint8Array | null,
  ): { status: number; headers?: Record<string, string>; body?: unknown } | "dropped" {
    this.seen.push(`${method} ${headers["upload-offset"] ?? headers["upload-length"] ?? ""}`);
    if (method === "POST") {
      if (this.refuseCreate)
        return { status: this.refuseCreate.status, body: { error: { code: this.refuseCreate.code } } };
      this.length = Number(headers["upload-length"]);
      return { status: 201, headers: { location: `http://shim.test/api/v1/uploads/${ID}` } };
    }
    if (this.length < 0) return { status: 404 };
    if (method === "HEAD") return { status: 200, headers: { "upload-offset": String(this.stored.length) } };
    if (Number(headers["upload-offset"]) !== this.stored.length) return { status: 409 };
    const chunk = body ?? new Uint8Array(0);
    // A dropped connection: the server keeps the half that arrived, the client hears nothing.
    const kept = this.cutNextPatch ? chunk.subarray(0, Math.floor(chunk.length / 2)) : chunk;
    const next = new Uint8Array(this.stored.length + kept.length);
    next.set(this.stored);
    next.set(kept, this.stored.length);
    this.stored = next;
    if (this.cutNextPatch) {
      this.cutNextPatch = false;
      return "dropped" as const;
    }
    return { status: 204, headers: { "upload-offset": String(this.stored.length) } };
  }
}

let server: Server;

/** Just enough of XMLHttpRequest for tus.js, answered by `server`. */
class FakeXhr {
  method = "";
  headers: Record<string, string> = {};
  status = 0;
  responseText = "";
  answerHeaders: Record<string, string> = {};
  upload: { onprogress?: (e: { loaded: number }) => void } = {};
  onload?: () => void;
  onerror?: () => void;
  onabort?: () => void;
  open(method: string) {
    this.method = method;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k.toLowerCase()] = v;
  }
  getResponseHeader(k: string) {
    return this.answerHeaders[k.toLowerCase()] ?? null;
  }
  async send(body: Blob | null) {
    const bytes = body ? new Uint8Array(await body.arrayBuffer()) : null;
    const a = server.answer(this.method, this.headers, bytes);
    setTimeout(() => {
      if (a === "dropped") return this.onerror?.();
      if (bytes) this.upload.onprogress?.({ loaded: bytes.length });
      this.status = a.status;
      this.answerHeaders = ("headers" in a ? a.headers : undefined) ?? {};
      this.responseText = "body" in a ? JSON.stringify(a.body) : "";
      this.onload?.();
    }, 0);
  }
}

class MemoryStorage {
  items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

const file = (size: number) =>
  new File([new Uint8Array(size).map((_, i) => i % 251)], "ep1.mp4", { type: "video/mp4", lastModified: 1 });

beforeEach(() => {
  server = new Server();
  Object.assign(globalThis, { XMLHttpRequest: FakeXhr, location: { href: "http://shim.test/#/uploads" } });
});
afterEach(() => {
  Reflect.deleteProperty(globalThis, "XMLHttpRequest");
  Reflect.deleteProperty(globalThis, "location");
});

describe("the dashboard's tus client", () => {
  it("resumes from the offset the server kept after a PATCH's connection drops", async () => {
    const f = file(1000);
    const storage = new MemoryStorage();
    const states: string[] = [];
    const sent: number[] = [];
    server.cutNextPatch = true;
    const up = new TusUpload(f, {
      token: "k",
      storage: storage as unknown as Storage,
      chunk: 400,
      onProgress: (n) => sent.push(n),
      onState: (s) => states.push(s),
    });
    const id = await up.start();
    expect(id).toBe(ID);
    // 400 sent, 200 kept and the connection dropped; HEAD says 200; PATCHes go on from 200.
    expect(server.seen).toEqual(["POST 1000", "PATCH 0", "HEAD ", "PATCH 200", "PATCH 600"]);
    expect(Buffer.from(server.stored).equals(Buffer.from(await f.arrayBuffer()))).toBe(true);
    expect(states).toEqual(["uploading", "reconnecting", "uploading", "done"]);
    expect(sent.at(-1)).toBe(1000);
    expect(storage.items.size).toBe(0);
  });

  it("remembers the upload URL per file, so choosing the file again resumes it", async () => {
    const f = file(100);
    const storage = new MemoryStorage();
    storage.setItem(fingerprint(f), `/api/v1/uploads/${ID}`);
    server.length = 100;
    server.stored = new Uint8Array(await f.arrayBuffer()).subarray(0, 60);
    await new TusUpload(f, { token: "k", storage: storage as unknown as Storage }).start();
    expect(server.seen).toEqual(["HEAD ", "PATCH 60"]);
  });

  it("does not retry a refusal, and gives it to the page with the shim's code", async () => {
    server.refuseCreate = { status: 413, code: "REEL_UPLOAD_QUOTA_EXCEEDED" };
    const storage = new MemoryStorage() as unknown as Storage;
    const err = await new TusUpload(file(10), { token: "k", storage }).start().catch((e) => e);
    expect(err).toBeInstanceOf(TusError);
    expect(err).toMatchObject({ status: 413, code: "REEL_UPLOAD_QUOTA_EXCEEDED" });
    expect(server.seen).toEqual(["POST 10"]);
  });

  it("has pure helpers for headers and words", () => {
    expect(metadataHeader({ filename: "Épisode 1.mkv", filetype: "" })).toBe(
      `filename ${Buffer.from("Épisode 1.mkv").toString("base64")},filetype `,
    );
    expect(progressText(4 * 1024 * 1024, 12 * 1024 * 1024)).toBe("4.0 of 12.0 MiB (33 %)");
    expect(uploadIdOf(`/api/v1/uploads/${ID}`)).toBe(ID);
    expect(fingerprint({ name: "a.mp4", size: 3, lastModified: 7 })).toBe("reel.upload:a.mp4:3:7");
    expect([0, 409, 500, 503, 423].every((status) => retryable(new TusError(status)))).toBe(true);
    expect([400, 401, 403, 404, 413].some((status) => retryable(new TusError(status)))).toBe(false);
    expect(RETRY_DELAYS_MS.length).toBeGreaterThan(3);
  });
});
