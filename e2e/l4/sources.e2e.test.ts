// Level L4: every kind of source in one merged file, on a real control plane (e2e/l4/env.ts: the L3
// cluster, the operator and the shim as local processes with the chart's env, the kubelet harness
// running each worker pod's command, the shim's upload area on). A podcast feed served on loopback
// is a playlist entry, an object in the S3 server an s3:// episode, a local file an upload (reel
// submit --file). Applied with kubectl, the playlist is listed by the operator's list pod (reel
// worker, REEL_MODE=list) and recorded in status.expansion; through reel submit it is listed by the
// CLI, which sends the expanded episodes with the upload after them. Either way the merged file's
// chapters are the feed's titles and the others'.
//
// Skipped, with the reason in the title, when the Kubernetes binaries or helm are not built.
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { podcastFeed, serveSite, type TestSite } from "../../worker-image/src/fetch/test-site.ts";
import { k8sBinariesBuilt } from "../cluster/cluster.ts";
import { until } from "../src/until.ts";
import { helmBuilt, type L4, root, startL4, TENANT_NS } from "./env.ts";
import { type Sources, serveSources } from "./media.ts";

const run = promisify(execFile);
const ready = k8sBinariesBuilt() && helmBuilt();
const why = "the Kubernetes binaries or helm are not built; run scripts/bootstrap.sh";
if (!ready && process.env.REEL_E2E_REQUIRE) throw new Error(`[sources.e2e.test] cannot run: ${why}`);
if (!ready) console.warn(`[sources.e2e.test] SKIPPED: ${why}`);

type Status = {
  phase?: string;
  expansion?: { at: number; episodes: { url: string; title?: string }[] }[];
  episodes?: { index: number; phase: string; error?: { code: string } }[];
  output?: { location: string; chapters?: number };
};

