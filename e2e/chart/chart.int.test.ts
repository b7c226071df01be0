// charts/reel, checked with the real tools: the pinned helm (e2e/scripts/build-helm.sh) lints and
// renders it with the default values and with every optional feature on (values-all.yaml); the
// rendered manifests pass a server-side dry run on the L2 control plane (etcd + kube-apiserver) in a
// namespace enforcing the restricted Pod Security profile; the ServiceAccounts and RBAC are created
// for real and `kubectl auth can-i --as=system:serviceaccount:…` asks the apiserver what each
// component may and may not do; the Argo CD health script runs under Lua against VideoJob statuses.
//
// ServiceMonitor and PrometheusRule: the L2 control plane has no prometheus-operator, so the test
// installs minimal CRDs for those two kinds (schema: any object). The dry run then proves their
// group, version, kind and namespace are accepted, not their fields.
//
// The images (worker-image/, operator/ and api-shim/Dockerfile): no Docker engine runs here, so they
// are linted with hadolint and checked for what the runtime stage must and must not hold; the
// programs they contain are tested where they live. What the images' `npm prune --omit=dev` keeps
// is checked by following the imports from each entrypoint.
//
// Skipped, with the reason in the title, when helm, the Kubernetes binaries, a Lua interpreter or
// hadolint is missing (scripts/bootstrap.sh installs all four).
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, clusterUp, k8sBinariesBuilt, k8sBinDir } from "../cluster/cluster.ts";
import { parseConfig as parseShimConfig } from "../../api-shim/src/config.ts";
import { parseConfig } from "../../operator/src/config.ts";
import { until } from "../src/until.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const chart = join(root, "charts", "reel");
const valuesAll = join(import.meta.dirname, "values-all.yaml");
const buildHelm = join(root, "e2e", "scripts", "build-helm.sh");

