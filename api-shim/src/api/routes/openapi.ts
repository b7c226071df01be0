// GET /api/openapi.json: the OpenAPI 3.1 document, generated from the zod schemas (api/schemas.ts)
// so it cannot drift from what the routes accept and answer.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import * as S from "../schemas.ts";

type Json = Record<string, unknown>;

function component(schema: z.ZodType, io: "input" | "output", into: Json): Json {
  const js = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as Json & {
    $defs?: Record<string, Json>;
  };
  const rewrite = (v: unknown): unknown =>
    typeof v === "string" && v.startsWith("#/$defs/")
      ? `#/components/schemas/${v.slice(8)}`
      : Array.isArray(v)
        ? v.map(rewrite)
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]))
          : v;
  for (const [name, def] of Object.entries(js.$defs ?? {})) into[name] = rewrite(def);
  const { $schema: _s, $defs: _d, ...rest } = js;
  return rewrite(rest) as Json;
}

export function openapiDocument(): Json {
  const schemas: Json = {};
  const ref = (s: z.ZodType, io: "input" | "output" = "output") => component(s, io, schemas);
  const json = (s: z.ZodType, io: "input" | "output" = "output") => ({ "application/json": { schema: ref(s, io) } });
  const error = (description: string) => ({ description, content: json(S.ErrorBody) });
  const errors = {
    "401": error("REEL_AUTH_REQUIRED or REEL_AUTH_INVALID"),
    "403": error("REEL_FORBIDDEN"),
    "429": error("REEL_RATE_LIMITED (Retry-After)"),
    "503": error("REEL_UNAVAILABLE"),
  };
  const id = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const lastEventId = {
    name: "lastEventId",
    in: "query",
    required: false,
    description: 'The last event id seen, "<resourceVersion>-<seq>" (valid on every replica).',
    schema: { type: "string" },
  };
  return {
    openapi: "3.1.0",
    info: { title: "Reel REST API", version: "v1", description: "See api-shim/API.md." },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths: {
      "/api/v1/jobs": {
        post: {
          summary: "Create a job (a VideoJob in your tenant's namespace)",
          requestBody: { required: true, content: json(S.CreateJobInput, "input") },
          responses: {
            "201": { description: "Created", content: json(S.Job) },
            "400": error("REEL_JOB_INVALID (with details) or REEL_EGRESS_DENIED"),
            "409": error("REEL_JOB_EXISTS"),
            "413": error("REEL_BODY_TOO_LARGE"),
            ...errors,
          },
        },
        get: {
          summary: "List jobs: live VideoJobs and finished jobs from history, newest first",
          parameters: Object.entries(S.ListJobsQuery.shape).map(([name, s]) => ({
            name,
            in: "query",
            required: false,
            schema: ref(s as z.ZodType, "input"),
          })),
          responses: {
            "200": {
              description: "A page: JobSummaryList (the default), or JobList with ?view=full",
              content: { "application/json": { schema: { oneOf: [ref(S.JobSummaryList), ref(S.JobList)] } } },
            },
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}": {
        get: {
          parameters: [id],
          responses: {
            "200": { description: "The job", content: json(S.Job) },
            "404": error("REEL_JOB_NOT_FOUND"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/status": {
        get: {
          parameters: [id],
          responses: {
            "200": { description: "The VideoJob's status", content: json(S.Job.shape.status) },
            "404": error("REEL_JOB_NOT_FOUND"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/cancel": {
        post: {
          parameters: [id],
          responses: {
            "202": { description: "Cancel requested (spec.cancel: true)", content: json(S.Job) },
            "404": error("REEL_JOB_NOT_FOUND"),
            "409": error("REEL_JOB_FINISHED"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/retry": {
        post: {
          summary: "A new job (<name>-r1, -r2, …) from a finished one with failed episodes",
          description:
            "The new VideoJob has the old one's spec. Episodes whose finished staged work still matches " +
            "their source (the same ETag or Last-Modified and length, the same output settings) are copied " +
            "and shown as reusedFrom; only the others run again.",
          parameters: [id],
          responses: {
            "201": { description: "The new job", content: json(S.Job) },
            "404": error("REEL_JOB_NOT_FOUND"),
            "409": error("REEL_JOB_NOT_RETRYABLE"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/outputs/{n}/download": {
        get: {
          summary: "A fresh link to stored file n (status.outputs[n]; status.output for n=0 without outputs)",
          description:
            "Presigned for the job's urlExpiry (at most 7 days) with the job's S3 credentials Secret, or " +
            "<publicBaseUrl>/<key> when the installation sets one. Redirects, or answers the link as JSON " +
            "when asked with Accept: application/json.",
          parameters: [
            id,
            {
              name: "n",
              in: "path",
              required: true,
              description: "The file's index, from 0.",
              schema: { type: "integer", minimum: 0 },
            },
          ],
          responses: {
            "200": { description: "The link (Accept: application/json)", content: json(S.OutputLink) },
            "302": {
              description: "Redirect to the link",
              headers: { Location: { description: "The link", schema: { type: "string" } } },
            },
            "404": error("REEL_JOB_NOT_FOUND, or REEL_NOT_FOUND: no output n"),
            "409": error(
              "REEL_OUTPUT_ON_VOLUME (pvc://: no link) or REEL_OUTPUT_CREDENTIALS_MISSING (the S3 credentials Secret is gone)",
            ),
            "410": error("REEL_OUTPUT_EXPIRED: deleted by the output retention"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/episodes/{n}/poster": {
        get: {
          summary: "A fresh link to episode n's poster (status.episodes[].poster), a JPEG beside the merged file",
          description:
            "Presigned like the merged file's download link (or <publicBaseUrl>/<key>). Redirects, or answers " +
            "the link as JSON when asked with Accept: application/json.",
          parameters: [
            id,
            {
              name: "n",
              in: "path",
              required: true,
              description: "The episode's index, from 0.",
              schema: { type: "integer", minimum: 0 },
            },
          ],
          responses: {
            "200": { description: "The link (Accept: application/json)", content: json(S.OutputLink) },
            "302": {
              description: "Redirect to the link",
              headers: { Location: { description: "The link", schema: { type: "string" } } },
            },
            "404": error("REEL_JOB_NOT_FOUND, or REEL_NOT_FOUND: no episode n, or no poster for it"),
            "409": error("REEL_OUTPUT_ON_VOLUME or REEL_OUTPUT_CREDENTIALS_MISSING"),
            "410": error("REEL_OUTPUT_EXPIRED: deleted by the output retention"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/outputs/{n}/subtitles/{lang}.vtt": {
        get: {
          summary: "Stored file n's WebVTT subtitles in one language (status.outputs[n].subtitles)",
          description:
            "The WebVTT file <stem>-subtitles-<lang>.vtt beside the file, read from S3 with the job's S3 credentials " +
            "Secret (at most 1 MiB) and answered same-origin, so a page's <track> needs no CORS on the bucket. Only " +
            "a language the status lists; the object's name is derived from the file's location, never from the path.",
          parameters: [
            id,
            {
              name: "n",
              in: "path",
              required: true,
              description: "The file's index, from 0.",
              schema: { type: "integer", minimum: 0 },
            },
            {
              name: "lang",
              in: "path",
              required: true,
              description: "An ISO 639-2 code, e.g. eng.",
              schema: { type: "string", pattern: "^[a-z]{3}$" },
            },
          ],
          responses: {
            "200": {
              description: "WebVTT; cache-control: no-store, x-content-type-options: nosniff",
              content: { "text/vtt": { schema: { type: "string" } } },
            },
            "400": error("REEL_INVALID_ARGUMENT: lang is not three lower-case letters"),
            "404": error("REEL_JOB_NOT_FOUND, or REEL_NOT_FOUND: no output n, or no subtitles in that language"),
            "409": error("REEL_OUTPUT_ON_VOLUME or REEL_OUTPUT_CREDENTIALS_MISSING"),
            "410": error("REEL_OUTPUT_EXPIRED: deleted by the output retention"),
            "502": error("REEL_MEDIA_LIMITS: the stored file is over 1 MiB"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/outputs/{n}/thumbnails.vtt": {
        get: {
          summary: "Stored file n's seek-thumbnail index (status.outputs[n].thumbnails) with links to its sheets",
          description:
            "The WebVTT index read from S3 with the job's S3 credentials Secret (at most 1 MiB), each cue's sheet " +
            "replaced by a fresh presigned GET (or <publicBaseUrl>/<key>) with its #xywh= tile kept. Cues naming " +
            "anything but the status's sheets (<stem>-thumbs-001.jpg … beside the index) are dropped.",
          parameters: [
            id,
            {
              name: "n",
              in: "path",
              required: true,
              description: "The file's index, from 0.",
              schema: { type: "integer", minimum: 0 },
            },
          ],
          responses: {
            "200": {
              description: "WebVTT; cache-control: no-store",
              content: { "text/vtt": { schema: { type: "string" } } },
            },
            "404": error("REEL_JOB_NOT_FOUND, or REEL_NOT_FOUND: no output n, or no thumbnails for it"),
            "409": error("REEL_OUTPUT_ON_VOLUME or REEL_OUTPUT_CREDENTIALS_MISSING"),
            "410": error("REEL_OUTPUT_EXPIRED: deleted by the output retention"),
            "502": error("REEL_MEDIA_LIMITS: the stored index is over 1 MiB"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/events": {
        get: {
          summary: "Server-sent events (event: status, data: JobEvent); Last-Event-ID resumes",
          parameters: [id, lastEventId],
          responses: {
            "200": {
              description: "text/event-stream of JobEvent",
              content: { "text/event-stream": { schema: ref(S.JobEvent) } },
            },
            "404": error("REEL_JOB_NOT_FOUND"),
            ...errors,
          },
        },
      },
      "/api/v1/jobs/{id}/ws": {
        get: {
          summary: "WebSocket: one JSON JobEvent per message; ?access_token= for browsers",
          parameters: [id, lastEventId],
          responses: { "101": { description: "Switching protocols" }, "404": error("REEL_JOB_NOT_FOUND"), ...errors },
        },
      },
      "/api/v1/keys": {
        post: {
          requestBody: { required: true, content: json(S.CreateKeyInput, "input") },
          responses: { "201": { description: "The key, shown only here", content: json(S.KeyCreated) }, ...errors },
        },
        get: { responses: { "200": { description: "Your keys (admins: all)", content: json(S.KeyList) }, ...errors } },
      },
      "/api/v1/keys/{id}": {
        delete: {
          parameters: [id],
          responses: { "204": { description: "Revoked" }, "404": error("REEL_NOT_FOUND"), ...errors },
        },
      },
      "/api/v1/admin/tenants": {
        get: {
          summary: "List tenants (admins)",
          responses: { "200": { description: "Every tenant", content: json(S.TenantList) }, ...errors },
        },
        post: {
          summary: "Create a tenant mapped to a namespace (admins)",
          requestBody: { required: true, content: json(S.CreateTenantInput, "input") },
          responses: {
            "201": { description: "Created", content: json(S.Tenant) },
            "400": error("REEL_INVALID_ARGUMENT (with details)"),
            "409": error("REEL_TENANT_EXISTS: the name or the namespace is taken"),
            ...errors,
          },
        },
      },
      "/api/v1/admin/users": {
        get: {
          summary: "List users (admins)",
          parameters: Object.entries(S.ListUsersQuery.shape).map(([name, s]) => ({
            name,
            in: "query",
            required: false,
            schema: ref(s as z.ZodType, "input"),
          })),
          responses: { "200": { description: "Users, by id", content: json(S.UserList) }, ...errors },
        },
      },
      "/api/v1/admin/users/{id}": {
        patch: {
          summary: "Change a user's role and/or tenant (admins); every replica applies it at once",
          parameters: [id],
          requestBody: { required: true, content: json(S.UpdateUserInput, "input") },
          responses: {
            "200": { description: "The user after the change", content: json(S.AdminUser) },
            "400": error("REEL_TENANT_UNKNOWN (no such tenant) or REEL_INVALID_ARGUMENT (with details)"),
            "404": error("REEL_NOT_FOUND"),
            "409": error("REEL_LAST_ADMIN: it would demote the last admin"),
            ...errors,
          },
        },
      },
      "/api/v1/me": { get: { responses: { "200": { description: "You", content: json(S.Me) }, ...errors } } },
      "/api/health": {
        get: {
          security: [],
          responses: {
            "200": { description: "Every dependency answers", content: json(S.Health) },
            "503": { description: "A dependency is failing (named)", content: json(S.Health) },
          },
        },
      },
      "/api/metrics": { get: { security: [], responses: { "200": { description: "Prometheus text" } } } },
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API key (reel_…) or a JWT" } },
    },
  };
}

export function openapiRoutes(app: FastifyInstance) {
  let doc: Json | undefined;
  app.get("/api/openapi.json", async () => {
    doc ??= openapiDocument();
    return doc;
  });
}