describe.skipIf(!ready)(
  `L4: a playlist, an S3 source and an upload in one file${ready ? "" : ` (SKIPPED: ${why})`}`,
  () => {
    let dir: string;
    let env: L4;
    let sources: Sources;
    let site: TestSite;

    const output = (name: string) => ({
      s3: {
        bucket: "videos",
        prefix: `${name}/`,
        endpoint: env.s3.endpoint,
        region: env.s3.region,
        credentialsSecret: "s3-creds",
      },
    });
    const episodes = () => [
      { playlist: `${site.origin}/feed.xml`, items: "1-2", reverse: true },
      { url: "s3://videos/sources/intro clip.mp4", title: "From S3" },
    ];
    const vjStatus = async (name: string) =>
      (JSON.parse(await env.kubectl(["get", "videojob", name, "-n", TENANT_NS, "-o", "json"])) as { status?: Status })
        .status ?? {};
    const final = (name: string) =>
      until(
        `${name} to finish`,
        async () => {
          const s = await vjStatus(name);
          return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
        },
        200_000,
        500,
      );
    const chapters = async (location: string) => {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
      if (!m) throw new Error(`not an S3 location: ${location}`);
      const obj = await env.s3Client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
      const file = join(dir, m[2].replace(/\//g, "_"));
      await writeFile(file, (await obj.Body?.transformToByteArray()) ?? new Uint8Array());
      const { stdout } = await run("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", file]);
      return (JSON.parse(stdout) as { chapters: Array<{ tags?: { title?: string } }> }).chapters.map(
        (c) => c.tags?.title,
      );
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "reel-l4-sources-"));
      [sources, env] = await Promise.all([
        serveSources(join(dir, "sources")),
        startL4(join(dir, "env"), () => {}, { uploads: true }),
      ]);
      // The feed, newest first, on 127.0.0.1 (the chart's egressAllow), its items the sample episodes.
      const items = [
        { title: "Newest: the bridge", url: `${sources.origin}/show/ep3.mkv` },
        { title: "Older: the arrival", url: `${sources.origin}/show/ep1.mp4` },
        { title: "Oldest: gone", url: `${sources.origin}/show/gone.mp4` },
      ];
      await copyFile(join(sources.dir, "show", "ep1.mp4"), join(dir, "upload.mp4"));
      site = await serveSite(
        dir,
        { "/feed.xml": { type: "application/rss+xml", body: podcastFeed("Show", items) } },
        "127.0.0.1",
      );

      await env.s3Client.send(
        new PutObjectCommand({
          Bucket: "videos",
          Key: "sources/intro clip.mp4",
          Body: await readFile(join(sources.dir, "show", "ep3.mkv")),
        }),
      );
      await env.kubectl([
        ...["create", "secret", "generic", "s3-creds", "-n", TENANT_NS],
        `--from-literal=accessKeyId=${env.s3.accessKeyId}`,
        `--from-literal=secretAccessKey=${env.s3.secretAccessKey}`,
      ]);
    }, 180_000);

    afterAll(async () => {
      await env?.stop();
      await site?.close();
      await sources?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 120_000);

    it("kubectl apply: the operator's list pod expands the feed, recorded in status; merged with the feed's titles as chapters", async () => {
      const vj = {
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "mixed", namespace: TENANT_NS },
      };
      const spec = { episodes: episodes(), quality: "480p", gpu: { policy: "off" }, output: output("mixed") };
      await env.kubectl(["apply", "-f", "-"], JSON.stringify({ ...vj, spec }));
      const s = await final("mixed");
      expect(s.phase, JSON.stringify(s.episodes)).toBe("Completed");
      expect(s.expansion?.[0]?.episodes.map((e) => e.title)).toEqual(["Older: the arrival", "Newest: the bridge"]);
      expect(await chapters(s.output?.location ?? "")).toEqual(["Older: the arrival", "Newest: the bridge", "From S3"]);
      const list = await env.kubectl([
        "get",
        "jobs",
        "-n",
        TENANT_NS,
        "-l",
        "reel.dev/videojob=mixed,reel.dev/role=list",
        "-o",
        "name",
      ]);
      expect(list.trim()).toBe("job.batch/mixed-list");
    }, 300_000);

    it("reel submit --file: the CLI lists the feed, shows it, sends it expanded with the upload; four chapters", async () => {
      const file = join(dir, "submitted.yaml");
      const spec = { episodes: episodes(), quality: "480p", gpu: { policy: "off" }, output: output("submitted") };
      await writeFile(
        file,
        stringify({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name: "submitted" }, spec }),
      );
      // The CLI lists the feed with the bootstrap's yt-dlp, as on a user's machine.
      const venv = join(process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel"), "venv");
      const cliEnv = { PATH: process.env.PATH ?? "", HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg"), REEL_VENV: venv };
      const cli = join(root, "worker-image", "src", "cli", "main.ts");
      const login = run(process.execPath, [cli, "login", "--server", env.shimUrl], { env: cliEnv });
      login.child.stdin?.end(`${env.apiKey}\n`);
      await login;
      const args = [cli, "submit", file, "--file", join(dir, "upload.mp4"), "--allow", "127.0.0.1/32"];
      const out = await run(process.execPath, args, { env: cliEnv, timeout: 120_000 });
      expect(out.stdout).toMatch(/^3 episodes:\n.*Older: the arrival.*\n.*Newest: the bridge.*\n.*From S3.*\n/);
      expect(out.stdout).toContain("submitted submitted to media (4 episodes)");
      const s = await final("submitted");
      expect(s.phase, JSON.stringify(s.episodes)).toBe("Completed");
      expect(s.expansion).toBeUndefined();
      const titles = await chapters(s.output?.location ?? "");
      expect(titles, JSON.stringify(titles)).toHaveLength(4);
      expect(titles.slice(0, 3)).toEqual(["Older: the arrival", "Newest: the bridge", "From S3"]);
    }, 300_000);
  },
);
