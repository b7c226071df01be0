// /api/v1/uploads: resumable uploads (tus 1.0) into the tenant's upload area, plus listings.
// POST creates (the quota is checked against Upload-Length and the bytes reserved before tus sees
// the request), HEAD/PATCH/DELETE /uploads/:id resume, append and terminate — each only after the
// id is found in the caller's own tenant. PATCH bodies stream straight to S3: no body limit, no
// whole-body deadline (server.ts skips routes marked streamsBody), an idle timeout instead.
import { randomBytes } from "node:crypto";
import { isUploadId, ReelError } from "@reel/crds";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { requestAuditor } from "../api/audit.ts";
import { requireScope, tenantNamespace } from "../auth/request.ts";
import type { Principal } from "../auth/principal.ts";
import type { ShimDeps } from "../deps.ts";
import { uploadFilename, uploadLength } from "./headers.ts";
import { removeUploadsWithJobs } from "./retention.ts";
import { createUploadSweeper } from "./sweep.ts";
import { findUpload, forgetUpload, listUploads, markUploadComplete, reserveUpload, uploadUsage } from "./store.ts";
import { createTusUploads, type TusUploads, tusOptionsOf, type UploadTarget } from "./tus.ts";

const TUS_TYPE = "application/offset+octet-stream";
/** Marks a route whose body tus reads as a stream (server.ts leaves its body to it). */
export const streamsBody = { streamsBody: true } as const;

