// Level L5: the worker image itself, in a real container. e2e/l5/run.sh joins a real kubelet
// (v1.37.2) with containerd 1.6 + runc from Debian to the L3 control plane, and runs one episode Job
// planned by the operator's planEpisodeJobs on it. Skips, saying why, where `run.sh check` says the
// machine cannot (not root, no containerd, kubelet or image base built, no cgroups/overlayfs, ...);
// REEL_L5_REQUIRE=1 turns that skip into a failure.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartSkipReason, chartSuite } from "./chart.suite.ts";

const run = promisify(execFile);
const script = join(import.meta.dirname, "run.sh");

function check(): string | undefined {
  try {
    execFileSync("bash", [script, "check"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return undefined;
  } catch (e) {
    const out = ((e as { stdout?: string }).stdout ?? "").trim();
    return out.split("\n").join("; ") || (e as Error).message;
  }
}

const why = check();
if (why && process.env.REEL_L5_REQUIRE) throw new Error(`[l5.e2e.test] cannot run: ${why}`);
if (why) console.warn(`[l5.e2e.test] SKIPPED: ${why}`);
// the chart part also needs helm v4 and the Dockerfiles' images (e2e/images/build.sh)
const chartWhy = why ?? chartSkipReason();
if (chartWhy && !why && process.env.REEL_L5_REQUIRE) throw new Error(`[l5.e2e.test] chart: cannot run: ${chartWhy}`);

async function sh(args: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run("bash", [script, ...args], { timeout, maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`run.sh ${args.join(" ")} failed: ${err.message}\n${err.stderr ?? ""}\n${err.stdout ?? ""}`);
  }
}

type Node = {
  metadata: { name: string; annotations?: Record<string, string> };
  status: {
    nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
    conditions: Array<{ type: string; status: string }>;
  };
};

/** What up changes on the host and down must put back (the kubelet writes sysctls and iptables chains). */
async function hostState(): Promise<string> {
  const out: string[] = [];
  for (const k of ["vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops", "net.ipv4.ip_forward"]) {
    out.push(`${k}=${(await run("sysctl", ["-n", k])).stdout.trim()}`);
  }
  for (const cmd of ["iptables", "ip6tables"]) {
    for (const table of ["filter", "nat", "mangle"]) {
      out.push(
        await run(cmd, ["-t", table, "-S"]).then(
          (r) => r.stdout,
          () => `${cmd} -t ${table}: none`,
        ),
      );
    }
  }
  return out.join("\n");
}

describe.skipIf(why !== undefined)("level L5: a real kubelet and containerd run the worker image", () => {
  let kubeconfig = "";
  let kubectl = "";
  let before = "";

  beforeAll(async () => {
    before = await hostState();
    // the worker layer is rebuilt from the cached base when the app changed (no network; < 1 min)
    await sh(["image"], 300_000);
    const up = await sh(["up"], 240_000);
    kubeconfig = up.stdout.trim().split("\n").at(-1) ?? "";
    kubectl = join(
      execFileSync("bash", [join(import.meta.dirname, "..", "scripts", "build-k8s.sh"), "--print-bin"], {
        encoding: "utf8",
      }).trim(),
      "kubectl",
    );
  }, 600_000);

  afterAll(async () => {
    await sh(["down"], 120_000);
  }, 180_000);

  it("registers a real Node: the kubelet v1.37.2 on containerd, Ready", async () => {
    const { stdout } = await run(kubectl, ["--kubeconfig", kubeconfig, "get", "node", "reel-l5", "-o", "json"]);
    const node = JSON.parse(stdout) as Node;
    expect(node.status.nodeInfo.kubeletVersion).toBe("v1.37.2");
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(node.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(node.metadata.annotations?.["kwok.x-k8s.io/node"]).toBeUndefined();
  });

  it("runs the operator's episode Job in a container of the worker image and reports through the termination message", async () => {
    const { stdout } = await sh(["pod"], 360_000);
    const r = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    expect(r.node).toBe("reel-l5");
    expect(r.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(r.image).toBe("reel.local/reel-worker:l5");
    expect(r.exitCode).toBe(0);
    expect(r.reason).toBe("Completed");
    // the worker's one-line JSON result, read back by the kubelet from /dev/termination-log
    expect(r.result).toMatchObject({ mode: "episode", index: 0, phase: "Completed", encoder: "libx264" });
    expect(r.result.quality.ssim).toBeGreaterThan(0.9);
    expect(r.result.staged).toMatch(/^s3:\/\/videos\/.+\/\.reel-staging\/[0-9a-f-]{36}\/ep0\.mp4$/);
    const staged = r.objects.find((o: { key: string }) => r.result.staged.endsWith(o.key));
    expect(staged?.size).toBe(r.result.bytesOutput);
  }, 400_000);

  describe.skipIf(chartWhy !== undefined)(
    `the chart, installed with helm from the Dockerfiles' images${chartWhy ? ` (SKIPPED: ${chartWhy})` : ""}`,
    () =>
      chartSuite(
        () => ({ kubeconfig, kubectl }),
        (line) => console.log(line),
      ),
  );

  it("down stops what up started and puts the machine back (bridge, iptables chains, sysctls)", async () => {
    await sh(["down"], 120_000);
    const procs = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(procs).not.toMatch(/\/l5\/state\/(containerd|kubelet)/);
    expect(procs).not.toMatch(/containerd-shim-runc-v2 .*\/run\/reel-l5/);
    expect(() => execFileSync("ip", ["link", "show", "reel-l5br"], { stdio: "ignore" })).toThrow();
    const mounts = execFileSync("cat", ["/proc/mounts"], { encoding: "utf8" });
    expect(mounts).not.toMatch(/\/l5\/state\/|\/run\/reel-l5/);
    expect(await hostState()).toBe(before);
  }, 180_000);
});
