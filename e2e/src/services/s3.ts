// A real S3-compatible server for tests: versitygw with its POSIX backend on loopback, built by
// e2e/scripts/build-tools.sh. Supports multipart upload, checksums and presigned GET.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, start, waitFor } from "./proc.ts";

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  stop(): Promise<void>;
}

export function versitygwPath(): string {
  const cache = process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel");
  const bin = join(cache, "bin", "versitygw");
  if (!existsSync(bin)) {
    execFileSync("bash", [join(import.meta.dirname, "..", "..", "scripts", "build-tools.sh")], { stdio: "inherit" });
  }
  return bin;
}

export async function startS3(): Promise<S3Server> {
  const bin = versitygwPath();
  const dir = await mkdtemp(join(tmpdir(), "reel-s3-"));
  const port = await freePort();
  const accessKeyId = "reeltestaccess";
  const secretAccessKey = "reeltestsecret0123456789";
  const s = start(bin, ["--port", `127.0.0.1:${port}`, "posix", dir], {
    ROOT_ACCESS_KEY: accessKeyId,
    ROOT_SECRET_KEY: secretAccessKey,
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor("versitygw", async () => (await fetch(endpoint)).status > 0, s);
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region: "us-east-1",
    stop: async () => {
      await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