export async function uploadRoutes(app: FastifyInstance, deps: ShimDeps): Promise<void> {
  const { config } = deps;
  const audit = requestAuditor(deps);
  const tus = createTusUploads(tusOptionsOf(config, deps.redis, (id) => markUploadComplete(deps.db.db, id)));
  const stopRetention = removeUploadsWithJobs(deps, tus);
  const stopSweep = createUploadSweeper(deps, tus).start();
  app.addHook("onClose", async () => {
    stopSweep();
    stopRetention();
    tus.close();
  });
  // The body stays unread for tus (this plugin's scope only: other routes keep their parsers).
  app.addContentTypeParser(TUS_TYPE, (_req, _payload, done) => done(null));

  app.post("/uploads", { config: streamsBody }, async (req, reply) => {
    const p = requireScope(req, "jobs:write");
    const namespace = tenantNamespace(p);
    const length = uploadLength(req.headers);
    if (config.REEL_UPLOAD_MAX_BYTES > 0 && length > config.REEL_UPLOAD_MAX_BYTES)
      throw new ReelError(
        "REEL_BODY_TOO_LARGE",
        `an upload of ${length} bytes is over this installation's limit of ${config.REEL_UPLOAD_MAX_BYTES} bytes per upload; split the file`,
      );
    const filename = uploadFilename(req.headers["upload-metadata"]);
    const id = randomBytes(16).toString("hex");
    const target = { namespace, id };
    const reserve = { id, tenant: tenantOf(p), objectKey: tus.key(target), length, createdBy: p.userId };
    try {
      await reserveUpload(
        deps.db.db,
        { ...reserve, ...(filename ? { filename } : {}) },
        config.REEL_UPLOAD_QUOTA_BYTES,
      );
    } catch (err) {
      if ((err as ReelError).code === "REEL_UPLOAD_QUOTA_EXCEEDED")
        await audit(req, p, {
          action: "upload.create",
          target: `${namespace}/${id}`,
          result: "denied",
          detail: { length },
        });
      throw err;
    }
    const status = await handOver(tus, req, reply, target, deps.config.REEL_UPLOAD_IDLE_MS);
    // tus refused or failed after the reservation: nothing was created, so nothing is reserved.
    if (status >= 300) await forgetUpload(deps.db.db, reserve.tenant, id);
    await audit(req, p, {
      action: "upload.create",
      target: `${namespace}/${id}`,
      result: status < 300 ? "ok" : "failed",
      detail: { length, ...(filename ? { filename } : {}), status },
    });
  });

  const resume = (method: "HEAD" | "PATCH" | "DELETE") => async (req: FastifyRequest, reply: FastifyReply) => {
    const p = requireScope(req, "jobs:write");
    const namespace = tenantNamespace(p);
    const { id } = req.params as { id: string };
    const row = isUploadId(id) ? await findUpload(deps.db.db, tenantOf(p), id) : undefined;
    // Another tenant's id reads exactly like one that never existed.
    if (!row) throw new ReelError("REEL_NOT_FOUND", `no upload ${id} in your tenant`);
    const target = { namespace, id };
    if (method !== "DELETE") {
      await handOver(tus, req, reply, target, config.REEL_UPLOAD_IDLE_MS);
      return;
    }
    // A finished upload is deleted here (tus on S3 can only abort one under way); either way every
    // object of it goes, and then its row, which frees its bytes in the quota.
    if (!row.completedAt && (await handOver(tus, req, reply, target, config.REEL_UPLOAD_IDLE_MS)) !== 204) return;
    await tus.remove(target);
    await forgetUpload(deps.db.db, row.tenant, id);
    await audit(req, p, { action: "upload.delete", target: `${namespace}/${id}`, result: "ok", detail: {} });
    if (row.completedAt) return reply.code(204).header("tus-resumable", "1.0.0").send();
  };
  app.head("/uploads/:id", resume("HEAD"));
  app.patch("/uploads/:id", { config: streamsBody }, resume("PATCH"));
  app.delete("/uploads/:id", resume("DELETE"));

  app.get("/uploads", async (req) => {
    const p = requireScope(req, "jobs:read");
    tenantNamespace(p);
    const tenant = tenantOf(p);
    const [usage, uploads] = await Promise.all([
      uploadUsage(deps.db.db, tenant, config.REEL_UPLOAD_QUOTA_BYTES),
      listUploads(deps.db.db, tenant),
    ]);
    return { ...usage, uploads: uploads.map(publicUpload) };
  });
  app.get("/uploads/:id", { exposeHeadRoute: false }, async (req) => {
    const p = requireScope(req, "jobs:read");
    tenantNamespace(p);
    const { id } = req.params as { id: string };
    const row = isUploadId(id) ? await findUpload(deps.db.db, tenantOf(p), id) : undefined;
    if (!row) throw new ReelError("REEL_NOT_FOUND", `no upload ${id} in your tenant`);
    return publicUpload(row);
  });
}

/** What a client sees of an upload: not the bucket key. */
const publicUpload = (r: {
  id: string;
  length: number;
  filename: string | null;
  createdAt: string;
  completedAt: string | null;
}) => ({
  id: r.id,
  length: r.length,
  ...(r.filename ? { filename: r.filename } : {}),
  createdAt: r.createdAt,
  complete: r.completedAt !== null,
  ...(r.completedAt ? { completedAt: r.completedAt } : {}),
});

const tenantOf = (p: Principal): string => {
  if (!p.tenant)
    throw new ReelError("REEL_FORBIDDEN", `user ${p.name} has no tenant yet; ask an admin to add you to one`);
  return p.tenant;
};

/**
 * Lets tus answer the request; returns the status it sent. A client that stops sending for
 * `idleMs` has its connection closed (tus then keeps what arrived, and the client resumes).
 */
async function handOver(
  tus: TusUploads,
  req: FastifyRequest,
  reply: FastifyReply,
  target: UploadTarget,
  idleMs: number,
): Promise<number> {
  reply.hijack();
  const socket = req.raw.socket;
  const idle = () => socket.destroy();
  socket.setTimeout(idleMs, idle);
  try {
    await tus.handle(req.raw, reply.raw, target);
  } finally {
    socket.setTimeout(0);
    socket.off("timeout", idle);
  }
  return reply.raw.statusCode;
}
