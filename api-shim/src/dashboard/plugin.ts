// Serves the dashboard (api-shim/public: plain ES modules and CSS, no build step) and the error
// registry it explains codes with. Registered at `/` next to the API under `/api`; encapsulated, so
// its headers apply to the dashboard's own responses only.
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import { errorCodes } from "@reel/crds";
import type { FastifyPluginAsync } from "fastify";

export const publicDir = join(import.meta.dirname, "..", "..", "public");

/**
 * Scripts, styles and API calls from this origin only: no inline scripts or styles, no plugins, no
 * framing. Video and images may come from any http(s) origin (the job's bucket). `connect-src 'self'` covers same-origin WebSocket URLs in current browsers (CSP level 3).
 */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // The video and its seek-thumbnail sheets come from the job's bucket, whose origin each job's
  // spec names (a presigned link) or the installation's public base URL: media and images only.
  "img-src 'self' data: https: http:",
  // blob: for subtitle tracks: the player fetches each file with the user's token (a <track src>
  // cannot send one) and hands the text to its <track> as a blob: URL of its own making.
  "media-src 'self' blob: https: http:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export interface DashboardOptions {
  /** The folder served; api-shim/public by default. */
  root?: string;
}

export const dashboardPlugin: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header("content-security-policy", contentSecurityPolicy);
    reply.header("x-content-type-options", "nosniff");
    // The API key travels in the WebSocket URL (browsers cannot set its headers): never as a referrer.
    reply.header("referrer-policy", "no-referrer");
    return payload;
  });

  // Only the files present at start get routes (no wildcard), so every other path, /api/* included,
  // falls through to the server's own 404.
  await app.register(fastifyStatic, {
    root: opts.root ?? publicDir,
    wildcard: false,
    dotfiles: "ignore",
  });

  // The one registry (crds/src/errors.ts) as JSON, so episode errors read in plain words.
  const registry = JSON.stringify(errorCodes);
  app.get("/errors.json", async (_req, reply) =>
    reply.type("application/json; charset=utf-8").header("cache-control", "public, max-age=300").send(registry),
  );
};
