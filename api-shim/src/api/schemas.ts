// The REST API's shapes (api-shim/API.md), one zod schema each, with input and output kept apart:
// inputs are strict, so a client cannot set status, namespace, owner or cancel fields — the shim
// sets those. The answers its clients read (Job, JobList, JobEvent, Me, OutputLink, Error) are
// defined once in crds/src/contract/rest.ts and re-exported here; the OpenAPI document
// (routes/openapi.ts) is generated from all of them.
import { JobPhase, Me, ROLES, Scope, VideoJobSpec } from "@reel/crds";
import { z } from "zod";

export { ErrorBody, Job, JobEvent, JobList, JobSummaryList, Me, OutputLink, Scope } from "@reel/crds";

const JobName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a lowercase DNS label (a-z, 0-9, '-')");

/** The spec a client may send: everything but `cancel` (POST /jobs/:id/cancel sets it). */
export const VideoJobSpecInput = VideoJobSpec.omit({ cancel: true }).strict();

export const CreateJobInput = z
  .strictObject({
    name: JobName.optional().describe("The job's id; generated when absent."),
    spec: VideoJobSpecInput,
  })
  .meta({ id: "CreateJobInput" });

/** The most whole Jobs one `view=full` page may carry (a page of summaries holds up to 200). */
export const FULL_PAGE_MAX = 20;

export const ListJobsQuery = z.strictObject({
  phase: JobPhase.optional(),
  tag: z
    .string()
    .max(63)
    // Empty is no filter (as before tags were checked); anything else must be a tag.
    .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, "must be a tag: letters, digits, '-', '_' or '.'")
    .optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .optional()
    .describe(`Jobs per page: 50 by default, at most 200 (view=summary) or ${FULL_PAGE_MAX} (view=full).`),
  cursor: z.string().max(200).optional(),
  view: z
    .enum(["full", "summary"])
    .default("summary")
    .describe(
      "summary (the default): items are JobSummary, what a table row shows; full: whole Jobs with spec and per-episode status — a job of 500 episodes is ~45 KB, so a full page holds at most 20.",
    ),
});

export const CreateKeyInput = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[^\p{C}]+$/u, "must not contain control characters"),
    scopes: z.array(Scope).min(1).optional().describe("Defaults to every scope the owner's role allows."),
    userId: z.number().int().positive().optional().describe("Admins only: create the key for this user."),
  })
  .meta({ id: "CreateKeyInput" });

export const KeyCreated = z
  .object({
    id: z.string(),
    key: z.string().describe("Shown only here."),
    prefix: z.string(),
    scopes: z.array(Scope),
    createdAt: z.string(),
  })
  .meta({ id: "KeyCreated" });

export const KeyInfo = z
  .object({
    id: z.string(),
    prefix: z.string(),
    name: z.string(),
    userId: z.number().int(),
    scopes: z.array(Scope),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "KeyInfo" });

export const KeyList = z.object({ items: z.array(KeyInfo) }).meta({ id: "KeyList" });

// Admin: tenants and users (role admin only).
const DnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a lowercase DNS label (a-z, 0-9, '-')");

/**
 * Namespaces no tenant may be mapped to: the cluster's own (the shim and the operator read Secrets
 * cluster-wide, so a tenant there could name the control plane's Secrets in a spec) and reel's.
 */
export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set([
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "reel-system",
]);

const TenantNamespace = DnsLabel.refine(
  (ns) => !RESERVED_NAMESPACES.has(ns) && !ns.startsWith("kube-"),
  "is reserved for the cluster or reel itself; pick a namespace of the tenant's own",
);

export const CreateTenantInput = z
  .strictObject({
    name: DnsLabel,
    namespace: TenantNamespace.optional().describe(
      "The Kubernetes namespace of its jobs; defaults to the name. Not default, kube-* or reel-system.",
    ),
  })
  .refine((t) => t.namespace !== undefined || (!RESERVED_NAMESPACES.has(t.name) && !t.name.startsWith("kube-")), {
    path: ["namespace"],
    message: "the name would map the tenant to a reserved namespace; give a namespace of the tenant's own",
  })
  .meta({ id: "CreateTenantInput" });

export const Tenant = z
  .object({
    name: z.string(),
    namespace: z.string(),
    createdAt: z.string().describe("RFC 3339 time."),
    users: z.number().int().describe("Users mapped to this tenant."),
  })
  .meta({ id: "Tenant" });

export const TenantList = z.object({ items: z.array(Tenant) }).meta({ id: "TenantList" });

export const ListUsersQuery = z.strictObject({
  tenant: DnsLabel.optional().describe("Only users of this tenant."),
  role: z.enum(ROLES).optional().describe("Only users with this role."),
});

export const UpdateUserInput = z
  .strictObject({
    role: z.enum(ROLES).optional(),
    tenant: DnsLabel.nullable().optional().describe("An existing tenant's name; null takes the user out of theirs."),
  })
  .refine((v) => v.role !== undefined || v.tenant !== undefined, "send role, tenant or both")
  .meta({ id: "UpdateUserInput" });

export const AdminUser = Me.extend({
  issuer: z.string().optional().describe("JWT users only: the token's iss."),
  subject: z.string().optional().describe("JWT users only: the token's sub."),
  createdAt: z.string().describe("RFC 3339 time."),
  lastSeenAt: z.string().optional().describe("RFC 3339 time of the last use of one of the user's API keys, if any."),
}).meta({ id: "AdminUser" });

export const UserList = z.object({ items: z.array(AdminUser) }).meta({ id: "UserList" });

export const Health = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    checks: z.record(z.string(), z.string()),
    error: z.object({ code: z.string(), message: z.string(), hint: z.string() }).optional(),
  })
  .meta({ id: "Health" });

export type CreateJobInput = z.infer<typeof CreateJobInput>;
export type Tenant = z.infer<typeof Tenant>;
export type AdminUser = z.infer<typeof AdminUser>;
