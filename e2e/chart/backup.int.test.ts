// charts/reel's issue-17 settings, rendered by the pinned helm (e2e/scripts/build-helm.sh): the
// optional PostgreSQL backup CronJob (backup.*) and the outputs' S3 storage class (s3.storageClass)
// reaching the operator, which must accept what the chart renders. The backup's CronJob and
// NetworkPolicy are also applied with a server dry run on the L2 control plane (etcd +
// kube-apiserver) in a namespace enforcing the restricted Pod Security profile (heavy: run it under
// the machine-wide lock); skipped when the Kubernetes binaries are not built.
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../operator/src/config.ts";
import { type Cluster, clusterUp, k8sBinariesBuilt, k8sBinDir } from "../cluster/cluster.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const chart = join(root, "charts", "reel");
const buildHelm = join(root, "e2e", "scripts", "build-helm.sh");
const helmBin = execFileSync("bash", [buildHelm, "--print"], { encoding: "utf8" }).trim();
const hasHelm = (() => {
  try {
    execFileSync("bash", [buildHelm, "--check"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked by shape
type Doc = any;
async function renderText(set: string[], only: string[] = []): Promise<string> {
  const args = ["template", "r", chart, "--namespace", "reel-system", ...set.flatMap((s) => ["--set", s])];
  const { stdout } = await run(helmBin, [...args, ...only.flatMap((t) => ["-s", t])], { maxBuffer: 32 << 20 });
  return stdout;
}
async function render(set: string[]): Promise<Doc[]> {
  return parseAllDocuments(await renderText(set))
    .map((d) => d.toJSON())
    .filter(Boolean);
}
async function refused(set: string[]): Promise<string> {
  return render(set).then(
    () => "",
    (e: { stderr?: string }) => e.stderr ?? "",
  );
}
const find = (docs: Doc[], kind: string, name: string) =>
  docs.find((d) => d.kind === kind && d.metadata?.name === name);
const ON = [
  "backup.enabled=true",
  "backup.prefix=s3://reel-backups/postgres/",
  "shim.database.existingSecret.name=reel-db",
];

describe.skipIf(!hasHelm)("chart: the PostgreSQL backup CronJob and the outputs' storage class", () => {
  it("renders no CronJob by default", async () => {
    const docs = await render([]);
    expect(docs.filter((d) => d.kind === "CronJob")).toEqual([]);
    expect(find(docs, "NetworkPolicy", "r-reel-backup")).toBeUndefined();
  });

  it("with backup.enabled: the shim image's admin backup, restricted pod, secrets by reference, a NetworkPolicy", async () => {
    const docs = await render([...ON, "backup.keep=5", "backup.schedule=0 2 * * *", "backup.s3.credentialsSecret=bk"]);
    const cj = find(docs, "CronJob", "r-reel-backup");
    expect(cj.spec).toMatchObject({ schedule: "0 2 * * *", concurrencyPolicy: "Forbid" });
    const pod = cj.spec.jobTemplate.spec.template.spec;
    const [c] = pod.containers;
    expect(c.image).toBe(find(docs, "Deployment", "r-reel-shim").spec.template.spec.containers[0].image);
    expect(c.command).toEqual([
      "node",
      "api-shim/src/admin.ts",
      "backup",
      "--to",
      "s3://reel-backups/postgres/",
      "--keep",
      "5",
    ]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.securityContext.capabilities.drop).toEqual(["ALL"]);
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(pod.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } });
    const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      DATABASE_URL: { secretKeyRef: { name: "reel-db", key: "url" } },
      REEL_BACKUP_S3_REGION: "us-east-1",
      REEL_BACKUP_S3_ACCESS_KEY_ID: { secretKeyRef: { name: "bk", key: "accessKeyId" } },
      REEL_BACKUP_S3_SECRET_ACCESS_KEY: { secretKeyRef: { name: "bk", key: "secretAccessKey" } },
    });
    const np = find(docs, "NetworkPolicy", "r-reel-backup");
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(np.spec.ingress).toBeUndefined();
    const ports = np.spec.egress.flatMap((r: Doc) => (r.ports ?? []).map((p: Doc) => p.port));
    expect(ports).toEqual([53, 53, 5432, 443, 9000]);
  });

  it.each([
    [["backup.enabled=true", "backup.prefix=s3://reel-backups/pg/"], /needs shim.database.existingSecret.name/],
    [
      ["backup.enabled=true", "shim.database.existingSecret.name=reel-db"],
      /backup.prefix must be s3:\/\/BUCKET\/PREFIX\//,
    ],
    [[...ON, "backup.prefix=s3://reel-backups/pg"], /backup\/prefix/],
    [[...ON, "backup.keep=0"], /backup\/keep/],
  ])("refuses %j", async (set, why) => {
    expect(await refused(set)).toMatch(why);
  });

  it("s3.storageClass reaches the operator as REEL_S3_STORAGE_CLASS, which its config accepts", async () => {
    const docs = await render(["s3.storageClass=INTELLIGENT_TIERING"]);
    const op = find(docs, "Deployment", "r-reel-operator").spec.template.spec.containers[0];
    const env = Object.fromEntries(op.env.filter((e: Doc) => "value" in e).map((e: Doc) => [e.name, e.value]));
    expect(env.REEL_S3_STORAGE_CLASS).toBe("INTELLIGENT_TIERING");
    expect(parseConfig(env).installation.storageClass).toBe("INTELLIGENT_TIERING");
    const unset = await render([]);
    const opUnset = find(unset, "Deployment", "r-reel-operator").spec.template.spec.containers[0];
    expect(opUnset.env.map((e: Doc) => e.name)).not.toContain("REEL_S3_STORAGE_CLASS");
  });

  it.each(["GLACIER", "standard_ia", "STANDARD IA"])("refuses s3.storageClass=%s in the values schema", async (v) => {
    expect(await refused([`s3.storageClass=${v}`])).toMatch(/s3\/storageClass/);
  });
});

describe.skipIf(!hasHelm || !k8sBinariesBuilt())("chart: the backup CronJob on a real apiserver (L2)", () => {
  let dir: string;
  let c: Cluster;
  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        join(k8sBinDir(), "kubectl"),
        ["--kubeconfig", c.kubeconfig, ...args],
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-chart-backup-"));
    c = await clusterUp({ level: 2, dir: join(dir, "state") });
    expect((await kubectl(["create", "namespace", "reel-system"])).code).toBe(0);
    const label = ["pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/warn=restricted"];
    expect((await kubectl(["label", "namespace", "reel-system", ...label])).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await c?.down();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("the CronJob and its NetworkPolicy pass a server dry run under the restricted profile, with no warning", async () => {
    const yaml = await renderText([...ON, "backup.s3.credentialsSecret=bk"], ["templates/backup-cronjob.yaml"]);
    const r = await kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], yaml);
    expect(r.stderr, r.stderr).not.toMatch(/error|violate|warning/i);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual([
      "cronjob.batch/r-reel-backup serverside-applied (server dry run)",
      "networkpolicy.networking.k8s.io/r-reel-backup serverside-applied (server dry run)",
    ]);
  }, 120_000);
});