function helmBuilt(): boolean {
  try {
    execFileSync("bash", [buildHelm, "--check"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const helmBin = execFileSync("bash", [buildHelm, "--print"], { encoding: "utf8" }).trim();
const hasHelm = helmBuilt();
const hasK8s = k8sBinariesBuilt();
const luas = ["lua5.1", "lua5.4"].filter((l) => {
  try {
    execFileSync(l, ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});

const skipped = (title: string, ok: boolean, why: string) => {
  if (ok) return title;
  console.warn(`[chart.int.test] SKIPPED ${title}: ${why}`);
  return `${title} (SKIPPED: ${why})`;
};

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: Array<Record<string, unknown>>;
};

async function helm(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(helmBin, args, { maxBuffer: 32 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`helm ${args.join(" ")}: ${err.stderr || err.stdout || err.message}`);
  }
}

const KUBE_VERSION = "1.37.2";
async function render(release: string, namespace: string, extra: string[] = []): Promise<Manifest[]> {
  const out = await helm(["template", release, chart, "-n", namespace, "--kube-version", KUBE_VERSION, ...extra]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}
const kinds = (ms: Manifest[]) => [...new Set(ms.map((m) => m.kind))].sort();
const toYaml = (ms: Manifest[]) => ms.map((m) => JSON.stringify(m)).join("\n---\n");

describe("charts/reel CRD", () => {
  it("is a byte-for-byte copy of crds/generated/videojob.crd.yaml (npm run generate -w @reel/crds writes both)", () => {
    const generated = readFileSync(join(root, "crds", "generated", "videojob.crd.yaml"), "utf8");
    const copy = readFileSync(join(chart, "crds", "videojob.crd.yaml"), "utf8");
    expect(
      copy === generated,
      "charts/reel/crds/videojob.crd.yaml differs from crds/generated/: run npm run generate -w @reel/crds",
    ).toBe(true);
  });
});

describe.skipIf(!hasHelm)(
  skipped("charts/reel with helm", hasHelm, "helm not built; run e2e/scripts/build-helm.sh"),
  () => {
    it("uses the pinned helm v3.22.0 built by e2e/scripts/build-helm.sh", async () => {
      expect(await helm(["version", "--short"])).toMatch(/^v3\.22\.0/);
    });

    it("passes helm lint --strict with the default values and with every optional feature on", async () => {
      const plain = await helm(["lint", "--strict", chart]);
      expect(plain).toContain("1 chart(s) linted, 0 chart(s) failed");
      const all = await helm(["lint", "--strict", chart, "-f", valuesAll]);
      expect(all).toContain("1 chart(s) linted, 0 chart(s) failed");
    });

    it("renders the operator, shim, node probe, RBAC, PriorityClasses and NetworkPolicies with the default values", async () => {
      const ms = await render("reel", "reel-system");
      expect(kinds(ms)).toEqual([
        "ClusterRole",
        "ClusterRoleBinding",
        "DaemonSet",
        "Deployment",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "NetworkPolicy",
        "Pod",
        "PodDisruptionBudget",
        "PriorityClass",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
      ]);
      expect(ms.filter((m) => m.kind === "PriorityClass").map((m) => m.metadata.name)).toEqual([
        "reel-low",
        "reel-normal",
        "reel-high",
      ]);
      const op = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-operator") as Manifest;
      expect(op.spec?.replicas).toBe(2);
      const container = (op.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template
        .spec.containers[0] as { env: Array<{ name: string; value?: string; valueFrom?: unknown }> };
      const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env).toMatchObject({
        REEL_LEASE_NAMESPACE: "reel-system",
        POD_NAME: { fieldRef: { fieldPath: "metadata.name" } },
        REEL_WORKER_IMAGE: "ghcr.io/reel-dev/reel-worker:0.1.0",
      });
      // the output settings render only when set (the operator's defaults: bucket SSE, presigned, keep)
      expect(env.REEL_S3_SSE).toBeUndefined();
      expect(env.REEL_FINISHED_RETENTION).toBeUndefined();
      expect(env.REEL_KEEP_STAGING).toBeUndefined();
    });

    it("renders the finalizer policy as crds/generated/videojob-finalizer-policy.yaml has it (labels aside)", async () => {
      const generated = parseAllDocuments(
        readFileSync(join(root, "crds", "generated", "videojob-finalizer-policy.yaml"), "utf8"),
      ).map((d) => d.toJS() as Manifest);
      const rendered = (await render("reel", "reel-system")).filter((m) => m.kind.startsWith("MutatingAdmission"));
      expect(rendered.map((m) => ({ ...m, metadata: { name: m.metadata.name } }))).toEqual(generated);
      const off = await render("reel", "reel-system", ["--set", "finalizerPolicy.create=false"]);
      expect(off.filter((m) => m.kind.startsWith("MutatingAdmission"))).toEqual([]);
    });

    it("tracing.otlpEndpoint reaches the operator (which passes it to its pods) and the shim; the collector rule opens egress to it", async () => {
      const ms = await render("reel", "reel-system", [
        "--set",
        "tracing.otlpEndpoint=http://otel-collector.observability:4318",
        "--set",
        "networkPolicy.otelCollector.to[0].namespaceSelector.matchLabels.team=observability",
        "--set",
        "networkPolicy.workers.namespaces={media}",
      ]);
      for (const name of ["reel-operator", "reel-shim"]) {
        const d = ms.find((m) => m.kind === "Deployment" && m.metadata.name === name) as Manifest;
        const env = (
          d.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }
        ).template.spec.containers[0]?.env;
        expect(env?.find((e) => e.name === "OTEL_EXPORTER_OTLP_ENDPOINT")?.value, name).toBe(
          "http://otel-collector.observability:4318",
        );
      }
      for (const name of ["reel-operator", "reel-shim", "reel-worker"]) {
        const np = ms.find((m) => m.kind === "NetworkPolicy" && m.metadata.name === name) as Manifest;
        expect(JSON.stringify(np.spec), name).toContain(
          '{"to":[{"namespaceSelector":{"matchLabels":{"team":"observability"}}}],"ports":[{"protocol":"TCP","port":4318}]}',
        );
      }
      const plain = await render("reel", "reel-system");
      expect(JSON.stringify(plain)).not.toContain("OTEL_EXPORTER_OTLP_ENDPOINT");
    });

    it("renders the Ingress with TLS, HPA, ServiceMonitors, PrometheusRule and per-namespace Roles with every feature on", async () => {
      const ms = await render("reel", "reel-system", ["-f", valuesAll]);
      expect(kinds(ms)).toEqual(
        expect.arrayContaining(["HorizontalPodAutoscaler", "Ingress", "PrometheusRule", "ServiceMonitor"]),
      );
      const ingress = ms.find((m) => m.kind === "Ingress") as Manifest;
      expect(ingress.spec?.tls).toEqual([{ hosts: ["reel.example.com"], secretName: "reel-shim-tls" }]);
      const shim = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-shim") as Manifest;
      expect(shim.spec?.replicas).toBeUndefined(); // the HPA owns it
      // watchNamespace: the operator's and the shim's namespaced rules are Roles in media
      const roles = ms.filter((m) => m.kind === "Role").map((m) => `${m.metadata.namespace}/${m.metadata.name}`);
      expect(roles.sort()).toEqual([
        "media/reel-operator",
        "media/reel-shim",
        "reel-system/reel-operator-leader-election",
      ]);
      // The output settings reach the operator (which checks them at start and passes SSE and the
      // public base URL to its pods), and finished-VideoJob retention gives it delete on videojobs.
      const op = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-operator") as Manifest;
      const opEnv = Object.fromEntries(
        (
          op.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }
        ).template.spec.containers[0]?.env.map((e) => [e.name, e.value]) ?? [],
      );
      expect(opEnv).toMatchObject({
        REEL_S3_SSE: "aws:kms",
        REEL_S3_SSE_KMS_KEY_ID: "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000",
        REEL_OUTPUT_PUBLIC_BASE_URL: "https://cdn.example.com/videos",
        REEL_OUTPUT_RETENTION: "30d",
        REEL_FINISHED_RETENTION: "7d",
        REEL_KEEP_STAGING: "true",
      });
      // The shim answers fresh download links in the same public form.
      const shimDeploy = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-shim") as Manifest;
      const shimEnv = (
        shimDeploy.spec as {
          template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
        }
      ).template.spec.containers[0]?.env;
      expect(shimEnv).toContainEqual({ name: "REEL_OUTPUT_PUBLIC_BASE_URL", value: "https://cdn.example.com/videos" });
      const opRole = ms.find((m) => m.kind === "Role" && m.metadata.name === "reel-operator") as Manifest;
      expect(opRole.rules).toContainEqual({ apiGroups: ["reel.dev"], resources: ["videojobs"], verbs: ["delete"] });
      const plainRole = (await render("reel", "reel-system")).find(
        (m) => m.kind === "ClusterRole" && m.metadata.name.startsWith("reel-operator"),
      ) as Manifest;
      expect(
        plainRole.rules
          ?.filter((r) => (r.resources as string[]).includes("videojobs"))
          .flatMap((r) => r.verbs as string[]),
      ).not.toContain("delete");
      const workerPolicies = ms.filter((m) => m.kind === "NetworkPolicy" && m.metadata.name === "reel-worker");
      expect(workerPolicies.map((m) => m.metadata.namespace)).toEqual(["media", "tv"]);
      const rules = JSON.stringify(ms.find((m) => m.kind === "PrometheusRule")?.spec);
      for (const metric of ["reel_operator_leader", "reel_operator_videojobs", "reel_shim_http_requests_total"]) {
        expect(rules).toContain(metric);
      }
    });

    it.skipIf(!hasTools)(
      "writes every alert in PromQL that Prometheus's parser reads as an instant vector",
      async () => {
        const ms = await render("reel", "reel-system", ["-f", valuesAll]);
        const rule = ms.find((m) => m.kind === "PrometheusRule") as Manifest;
        const alerts = (
          rule.spec as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
        ).groups.flatMap((g) => g.rules);
        expect(alerts.length).toBeGreaterThanOrEqual(7);
        const parsed = await tool(
          "promql",
          alerts.map((a) => a.expr),
        );
        expect(Object.fromEntries(alerts.map((a, i) => [a.alert, parsed[i]?.join(" ")]))).toEqual(
          Object.fromEntries(alerts.map((a) => [a.alert, "ok vector"])),
        );
      },
    );

    it("gives worker pods their namespace's Redis user with redis.workerAcl (the default): REEL_REDIS_WORKER_ACL, which the operator reads, and create on Secrets; neither without Redis", async () => {
      const opOf = (ms: Manifest[]) => {
        const op = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-operator") as Manifest;
        const env =
          (op.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } })
            .template.spec.containers[0]?.env ?? [];
        const role = ms.find(
          (m) => m.kind === "ClusterRole" && m.metadata.name.startsWith("reel-operator"),
        ) as Manifest;
        const secretVerbs = (role.rules ?? [])
          .filter((r) => (r.resources as string[]).includes("secrets"))
          .flatMap((r) => r.verbs as string[]);
        return { acl: env.find((e) => e.name === "REEL_REDIS_WORKER_ACL")?.value, secretVerbs };
      };
      const url = ["--set", "redis.url=redis://:admin@redis.reel-system:6379"];
      const on = opOf(await render("reel", "reel-system", url));
      expect(on).toEqual({ acl: "true", secretVerbs: ["get", "create"] });
      expect(
        parseConfig({ REEL_REDIS_URL: "redis://r:6379", REEL_REDIS_WORKER_ACL: on.acl }).REEL_REDIS_WORKER_ACL,
      ).toBe(true);
      const off = opOf(await render("reel", "reel-system", [...url, "--set", "redis.workerAcl=false"]));
      expect(off).toEqual({ acl: "false", secretVerbs: ["get"] });
      expect(
        parseConfig({ REEL_REDIS_URL: "redis://r:6379", REEL_REDIS_WORKER_ACL: off.acl }).REEL_REDIS_WORKER_ACL,
      ).toBe(false);
      expect(opOf(await render("reel", "reel-system"))).toEqual({ acl: undefined, secretVerbs: ["get"] });
      await expect(render("reel", "reel-system", ["--set-string", "redis.workerAcl=yes"])).rejects.toThrow(/schema/);
    });

    it("bounds the worker pods: operator.jobs.maxSourceBytes and .resources reach the operator as REEL_MAX_SOURCE_BYTES and REEL_WORKER_*, which it reads", async () => {
      const opEnvOf = (ms: Manifest[]) => {
        const op = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-operator") as Manifest;
        const c = (
          op.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }
        ).template.spec.containers[0];
        return Object.fromEntries(
          (c?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]),
        );
      };
      const defaults = opEnvOf(await render("reel", "reel-system"));
      expect(defaults).toMatchObject({
        REEL_MAX_SOURCE_BYTES: "50Gi",
        REEL_WORKER_CPU_REQUEST: "1",
        REEL_WORKER_MEMORY_REQUEST: "1Gi",
        REEL_WORKER_MEMORY_LIMIT: "8Gi",
        REEL_WORKER_SCRATCH_REQUEST: "10Gi",
      });
      expect(defaults.REEL_WORKER_SCRATCH_LIMIT).toBeUndefined();
      // The operator reads what the chart writes (its own parser, the one main.ts runs).
      const c = parseConfig(defaults);
      expect(c.installation.maxSourceBytes).toBe(50 * 2 ** 30);
      expect(c.resources).toEqual({
        cpuRequest: "1",
        memoryRequest: "1Gi",
        memoryLimit: "8Gi",
        scratchRequestBytes: 10 * 2 ** 30,
      });
      const set = opEnvOf(
        await render("reel", "reel-system", [
          "--set-string",
          "operator.jobs.maxSourceBytes=2Gi",
          "--set-string",
          "operator.jobs.resources.memoryLimit=3Gi",
          "--set-string",
          "operator.jobs.resources.scratchLimit=8Gi",
        ]),
      );
      expect(set).toMatchObject({
        REEL_MAX_SOURCE_BYTES: "2Gi",
        REEL_WORKER_MEMORY_LIMIT: "3Gi",
        REEL_WORKER_SCRATCH_LIMIT: "8Gi",
      });
      expect(parseConfig(set).resources).toMatchObject({ memoryLimit: "3Gi", scratchLimitBytes: 8 * 2 ** 30 });
      for (const bad of [
        "operator.jobs.resources.memoryLimit=8GB",
        "operator.jobs.maxSourceBytes=lots",
        "operator.jobs.resources.scratch=1Gi",
      ]) {
        await expect(render("reel", "reel-system", ["--set-string", bad])).rejects.toThrow(/schema/);
      }
    });

    it("turns on uploads with uploads.bucket: uploads.* reach the shim as REEL_UPLOAD_*, which its parseConfig reads; bad sizes and durations are refused", async () => {
      type Env = Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
      const shimEnvOf = (ms: Manifest[]) => {
        const shim = ms.find((m) => m.kind === "Deployment" && m.metadata.name === "reel-shim") as Manifest;
        return (shim.spec as { template: { spec: { containers: Array<{ env: Env }> } } }).template.spec.containers[0]
          ?.env as Env;
      };
      const values = (env: Env) =>
        Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
      const off = shimEnvOf(await render("reel", "reel-system"));
      expect(off.filter((e) => e.name.startsWith("REEL_UPLOAD_"))).toEqual([]);
      expect(parseShimConfig(values(off)).REEL_UPLOAD_S3_BUCKET).toBe("");

      const on = shimEnvOf(
        await render("reel", "reel-system", [
          ...["--set", "uploads.bucket=reel-uploads", "--set", "uploads.credentialsSecret=reel-upload-keys"],
          ...["--set", "uploads.endpoint=https://s3.example.com", "--set-string", "uploads.quotaPerTenant=5Gi"],
          ...["--set-string", "uploads.maxUploadSize=2Gi", "--set", "uploads.expiry=12h"],
        ]),
      );
      expect(on.find((e) => e.name === "REEL_UPLOAD_S3_SECRET_ACCESS_KEY")?.valueFrom).toEqual({
        secretKeyRef: { name: "reel-upload-keys", key: "secretAccessKey" },
      });
      const c = parseShimConfig(values(on));
      expect(c).toMatchObject({
        REEL_UPLOAD_S3_BUCKET: "reel-uploads",
        REEL_UPLOAD_S3_PREFIX: "uploads/",
        REEL_UPLOAD_S3_ENDPOINT: "https://s3.example.com",
        REEL_UPLOAD_SOURCE_SECRET: "reel-uploads",
        REEL_UPLOAD_QUOTA_BYTES: 5 * 2 ** 30,
        REEL_UPLOAD_MAX_BYTES: 2 * 2 ** 30,
        REEL_UPLOAD_PART_BYTES: 8 * 2 ** 20,
        REEL_UPLOAD_IDLE_MS: 60_000,
        REEL_UPLOAD_EXPIRY: 12 * 3600_000,
        REEL_UPLOAD_RETENTION: 7 * 24 * 3600_000,
        REEL_UPLOAD_SWEEP_INTERVAL_MS: 600_000,
        REEL_UPLOAD_LOCK_LEASE_MS: 30_000,
      });
      // "" disables the expiry and the retention, as the values say.
      const never = values(
        shimEnvOf(
          await render("reel", "reel-system", [
            ...["--set", "uploads.bucket=b", "--set-string", "uploads.expiry=", "--set-string", "uploads.retention="],
          ]),
        ),
      );
      expect(parseShimConfig(never)).toMatchObject({ REEL_UPLOAD_EXPIRY: undefined, REEL_UPLOAD_RETENTION: undefined });
      for (const bad of ["uploads.quotaPerTenant=20GB", "uploads.expiry=1 day", "uploads.partSize=lots"]) {
        await expect(render("reel", "reel-system", ["--set-string", bad])).rejects.toThrow(/schema/);
      }
      // The shim itself refuses a part under S3's 5 MiB minimum, which the schema cannot see.
      expect(() => parseShimConfig({ ...values(on), REEL_UPLOAD_PART_BYTES: "4Mi" })).toThrow(/REEL_UPLOAD_PART_BYTES/);
    });

    it("refuses a misspelt value through values.schema.json", async () => {
      for (const bad of ["operator.replica=3", "shim.ingres.enabled=true", "nodeProbe.interval=6 hours"]) {
        await expect(render("reel", "reel-system", ["--set", bad])).rejects.toThrow(/schema/);
      }
    });

    it("keeps every pod under the restricted profile: non-root, seccomp, no escalation, no capabilities, read-only root", async () => {
      const ms = await render("reel", "reel-system", ["-f", valuesAll]);
      const workloads = ms.filter((m) => m.kind === "Deployment" || m.kind === "DaemonSet");
      expect(workloads).toHaveLength(3);
      for (const w of workloads) {
        const pod = (w.spec as { template: { spec: Record<string, unknown> } }).template.spec as {
          securityContext: Record<string, unknown>;
          containers: Array<{ securityContext: Record<string, unknown>; volumeMounts: unknown[] }>;
          volumes: Array<Record<string, unknown>>;
        };
        expect(pod.securityContext, w.metadata.name).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 10001,
          seccompProfile: { type: "RuntimeDefault" },
        });
        for (const c of pod.containers) {
          expect(c.securityContext, w.metadata.name).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
        }
        expect(
          pod.volumes.every((v) => "emptyDir" in v),
          `${w.metadata.name}: emptyDir only, no hostPath`,
        ).toBe(true);
      }
      // `helm test`'s pod (templates/tests/smoke.yaml) is held to the same profile, with resources set
      const smoke = ms.find((m) => m.kind === "Pod") as unknown as {
        metadata: { name: string; annotations: Record<string, string> };
        spec: {
          automountServiceAccountToken?: boolean;
          securityContext: unknown;
          containers: Array<{ securityContext: unknown; resources: unknown }>;
        };
      };
      expect(smoke.metadata.annotations["helm.sh/hook"]).toBe("test");
      expect(smoke.spec.automountServiceAccountToken).toBe(true);
      expect(smoke.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(smoke.spec.containers[0]?.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(smoke.spec.containers[0]?.resources).toMatchObject({
        requests: { cpu: "10m" },
        limits: { memory: "192Mi" },
      });
    });
  },
);

