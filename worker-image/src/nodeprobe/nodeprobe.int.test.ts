// L2: the node probe against a real kube-apiserver and etcd (e2e/cluster/cluster.sh, level 2) and real
// ffmpeg test encodes on this machine. A Node made by kubectl carries a label of someone else's and
// stale capability labels from an earlier probe (a fake GPU machine); the real probe replaces them by
// Server-Side Apply, and only them.
// Skipped only when the binaries are not built (run e2e/scripts/build-k8s.sh; scripts/bootstrap.sh does).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../../e2e/cluster/cluster.ts";
import { fakeHost, machines } from "../hw/fake-host.ts";
import { nodeProbeMain } from "./main.ts";
import { FIELD_MANAGER, kubeNodeApi, loadKubeConfig, NodeApiError } from "./node-api.ts";

const built = k8sBinariesBuilt();
const title = built
  ? "node-probe on an L2 control plane"
  : "node-probe on an L2 control plane (SKIPPED: Kubernetes binaries not built; run e2e/scripts/build-k8s.sh)";
if (!built) console.warn(`[nodeprobe.int.test] ${title}`);

interface Node {
  metadata: {
    name: string;
    uid: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; operation: string; fieldsV1?: { "f:metadata"?: Record<string, object> } }[];
  };
}

const nodeYaml = `
apiVersion: v1
kind: Node
metadata:
  name: probe-test
  labels:
    kubernetes.io/hostname: probe-test
    example.com/rack: r12
  annotations:
    example.com/owner: infra
`;

/** Whether this machine has a GPU device the probe would test (then GPU labels may legitimately appear). */
const gpuHere =
  existsSync("/dev/nvidia0") ||
  (existsSync("/dev/dri") && readdirSync("/dev/dri").some((n) => n.startsWith("renderD")));

function capture() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  return { log: pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) }), lines };
}

