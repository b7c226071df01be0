// charts/reel's issue-17 settings, rendered by the pinned helm (e2e/scripts/build-helm.sh): the
// optional PostgreSQL backup CronJob (backup.*) and the outputs' S3 storage class (s3.storageClass)
// reaching the operator, which must accept what the chart renders. Render only (no control plane):
// chart.int.test.ts dry-runs the whole chart, values-all.yaml included, against a real apiserver.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../operator/src/config.ts";

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
async function render(set: string[]): Promise<Doc[]> {
  const args = ["template", "r", chart, "--namespace", "reel-system", ...set.flatMap((s) => ["--set", s])];
  const { stdout } = await run(helmBin, args, { maxBuffer: 32 << 20 });
  return parseAllDocuments(stdout)
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
    [["backup.enabled=true", "shim.database.existingSecret.name=reel-db"], /backup.prefix must be s3:\/\/BUCKET\/PREFIX\//],
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