// ---- Argo CD health script ----------------------------------------------------------------------

/** A JS value as a Lua table constructor (strings through JSON escapes Lua also reads: ASCII only). */
function lua(v: unknown): string {
  if (v === null || v === undefined) return "nil";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `{${v.map(lua).join(", ")}}`;
  return `{${Object.entries(v as object)
    .map(([k, x]) => `[${JSON.stringify(k)}] = ${lua(x)}`)
    .join(", ")}}`;
}

const healthScript = join(chart, "argocd", "videojob-health.lua");
async function health(interpreter: string, obj: unknown): Promise<{ status: string; message: string }> {
  const { stdout } = await run(interpreter, [
    "-e",
    `obj = ${lua(obj)}`,
    "-e",
    `local hs = dofile(${JSON.stringify(healthScript)}); io.write(hs.status, "\\t", hs.message)`,
  ]);
  const [status = "", message = ""] = stdout.split("\t");
  return { status, message };
}

const cond = (type: string, status: string, reason: string, message = "", observedGeneration = 2) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: "2026-11-25T10:00:00Z",
});
/** The three conditions as operator/src/reconcile/decide.ts reports each state. */
const reported = (state: "done" | "working" | "stalled" | "stopped", reason: string, message: string, gen = 2) => [
  cond("Ready", state === "done" ? "True" : "False", reason, message, gen),
  cond("Reconciling", state === "working" ? "True" : "False", reason, state === "working" ? message : "", gen),
  cond("Stalled", state === "stalled" ? "True" : "False", reason, state === "stalled" ? message : "", gen),
];
const videojob = (status?: Record<string, unknown>, generation = 2) => ({
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "season-1", namespace: "media", generation },
  spec: { episodes: [{ url: "https://cdn.example.com/1.mp4" }] },
  ...(status ? { status } : {}),
});