describe.skipIf(!built)(title, () => {
  let dir: string;
  let c: Cluster;
  const get = async (name: string) =>
    JSON.parse(await c.kubectl(["get", "node", name, "-o", "json", "--show-managed-fields"])) as Node;
  const env = (name: string) => ({
    NODE_NAME: name,
    KUBECONFIG: c.kubeconfig,
    REEL_CACHE_DIR: join(dir, "cache"),
    REEL_LOG_LEVEL: "debug",
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-nodeprobe-"));
    const t0 = Date.now();
    c = await clusterUp({ level: 2, dir: join(dir, "state") });
    console.log(`[nodeprobe.int.test] up in ${((Date.now() - t0) / 1000).toFixed(1)} s, kubeconfig ${c.kubeconfig}`);
    await c.kubectl(["create", "-f", "-"], nodeYaml);
  }, 150_000);

  afterAll(async () => {
    await c?.down().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("a first probe (a fake RTX machine) writes its capability labels next to the foreign one", async () => {
    const { log } = capture();
    expect(await nodeProbeMain(env("probe-test"), { host: fakeHost(machines.rtx), log })).toBe(0);
    const { labels } = (await get("probe-test")).metadata;
    expect(labels).toMatchObject({
      "example.com/rack": "r12",
      "reel.dev/encoder.h264_nvenc": "true",
      "reel.dev/decoder.cuda": "true",
      "reel.dev/gpu-vendor": "nvidia",
      "reel.dev/encoder.libx264": "true",
    });
  });

  it("the real probe on this machine replaces them: CPU encoders true, stale GPU labels gone, foreign label untouched", async () => {
    const before = await get("probe-test");
    const { log, lines } = capture();
    expect(await nodeProbeMain(env("probe-test"), { log })).toBe(0);
    const node = await get("probe-test");
    const { labels } = node.metadata;
    for (const enc of ["libx264", "libx265", "libsvtav1"]) expect(labels[`reel.dev/encoder.${enc}`]).toBe("true");
    expect(labels["example.com/rack"]).toBe("r12");
    expect(labels["kubernetes.io/hostname"]).toBe("probe-test");
    expect(node.metadata.annotations?.["example.com/owner"]).toBe("infra");
    expect(node.metadata.uid).toBe(before.metadata.uid);
    if (!gpuHere) {
      // No device here, so no GPU encoder is even tried: what the fake probe wrote is removed by SSA.
      const reel = Object.keys(labels).filter((k) => k.startsWith("reel.dev/"));
      expect(reel.every((k) => /^reel\.dev\/encoder\.lib/.test(k))).toBe(true);
      expect(labels["reel.dev/encoder.h264_nvenc"]).toBeUndefined();
      expect(labels["reel.dev/gpu-vendor"]).toBeUndefined();
      expect(labels["reel.dev/decoder.cuda"]).toBeUndefined();
    }
    // the labels written are logged as JSON
    expect(lines.find((l) => l.msg === "labelled node probe-test")?.labels).toEqual(
      Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith("reel.dev/"))),
    );
  });

  it("owns exactly its labels and annotation in managedFields, as manager reel-node-probe (Apply)", async () => {
    const { managedFields = [] } = (await get("probe-test")).metadata;
    const mine = managedFields.filter((m) => m.manager === FIELD_MANAGER);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.operation).toBe("Apply");
    const meta = mine[0]?.fieldsV1?.["f:metadata"] ?? {};
    const labelKeys = Object.keys(meta["f:labels"] ?? {});
    expect(labelKeys).toContain("f:reel.dev/encoder.libx264");
    expect(labelKeys.every((k) => k.startsWith("f:reel.dev/"))).toBe(true);
    expect(Object.keys(meta["f:annotations"] ?? {})).toEqual(["f:reel.dev/probe"]);
    // the foreign label stays with whoever created it
    const creator = managedFields.find((m) => m.manager !== FIELD_MANAGER);
    expect(Object.keys(creator?.fieldsV1?.["f:metadata"]?.["f:labels"] ?? {})).toContain("f:example.com/rack");
  });

  it("annotates compact JSON with the probe time and this machine's ffmpeg version", async () => {
    const raw = (await get("probe-test")).metadata.annotations?.["reel.dev/probe"] ?? "";
    expect(Buffer.byteLength(raw)).toBeLessThan(4096);
    const note = JSON.parse(raw) as { time: string; ffmpeg: string; failed: Record<string, string> };
    expect(Date.now() - Date.parse(note.time)).toBeLessThan(120_000);
    expect(note.ffmpeg).toMatch(/^\d/);
    expect(typeof note.failed).toBe("object");
  });

  it("exits 1 with a clear message for a NODE_NAME that does not exist, and creates no Node", async () => {
    const { log, lines } = capture();
    expect(await nodeProbeMain(env("no-such-node"), { log })).toBe(1);
    const err = lines.find((l) => l.level === 50);
    expect(err).toMatchObject({ status: 404, code: "NotFound" });
    expect(err?.msg).toMatch(/node "no-such-node" does not exist .*NODE_NAME/);
    await expect(c.kubectl(["get", "node", "no-such-node"])).rejects.toThrow(/NotFound|not found/);
  });

  it("an apply for a Node that is gone is refused (uid precondition), never an upsert", async () => {
    const api = kubeNodeApi(loadKubeConfig(c.kubeconfig));
    const err = await api
      .apply("ghost", "00000000-0000-0000-0000-000000000000", {
        labels: { "reel.dev/encoder.libx264": "true" },
        annotations: {},
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeApiError);
    expect((err as NodeApiError).status).toBe(409);
    await expect(c.kubectl(["get", "node", "ghost"])).rejects.toThrow(/NotFound|not found/);
  });

  it("exits 1 after retrying with backoff when the apiserver cannot be reached, naming the socket error", async () => {
    const unreachable = join(dir, "unreachable.kubeconfig");
    writeFileSync(
      unreachable,
      readFileSync(c.kubeconfig, "utf8").replace(/server: https:\/\/127\.0\.0\.1:\d+/, "server: https://127.0.0.1:1"),
    );
    const { log, lines } = capture();
    const code = await nodeProbeMain(
      { ...env("probe-test"), KUBECONFIG: unreachable },
      { log, retry: { attempts: 3, baseDelayMs: 10 } },
    );
    expect(code).toBe(1);
    expect(lines.filter((l) => l.msg.includes("retrying")).map((l) => l.delayMs)).toEqual([10, 20]);
    const err = lines.find((l) => l.level === 50);
    expect(err?.status).toBeUndefined();
    expect(`${err?.code} ${err?.msg}`).toMatch(/ECONNREFUSED/);
  });
});
