// The shim's integration-test harness: the real services its *.int tests run on (PostgreSQL,
// redis-server, versitygw, the L2 control plane from e2e/cluster), a migrated database with its
// users, shim replicas started on them, and one close() that stops all of it in the right order.
// Tests only: nothing here is imported by the shim itself.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { exportJWK, generateKeyPair } from "jose";
import type { Sql } from "postgres";
import { type Cluster, clusterUp } from "../../../e2e/cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "../../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../../e2e/src/services/redis.ts";
import { type S3Server, startS3 } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import { type AddedUser, addUser } from "../admin.ts";
import { type Config, parseConfig } from "../config.ts";
import { connectPostgres } from "../db/database.ts";
import { migrate } from "../db/migrate.ts";
import { type RunningShim, startShim } from "../main.ts";

const crd = join(import.meta.dirname, "..", "..", "..", "crds", "generated", "videojob.crd.yaml");

export interface ShimServicesOptions {
  /** mkdtemp prefix of the run's folder (the cluster's files and whatever the test writes). */
  prefix: string;
  /** Start versitygw too. */
  s3?: boolean;
  /** Namespaces to create once the VideoJob CRD is applied. */
  namespaces?: string[];
}

export interface ShimServices {
  dir: string;
  cluster: Cluster;
  pg: PostgresServer;
  redis: RedisServer;
  /** Present when started with `s3: true`. */
  s3: S3Server;
  kubectl: Cluster["kubectl"];
  /** Writes a VideoJob's status the way the operator does (a merge patch of the status subresource). */
  setStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<string | undefined>;
  /** The shim's config on these services: loopback, port 0, LOG_LEVEL warn, then `over`. */
  config(over?: Record<string, string>): Config;
  /**
   * Starts a shim (webhooks off unless `o` says otherwise) and waits until it says it is healthy;
   * close() stops it. Replicas are two calls on one config.
   */
  startShim(config: Config, o?: Parameters<typeof startShim>[1]): Promise<RunningShim>;
  /** Stops the shims started here, then the services, then removes the folder. */
  close(): Promise<void>;
}

/** PostgreSQL, Redis (and versitygw) and the L2 control plane with the VideoJob CRD served. */
export async function startShimServices(o: ShimServicesOptions): Promise<ShimServices> {
  const dir = await mkdtemp(join(tmpdir(), o.prefix));
  const started = await Promise.allSettled([
    clusterUp({ level: 2, dir: join(dir, "cluster") }),
    startPostgres(),
    startRedis(),
    o.s3 ? startS3() : Promise.resolve(undefined),
  ]);
  const [cluster, pg, redis, s3] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined)) as [
    Cluster,
    PostgresServer,
    RedisServer,
    S3Server,
  ];
  const shims: RunningShim[] = [];
  const close = async () => {
    await Promise.allSettled(shims.map((s) => s.stop()));
    await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop(), s3?.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await close();
    throw failed.reason;
  }
  const kubectl: Cluster["kubectl"] = (args, input) => cluster.kubectl(args, input);
  process.env.KUBECONFIG = cluster.kubeconfig; // kubernetes-fluent-client's watch reads it
  await kubectl(["apply", "--server-side", "-f", crd]);
  for (const ns of o.namespaces ?? []) await kubectl(["create", "namespace", ns]);
  await until("the CRD to be served", async () => (await kubectl(["get", "videojobs", "-A"])) !== undefined);
  const config = (over: Record<string, string> = {}) =>
    parseConfig({
      REEL_SHIM_PORT: "0",
      REEL_SHIM_HOST: "127.0.0.1",
      DATABASE_URL: pg.url,
      REEL_REDIS_URL: redis.url,
      LOG_LEVEL: "warn",
      ...over,
    });
  const start = async (c: Config, so: Parameters<typeof startShim>[1] = { webhooks: false }) => {
    const shim = await startShim(c, so);
    shims.push(shim);
    await until("the shim to be healthy", async () => (await fetch(`${shimUrl(shim)}/api/health`)).ok);
    return shim;
  };
  const setStatus = (ns: string, name: string, status: Record<string, unknown>) =>
    kubectl([
      "-n",
      ns,
      "patch",
      "videojob",
      name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
  return { dir, cluster, pg, redis, s3, kubectl, setStatus, config, startShim: start, close };
}

/** The loopback base URL of a started shim. */
export const shimUrl = (shim: RunningShim) => `http://127.0.0.1:${shim.port}`;

export type NewUser = Omit<Parameters<typeof addUser>[1], "name">;

/**
 * Migrates the database and adds the users in the order given (ids follow it), each with a key.
 * `more` runs on the same connection before it closes, for rows a test adds beside them.
 */
export async function seedUsers<K extends string>(
  url: string,
  users: Record<K, NewUser>,
  more?: (sql: Sql, added: Record<K, AddedUser>) => Promise<void>,
): Promise<Record<K, AddedUser>> {
  const sql = connectPostgres(url, 1);
  try {
    await migrate(sql);
    const added = {} as Record<K, AddedUser>;
    for (const [name, u] of Object.entries(users) as [K, NewUser][]) added[name] = await addUser(sql, { name, ...u });
    await more?.(sql, added);
    return added;
  } finally {
    await sql.end();
  }
}

/** Each seeded user's API key, by name. */
export const keysOf = <K extends string>(added: Record<K, AddedUser>): Record<K, string> =>
  Object.fromEntries(Object.entries<AddedUser>(added).map(([name, u]) => [name, u.key])) as Record<K, string>;

/** An S3 client for versitygw (path-style). */
export function s3Client(s3: S3Server): S3Client {
  return new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Creates a bucket with a client of its own. */
export async function createBucket(s3: S3Server, bucket: string): Promise<void> {
  const client = s3Client(s3);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

/** The shim's upload-store settings for a bucket on this versitygw. */
export const uploadEnv = (s3: S3Server, bucket: string): Record<string, string> => ({
  REEL_UPLOAD_S3_BUCKET: bucket,
  REEL_UPLOAD_S3_ENDPOINT: s3.endpoint,
  REEL_UPLOAD_S3_ACCESS_KEY_ID: s3.accessKeyId,
  REEL_UPLOAD_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
});

/** An ES256 key pair whose public half (kid k1) is written as a JWKS file in `dir`. */
export async function writeJwks(dir: string, extra: Record<string, string> = {}) {
  const kp = await generateKeyPair("ES256", { extractable: true });
  const publicJwk: Record<string, unknown> = { ...(await exportJWK(kp.publicKey)), kid: "k1", alg: "ES256", ...extra };
  const path = join(dir, "jwks.json");
  await writeFile(path, JSON.stringify({ keys: [publicJwk] }));
  return { path, signer: kp.privateKey, publicJwk };
}