const samples: Array<[string, unknown, string, string | RegExp]> = [
  ["no status yet", videojob(), "Progressing", /Waiting for the Reel operator/],
  [
    "episodes running",
    videojob({
      phase: "Processing",
      observedGeneration: 2,
      conditions: reported("working", "EpisodesRunning", "1/3 episodes done"),
    }),
    "Progressing",
    "1/3 episodes done",
  ],
  [
    "merged (Ready=True)",
    videojob({
      phase: "Completed",
      observedGeneration: 2,
      conditions: reported("done", "Completed", "3/3 episodes merged"),
    }),
    "Healthy",
    "3/3 episodes merged",
  ],
  [
    "episodes failed (Stalled=True)",
    videojob({
      phase: "Failed",
      observedGeneration: 2,
      conditions: reported("stalled", "EpisodesFailed", "episode 2: REEL_SOURCE_UNREACHABLE"),
    }),
    "Degraded",
    "episode 2: REEL_SOURCE_UNREACHABLE",
  ],
  [
    "cancelled (Stalled=True, reason Cancelled)",
    videojob({
      phase: "Cancelled",
      observedGeneration: 2,
      conditions: reported("stalled", "Cancelled", "spec.cancel is true"),
    }),
    "Suspended",
    /Cancelled/,
  ],
  [
    "Ready=True for an older generation than the spec",
    videojob(
      { phase: "Completed", observedGeneration: 2, conditions: reported("done", "Completed", "3/3 episodes merged") },
      3,
    ),
    "Progressing",
    "Waiting for the Reel operator to observe generation 3",
  ],
  [
    "Stalled=True on a condition older than status.observedGeneration",
    videojob(
      {
        phase: "Processing",
        observedGeneration: 3,
        conditions: [...reported("stalled", "EpisodesFailed", "old failure", 2)],
      },
      3,
    ),
    "Progressing",
    /Waiting for the Reel operator/,
  ],
];

