// A tus 1.0 client for the dashboard's uploads (POST /api/v1/uploads, then HEAD and PATCH): the
// file goes in PATCHes of CHUNK bytes through XMLHttpRequest (fetch reports no upload progress);
// after a dropped connection it waits, asks the shim for the offset it kept (HEAD) and goes on from
// there. The upload's URL is remembered per file (name, size, modification time) in localStorage,
// so choosing the same file again after a reload resumes it too. The pure parts are tested in Node.

export const CHUNK = 8 * 1024 * 1024;
/** Waits before each new try after a failure; the upload gives up after the last. */
export const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** The localStorage key of a file's upload URL. */
export function fingerprint(file) {
  return `reel.upload:${file.name}:${file.size}:${file.lastModified ?? 0}`;
}

/** Upload-Metadata: each key with its value in base64 of UTF-8. */
export function metadataHeader(meta) {
  const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${b64(String(v))}`)
    .join(",");
}

/** "4.0 of 12.0 MiB (33 %)" */
export function progressText(sent, total) {
  const mib = (n) => (n / 1024 / 1024).toFixed(1);
  const pct = total > 0 ? Math.floor((sent / total) * 100) : 100;
  return `${mib(sent)} of ${mib(total)} MiB (${pct} %)`;
}

/** The id at the end of an upload URL (/api/v1/uploads/<id>). */
export const uploadIdOf = (url) => url.slice(url.lastIndexOf("/") + 1);

/** A failed request: its status (0 for a network failure) and the shim's error body when it sent one. */
export class TusError extends Error {
  constructor(status, body) {
    super(body?.error?.message || (status ? `HTTP ${status}` : "the connection was lost"));
    this.status = status;
    this.code = body?.error?.code ?? (status ? `HTTP_${status}` : "NETWORK");
    this.hint = body?.error?.hint ?? "";
  }
}

/**
 * Lost connections, the shim's own unavailability, and 409 (the offset moved: a browser may resend
 * a PATCH whose connection dropped, and the shim kept what arrived) are worth another try from HEAD.
 */
export const retryable = (err) => err.status === 0 || err.status >= 500 || err.status === 423 || err.status === 409;

/**
 * One request; resolves with the XHR when it answered 2xx, rejects with a TusError otherwise.
 * @param {{ method: string, url: string, token: string, headers?: Record<string,string>, body?: Blob, onSent?: (n: number) => void }} o
 */
function request(o) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(o.method, o.url);
    xhr.setRequestHeader("authorization", `Bearer ${o.token}`);
    xhr.setRequestHeader("tus-resumable", "1.0.0");
    for (const [k, v] of Object.entries(o.headers ?? {})) xhr.setRequestHeader(k, v);
    if (o.onSent) xhr.upload.onprogress = (e) => o.onSent?.(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr);
      let body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      reject(new TusError(xhr.status, body));
    };
    xhr.onerror = () => reject(new TusError(0));
    xhr.onabort = () => reject(new TusError(0));
    xhr.send(o.body ?? null);
  });
}

export class TusUpload {
  /**
   * @param {File} file
   * @param {{ token: string, endpoint?: string, storage?: Storage, chunk?: number,
   *   onProgress?: (sent: number, total: number) => void, onState?: (state: string, detail?: string) => void }} o
   */
  constructor(file, o) {
    this.file = file;
    this.o = { endpoint: "/api/v1/uploads", chunk: CHUNK, ...o, storage: o.storage ?? globalThis.localStorage };
    this.url = this.o.storage.getItem(fingerprint(file)) ?? "";
  }

  /** Runs the upload to its end; resolves with the upload id. */
  async start() {
    let tries = 0;
    for (;;) {
      try {
        // A new upload starts at 0; a known one (a retry, a remembered file) where the shim says.
        const offset = this.url ? await this.offset() : await this.create();
        if (offset === undefined) continue; // forgotten by the shim: created again
        await this.sendFrom(offset);
        this.o.storage.removeItem(fingerprint(this.file));
        this.o.onState?.("done");
        return uploadIdOf(this.url);
      } catch (err) {
        if (!(err instanceof TusError) || !retryable(err) || tries >= RETRY_DELAYS_MS.length) throw err;
        this.o.onState?.("reconnecting", `connection lost; trying again (${tries + 1} of ${RETRY_DELAYS_MS.length})`);
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[tries++]));
      }
    }
  }

  async create() {
    const xhr = await request({
      method: "POST",
      url: this.o.endpoint,
      token: this.o.token,
      headers: {
        "upload-length": String(this.file.size),
        "upload-metadata": metadataHeader({ filename: this.file.name, filetype: this.file.type || "" }),
      },
    });
    this.url = new URL(xhr.getResponseHeader("location") ?? "", location.href).pathname;
    this.o.storage.setItem(fingerprint(this.file), this.url);
    return 0;
  }

  /** The offset the shim holds; undefined (and the URL forgotten) when the upload is not there. */
  async offset() {
    try {
      const xhr = await request({ method: "HEAD", url: this.url, token: this.o.token });
      return Number(xhr.getResponseHeader("upload-offset") ?? 0);
    } catch (err) {
      if (!(err instanceof TusError) || (err.status !== 404 && err.status !== 410)) throw err;
      this.o.storage.removeItem(fingerprint(this.file));
      this.url = "";
      return undefined;
    }
  }

  async sendFrom(offset) {
    const total = this.file.size;
    this.o.onState?.("uploading");
    this.o.onProgress?.(offset, total);
    while (offset < total) {
      const end = Math.min(total, offset + this.o.chunk);
      const from = offset;
      const xhr = await request({
        method: "PATCH",
        url: this.url,
        token: this.o.token,
        headers: { "content-type": "application/offset+octet-stream", "upload-offset": String(offset) },
        body: this.file.slice(offset, end),
        onSent: (n) => this.o.onProgress?.(from + n, total),
      });
      offset = Number(xhr.getResponseHeader("upload-offset") ?? end);
      this.o.onProgress?.(offset, total);
    }
  }
}
