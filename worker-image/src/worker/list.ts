// `reel worker` with REEL_MODE=list: the cluster's list pod. Lists a VideoJob's playlist entries once, with the
// same code as `reel run` (fetch/playlist.ts: yt-dlp's flat listing through the egress proxy), and
// leaves the result — every entry's episodes, or the one coded error that stopped it — in the job's
// staging folder (crds contract/listing.ts), where the operator reads it and records it in status.
// Exit 0 once the listing (either kind) is written; 2 for an env that cannot work; 1 otherwise.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { EXIT, LISTING_FILE, type Listing, Listing as ListingSchema, parseListEnv, ReelError } from "@reel/crds";
import { type Logger, pino } from "pino";
import { loadConfig } from "../config.ts";
import { listEntries } from "../fetch/playlist.ts";
import { parseStaging } from "./env.ts";
import { openStaging, putJson } from "./staging.ts";

export async function listMain(env: NodeJS.ProcessEnv, log: Logger = pino({ base: { component: "reel-list" } })) {
  let e: ReturnType<typeof parseListEnv>;
  let config: ReturnType<typeof loadConfig>;
  try {
    e = parseListEnv(env);
    config = loadConfig(env);
  } catch (err) {
    log.error({ code: "REEL_WORKER_ENV_INVALID", err: { message: (err as Error).message } }, "list pod failed");
    return EXIT.badInput;
  }
  if (!config.AWS_ACCESS_KEY_ID || !config.AWS_SECRET_ACCESS_KEY) {
    log.error({ code: "REEL_WORKER_ENV_INVALID" }, "S3 staging needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    return EXIT.badInput;
  }
  const listing = await list(e, config, log.child({ videojob: e.videojob }));
  const ref = parseStaging(e.staging);
  const staging = openStaging(ref, {
    accessKeyId: config.AWS_ACCESS_KEY_ID,
    secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
    ...(e.stagingEndpoint ? { endpoint: e.stagingEndpoint } : {}),
    ...(e.stagingRegion ? { region: e.stagingRegion } : {}),
  });
  await mkdir(join(e.cacheDir, "tmp"), { recursive: true });
  const scratch = await mkdtemp(join(e.cacheDir, "tmp", "list-"));
  try {
    await putJson(staging, scratch, LISTING_FILE, ListingSchema.parse(listing));
  } catch (err) {
    log.error({ err: { message: (err as Error).message } }, "cannot write the listing to staging");
    return EXIT.retry;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  log.info({ entries: listing.entries?.length, error: listing.error?.code }, "listing written");
  return EXIT.ok;
}

/** The listing, or the coded error that stopped it (a listing that failed is still an answer). */
async function list(
  e: ReturnType<typeof parseListEnv>,
  config: ReturnType<typeof loadConfig>,
  log: Logger,
): Promise<Listing> {
  const base = { v: 1 as const, uid: e.uid, listedAt: new Date().toISOString() };
  const playlists = e.playlists.map(({ at, ...entry }) => ({ at, entry }));
  try {
    const expanded = await listEntries(playlists, {
      ytDlp: config.ytDlp,
      env: { ...config.childEnv, TMPDIR: e.cacheDir },
      allow: e.egressAllow,
    });
    const entries = [...expanded].map(([at, episodes]) => ({ at, episodes }));
    return { ...base, entries };
  } catch (err) {
    const r = ReelError.from(err, "REEL_YTDLP_FAILED");
    log.warn({ code: r.code, err: { message: r.message } }, "listing failed");
    return { ...base, error: { code: r.code, message: r.message.slice(0, 4000) } };
  }
}