describe.skipIf(luas.length === 0)(
  skipped(
    "Argo CD health check for VideoJob (charts/reel/argocd/videojob-health.lua)",
    luas.length > 0,
    "no lua5.1/lua5.4; apt-get install lua5.1 lua5.4",
  ),
  () => {
    for (const interpreter of luas) {
      it.each(samples)(`${interpreter}: %s -> %s`, async (_name, obj, status, message) => {
        const hs = await health(interpreter, obj);
        expect(hs.status).toBe(status);
        if (typeof message === "string") expect(hs.message).toBe(message);
        else expect(hs.message).toMatch(message);
      });
    }
  },
);

// ---- Flux: kstatus ---------------------------------------------------------------------------------

const chartTools = join(root, "e2e", "chart", "tools", "build.sh");
const toolsBin = execFileSync("bash", [chartTools, "--print"], { encoding: "utf8" }).trim();
const hasTools = (() => {
  try {
    execFileSync("bash", [chartTools, "--check"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
async function tool(mode: "kstatus" | "promql", input: unknown): Promise<string[][]> {
  const child = run(toolsBin, [mode]);
  child.child.stdin?.end(JSON.stringify(input));
  const { stdout } = await child;
  return stdout
    .trimEnd()
    .split("\n")
    .map((l) => l.split("\t"));
}

/** What Flux's kstatus (github.com/fluxcd/cli-utils) makes of the same statuses; charts/reel/README.md's table. */
const kstatusOf: Record<string, string> = {
  "no status yet": "Current",
  "episodes running": "InProgress",
  "merged (Ready=True)": "Current",
  "episodes failed (Stalled=True)": "Failed",
  // terminal: the operator sets Stalled=True on cancel, so a Flux wait ends instead of timing out
  "cancelled (Stalled=True, reason Cancelled)": "Failed",
  "Ready=True for an older generation than the spec": "InProgress",
  // kstatus reads status.observedGeneration only; the operator stamps every condition with it
  "Stalled=True on a condition older than status.observedGeneration": "Failed",
};

describe.skipIf(!hasTools)(
  skipped(
    "Flux's kstatus reads VideoJob statuses",
    hasTools,
    "reel-chart-tools not built; run e2e/chart/tools/build.sh",
  ),
  () => {
    it("gives InProgress while episodes run, Current when merged, Failed when stalled, and the README's table", async () => {
      const got = await tool(
        "kstatus",
        samples.map(([, obj]) => obj),
      );
      const table = Object.fromEntries(samples.map(([name], i) => [name, got[i]?.[0]]));
      expect(table).toEqual(kstatusOf);
      // the message kstatus shows is the operator's own
      expect(got[1]?.[1]).toBe("1/3 episodes done");
      expect(got[3]?.[1]).toBe("episode 2: REEL_SOURCE_UNREACHABLE");
    });
  },
);

// ---- on the L2 control plane -----------------------------------------------------------------------

/** Minimal CRDs for the prometheus-operator kinds the chart renders (any object accepted). */
const monitoringCrds = ["ServiceMonitor", "PrometheusRule"].map((kind) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${kind.toLowerCase()}s.monitoring.coreos.com` },
  spec: {
    group: "monitoring.coreos.com",
    scope: "Namespaced",
    names: { kind, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
}));

const ready = hasHelm && hasK8s;
describe.skipIf(!ready)(
  skipped(
    "charts/reel on a real kube-apiserver (L2)",
    ready,
    "helm or the Kubernetes binaries not built; run scripts/bootstrap.sh",
  ),
  () => {
    let dir: string;
    let c: Cluster;
    let kubectlBin: string;

    /** kubectl with stdout, stderr and the exit code (auth can-i answers "no" with exit 1). */
    const kubectl = async (args: string[], input?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          kubectlBin,
          ["--kubeconfig", c.kubeconfig, ...args],
          { maxBuffer: 32 << 20 },
          (err, stdout, stderr) =>
            resolve({
              code: err ? ((err as { code?: number }).code ?? 1) : 0,
              stdout: String(stdout),
              stderr: String(stderr),
            }),
        );
        if (input !== undefined) child.stdin?.end(input);
      });
    const ok = async (args: string[], input?: string) => {
      const r = await kubectl(args, input);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr || r.stdout}`);
      return r;
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "reel-chart-"));
      c = await clusterUp({ level: 2, dir: join(dir, "state") });
      kubectlBin = join(k8sBinDir(), "kubectl");
      await ok(["apply", "--server-side", "-f", join(chart, "crds", "videojob.crd.yaml")]);
      await ok(["apply", "--server-side", "-f", "-"], toYaml(monitoringCrds as unknown as Manifest[]));
      for (const ns of ["reel-system", "scoped-system", "media", "tv"]) {
        await ok(["create", "namespace", ns]);
        // The restricted profile: enforced on pods, and reported (warn) for the Deployments and
        // DaemonSets whose pod templates would break it.
        await ok([
          "label",
          "namespace",
          ns,
          "pod-security.kubernetes.io/enforce=restricted",
          "pod-security.kubernetes.io/warn=restricted",
        ]);
      }
      await ok([
        "wait",
        "--for=condition=Established",
        "crd/videojobs.reel.dev",
        "crd/servicemonitors.monitoring.coreos.com",
        "crd/prometheusrules.monitoring.coreos.com",
      ]);
    }, 180_000);

    afterAll(async () => {
      await c?.down();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 60_000);

    it.each([
      ["the default values", "reel", "reel-system", [] as string[]],
      [
        "every optional feature on",
        "scoped",
        "scoped-system",
        ["-f", valuesAll, "--set", "priorityClasses.create=false"],
      ],
    ])(
      "applies with kubectl apply --server-side --dry-run=server, with no Pod Security warning (%s)",
      async (_name, release, namespace, extra) => {
        const ms = await render(release, namespace, extra);
        // `helm test`'s Pod runs as the namespace's default ServiceAccount, which the ServiceAccount
        // admission looks up; L2 runs no controller-manager to make it, as a cluster's would.
        await kubectl(["create", "serviceaccount", "default", "-n", namespace]);
        const r = await kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], toYaml(ms));
        expect(r.stderr, r.stderr).not.toMatch(/error|violate/i);
        expect(r.code).toBe(0);
        const applied = r.stdout.trim().split("\n");
        expect(applied).toHaveLength(ms.length);
        expect(
          applied.every((l) => l.endsWith("serverside-applied (server dry run)")),
          r.stdout,
        ).toBe(true);
      },
      120_000,
    );

    it("the finalizer policy adds reel.dev/cleanup to a VideoJob as the apiserver creates it, keeping the user's own", async () => {
      const policy = (await render("reel", "reel-system")).filter((m) => m.kind.startsWith("MutatingAdmission"));
      await ok(["apply", "--server-side", "-f", "-"], toYaml(policy));
      const vj = (name: string, finalizers?: string[]) =>
        JSON.stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name, namespace: "media", ...(finalizers ? { finalizers } : {}) },
          spec: {
            episodes: [{ url: "https://cdn.example.com/1.mp4" }],
            output: { s3: { bucket: "videos", credentialsSecret: "s3" } },
          },
        });
      // A policy takes effect shortly after it is created (the apiserver's admission caches).
      await until(
        "the policy in effect",
        async () => {
          await kubectl(["-n", "media", "delete", "videojob", "probe", "--ignore-not-found", "--wait=false"]);
          await kubectl([
            "-n",
            "media",
            "patch",
            "videojob",
            "probe",
            "--type=merge",
            "-p",
            '{"metadata":{"finalizers":null}}',
          ]);
          await ok(["create", "-f", "-"], vj("probe"));
          const got = await ok(["-n", "media", "get", "videojob", "probe", "-o", "jsonpath={.metadata.finalizers}"]);
          return got.stdout.includes("reel.dev/cleanup");
        },
        30_000,
      );
      await ok(["create", "-f", "-"], vj("mine", ["example.com/keep"]));
      const got = await ok(["-n", "media", "get", "videojob", "mine", "-o", "jsonpath={.metadata.finalizers}"]);
      expect(JSON.parse(got.stdout)).toEqual(["example.com/keep", "reel.dev/cleanup"]);
      for (const name of ["probe", "mine"]) {
        await kubectl([
          "-n",
          "media",
          "patch",
          "videojob",
          name,
          "--type=merge",
          "-p",
          '{"metadata":{"finalizers":null}}',
        ]);
        await kubectl(["-n", "media", "delete", "videojob", name, "--ignore-not-found"]);
      }
      await ok(["delete", "-f", "-"], toYaml(policy));
    }, 60_000);

    describe("RBAC, asked of the apiserver with kubectl auth can-i --as the components' ServiceAccounts", () => {
      beforeAll(async () => {
        // the default release (ClusterRoles) and the scoped one (Roles in media), created for real
        const rbac = (ms: Manifest[]) => ms.filter((m) => /^(ServiceAccount|(Cluster)?Role(Binding)?)$/.test(m.kind));
        await ok(["apply", "--server-side", "-f", "-"], toYaml(rbac(await render("reel", "reel-system"))));
        await ok(
          ["apply", "--server-side", "-f", "-"],
          toYaml(
            rbac(await render("scoped", "scoped-system", ["-f", valuesAll, "--set", "priorityClasses.create=false"])),
          ),
        );
      }, 60_000);

      const can = async (sa: string, args: string[]) => {
        const [ns, name] = sa.split("/") as [string, string];
        const r = await kubectl(["auth", "can-i", `--as=system:serviceaccount:${ns}:${name}`, ...args]);
        return r.stdout.trim();
      };

      const op = "reel-system/reel-operator";
      const shim = "reel-system/reel-shim";
      const probe = "reel-system/reel-node-probe";
      const scopedOp = "scoped-system/scoped-reel-operator";
      const scopedShim = "scoped-system/scoped-reel-shim";

      it.each([
        // operator: what its code calls
        [op, "get videojobs.reel.dev -n media", "yes"],
        [op, "list videojobs.reel.dev -A", "yes"],
        [op, "watch videojobs.reel.dev -A", "yes"],
        [op, "patch videojobs.reel.dev -n media", "yes"],
        [op, "update videojobs.reel.dev -n media", "yes"],
        [op, "patch videojobs.reel.dev --subresource=status -n media", "yes"],
        [op, "update videojobs.reel.dev --subresource=finalizers -n media", "yes"],
        [op, "create jobs.batch -n media", "yes"],
        [op, "delete jobs.batch -n media", "yes"],
        [op, "watch jobs.batch -A", "yes"],
        [op, "list pods -A", "yes"],
        [op, "watch nodes", "yes"],
        [op, "create events -n media", "yes"],
        [op, "patch events -n media", "yes"],
        [op, "get secrets -n media", "yes"],
        [op, "create leases.coordination.k8s.io -n reel-system", "yes"],
        [op, "get leases.coordination.k8s.io/reel-operator -n reel-system", "yes"],
        [op, "update leases.coordination.k8s.io/reel-operator -n reel-system", "yes"],
        // operator: what it must not do
        [op, "delete secrets -n media", "no"],
        [op, "list secrets -n media", "no"],
        [op, "create secrets -n media", "no"],
        [op, "delete videojobs.reel.dev -n media", "no"],
        [op, "create videojobs.reel.dev -n media", "no"],
        [op, "create pods -n media", "no"],
        [op, "update jobs.batch -n media", "no"],
        [op, "patch nodes", "no"],
        [op, "update leases.coordination.k8s.io/another -n reel-system", "no"],
        [op, "create leases.coordination.k8s.io -n media", "no"],
        [op, "create clusterrolebindings.rbac.authorization.k8s.io", "no"],
        // shim
        [shim, "create videojobs.reel.dev -n media", "yes"],
        [shim, "get videojobs.reel.dev -n media", "yes"],
        [shim, "watch videojobs.reel.dev -A", "yes"],
        [shim, "patch videojobs.reel.dev -n media", "yes"],
        [shim, "get secrets -n media", "yes"],
        [shim, "create jobs.batch -n media", "no"],
        [shim, "delete videojobs.reel.dev -n media", "no"],
        [shim, "patch videojobs.reel.dev --subresource=status -n media", "no"],
        [shim, "list secrets -n media", "no"],
        [shim, "create events -n media", "no"],
        [shim, "list pods -n media", "no"],
        // node probe
        [probe, "get nodes", "yes"],
        [probe, "patch nodes", "yes"],
        [probe, "list nodes", "no"],
        [probe, "delete nodes", "no"],
        [probe, "get secrets -n media", "no"],
        [probe, "get pods -n reel-system", "no"],
        // watchNamespace: Roles in media only
        [scopedOp, "create jobs.batch -n media", "yes"],
        [scopedOp, "create jobs.batch -n tv", "no"],
        [scopedOp, "get secrets -n tv", "no"],
        [scopedOp, "watch nodes", "yes"],
        [scopedOp, "create leases.coordination.k8s.io -n scoped-system", "yes"],
        [scopedShim, "create videojobs.reel.dev -n media", "yes"],
        [scopedShim, "create videojobs.reel.dev -n tv", "no"],
      ])("%s: can-i %s -> %s", async (sa, args, want) => {
        expect(await can(sa, args.split(" "))).toBe(want);
      });
    });
  },
);

// ---- images ----------------------------------------------------------------------------------------

const hadolint = join(
  process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel"),
  "hadolint-venv",
  "bin",
  "hadolint",
);
const hasHadolint = existsSync(hadolint);
const dockerfiles = {
  worker: "worker-image/Dockerfile",
  operator: "operator/Dockerfile",
  shim: "api-shim/Dockerfile",
} as const;
/** The stages of a Dockerfile, each from its FROM line on. */
const stages = (file: string) =>
  readFileSync(join(root, file), "utf8")
    .split(/^(?=FROM )/m)
    .filter((s) => s.startsWith("FROM "));

describe("images: worker-image/, operator/ and api-shim/Dockerfile", () => {
  it.skipIf(!hasHadolint)(
    skipped("pass hadolint 2.15.1 with no finding", hasHadolint, "hadolint not installed; run scripts/bootstrap.sh"),
    async () => {
      const files = Object.values(dockerfiles).map((f) => join(root, f));
      const r = await run(hadolint, ["--no-color", ...files]).catch((e: { stdout?: string; message: string }) => ({
        stdout: e.stdout ?? e.message,
      }));
      expect(r.stdout.trim()).toBe("");
    },
  );

  it.each(Object.entries(dockerfiles))(
    "%s: a Debian 12 slim runtime stage as uid 10001, OCI labels, no build tools, sources, secrets or npm",
    (name, file) => {
      const all = stages(file);
      const final = all.at(-1) ?? "";
      // the bases are build arguments (e2e/images/build.sh passes local ones); their defaults are these
      const text = readFileSync(join(root, file), "utf8");
      expect(text).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm$/m);
      expect(text).toMatch(/^ARG RUST_IMAGE=rust:\d+\.\d+\.\d+-bookworm$/m);
      expect(text).toMatch(/^ARG DEBIAN_IMAGE=debian:12-slim$/m);
      expect(all.some((s) => /^FROM \$\{NODE_IMAGE\} AS builder\n/.test(s))).toBe(true);
      expect(final).toMatch(/^FROM \$\{DEBIAN_IMAGE\}\n/);
      expect(final).toMatch(/^USER 10001:10001$/m);
      for (const label of ["title", "description", "version", "revision", "licenses", "source"]) {
        expect(final).toContain(`org.opencontainers.image.${label}=`);
      }
      // what the final stage takes from the builder: Node and /app, nothing else
      const fromBuilder = [...final.matchAll(/^COPY --from=builder (\S+)/gm)].map((m) => m[1]);
      expect(fromBuilder).toEqual(["/usr/local/bin/node", "/app"]);
      expect(final).not.toMatch(/build-essential|gcc|cargo|rustup|\bnpm\b|\bgit\b|ARG .*(TOKEN|SECRET|PASSWORD)/i);
      expect(final).not.toMatch(/^COPY (?!--from=)/m); // no files from the build context
      const entry = {
        worker: '["reel"]',
        operator: '["node", "operator/src/main.ts"]',
        shim: '["node", "api-shim/src/main.ts"]',
      };
      expect(final).toContain(`ENTRYPOINT ${entry[name as keyof typeof entry]}`);
    },
  );

  it("worker: ffmpeg from Debian, yt-dlp from requirements.txt by hash in a venv without pip, reel on PATH", () => {
    const all = stages(dockerfiles.worker);
    const ytdlp = all.find((s) => /^FROM \$\{DEBIAN_IMAGE\} AS ytdlp\n/.test(s)) ?? "";
    expect(ytdlp).toContain("--require-hashes -r /tmp/requirements.txt");
    expect(ytdlp).toContain("pip uninstall -y");
    const final = all.at(-1) ?? "";
    expect(final).toMatch(/apt-get install -y --no-install-recommends ffmpeg /);
    expect(final).toContain("COPY --from=ytdlp /opt/yt-dlp /opt/yt-dlp");
    expect(final).toContain("exec node /app/worker-image/src/cli/main.ts");
    expect(final).toContain("REEL_CACHE_DIR=/scratch");
    expect(readFileSync(join(root, "worker-image", "requirements.txt"), "utf8")).toMatch(
      /^yt-dlp==\S+ --hash=sha256:/m,
    );
  });

  it(".dockerignore keeps build outputs, node_modules, tests and secrets out of the context", () => {
    const ignore = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
    for (const p of [
      ".git",
      "**/node_modules",
      "**/target",
      "crates/node/*.node",
      "**/*.test.ts",
      "**/.env",
      "**/*.key",
    ]) {
      expect(ignore).toContain(p);
    }
  });

  it("every package the entrypoints load is a production dependency (the images run npm prune --omit=dev)", () => {
    const manifests = ["package.json", "crds", "worker-image", "operator", "api-shim", "crates/node"].map((d) =>
      JSON.parse(readFileSync(join(root, d.endsWith(".json") ? d : join(d, "package.json")), "utf8")),
    ) as Array<{ name: string; dependencies?: Record<string, string>; exports?: Record<string, unknown> }>;
    const prod = new Set(manifests.flatMap((m) => Object.keys(m.dependencies ?? {})));
    const workspaces = new Map(
      ["crds", "worker-image", "operator", "api-shim", "crates/node"].map((d, i) => [manifests[i + 1]?.name, d]),
    );
    const entries = [
      "worker-image/src/cli/main.ts",
      "operator/src/main.ts",
      "api-shim/src/main.ts",
      "api-shim/src/admin.ts",
      "api-shim/src/webhooks/index.ts", // loaded by path (api-shim/src/main.ts)
    ].map((f) => join(root, f));
    const seen = new Set<string>();
    const external = new Map<string, string>();
    const importRe =
      /^\s*import\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|^\s*export\s+(?!type\s)[^"';]*?\sfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
    const workspaceEntry = (spec: string): string | undefined => {
      const [scope, name, ...rest] = spec.split("/");
      const dir = workspaces.get(`${scope}/${name}`);
      if (!dir) return undefined;
      const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
        exports: Record<string, unknown>;
      };
      const e = pkg.exports[rest.length ? `./${rest.join("/")}` : "."];
      const target = typeof e === "string" ? e : (e as { default: string }).default;
      return join(root, dir, target);
    };
    const queue = [...entries];
    while (queue.length) {
      const file = queue.pop() as string;
      if (seen.has(file) || !existsSync(file)) continue;
      seen.add(file);
      for (const m of readFileSync(file, "utf8").matchAll(importRe)) {
        const spec = (m[1] ?? m[2] ?? m[3]) as string;
        if (spec.startsWith("node:") || builtinModules.includes(spec)) continue;
        if (spec.startsWith(".")) queue.push(resolve(dirname(file), spec));
        else if (spec.startsWith("@reel/")) {
          const entry = workspaceEntry(spec);
          expect(entry, `${spec} imported by ${file}`).toBeDefined();
          queue.push(entry as string);
        } else {
          const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string);
          if (!external.has(pkg)) external.set(pkg, file.slice(root.length + 1));
        }
      }
    }
    expect(seen.size).toBeGreaterThan(50);
    const notProd = [...external].filter(([pkg]) => !prod.has(pkg)).map(([pkg, by]) => `${pkg} (imported by ${by})`);
    expect(notProd).toEqual([]);
    expect([...external.keys()]).toEqual(
      expect.arrayContaining(["fastify", "@aws-sdk/client-s3", "prom-client", "zod"]),
    );
  });
});
