// `run.sh pod`: one worker episode in a real container on the L5 node.
// The VideoJob CR is created on the apiserver (so its uid is real and the Job's owner reference
// holds), the Job is planned by the operator's own planEpisodeJobs and written with Server-Side Apply
// under `reel-operator`, exactly as the operator would; the only change is imagePullPolicy Never (the
// image was imported into containerd, there is no registry). The source (a 2 s clip made by ffmpeg)
// and versitygw listen on the pod bridge's host address, the one address pods reach the host by, and
// REEL_EGRESS_ALLOW opens that subnet, as the operator's --egress-allow flag would.
// Prints one JSON line: the pod's terminated state, its parsed termination message and the staged
// objects in S3. Exit 0 only when the worker succeeded and its output is in S3.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { planEpisodeJobs } from "../../operator/src/plan/jobs.ts";
import { serveDir } from "../../worker-image/src/cli/serve.ts";

const run = promisify(execFile);
const { values: a } = parseArgs({
  options: {
    kubeconfig: { type: "string" },
    kubectl: { type: "string" },
    image: { type: "string" },
    host: { type: "string" },
    state: { type: "string" },
    node: { type: "string" },
    timeout: { type: "string", default: "300" },
  },
});
const NS = "reel-l5";
const log = (m: string) => process.stderr.write(`[l5 pod] ${m}\n`);

async function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      a.kubectl as string,
      ["--kubeconfig", a.kubeconfig as string, ...args],
      { maxBuffer: 64 << 20 },
      (err, out, errOut) =>
        err ? reject(new Error(`kubectl ${args.join(" ")}: ${errOut || err.message}`)) : resolve(out),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const dir = await mkdtemp(join(a.state as string, "pod-"));
const stops: Array<() => Promise<void>> = [];
try {
  // the source: 2 s of 320x240 with a tone, as e2e/l4/media.ts makes them
  await mkdir(join(dir, "src", "show"), { recursive: true });
  await run("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    join(dir, "src", "show", "ep1.mp4"),
  ]);
  const source = await serveDir(join(dir, "src"), { host: a.host as string });
  stops.push(source.close);
  log(`source ${source.origin}/show/ep1.mp4`);

  // versitygw (e2e/scripts/build-tools.sh), its POSIX backend in the state dir
  const { freePort } = await import("../src/services/index.ts");
  const { versitygwPath } = await import("../src/services/s3.ts");
  const port = await freePort();
  await mkdir(join(dir, "s3"));
  const creds = { accessKeyId: "reell5access", secretAccessKey: "reell5secret0123456789" };
  const gw = spawn(versitygwPath(), ["--port", `${a.host}:${port}`, "posix", join(dir, "s3")], {
    env: { ...process.env, ROOT_ACCESS_KEY: creds.accessKeyId, ROOT_SECRET_KEY: creds.secretAccessKey },
    stdio: "ignore",
  });
  stops.push(async () => {
    gw.kill("SIGTERM");
  });
  const endpoint = `http://${a.host}:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(endpoint);
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...creds } });
  await s3.send(new CreateBucketCommand({ Bucket: "videos" }));
  log(`S3 ${endpoint} bucket videos`);

  // namespace, the job's Secret, the PriorityClass the chart installs, the CRD; then the VideoJob
  const crd = join(import.meta.dirname, "..", "..", "crds", "generated", "videojob.crd.yaml");
  await kubectl(["apply", "--server-side", "-f", crd]);
  // kubectl wait fails at once ("accessor error: <nil>") while the new CRD has no conditions yet
  for (let i = 0; ; i++) {
    try {
      await kubectl(["wait", "--for=condition=Established", "crd/videojobs.reel.dev", "--timeout=60s"]);
      break;
    } catch (e) {
      if (i >= 40 || !String(e).includes("accessor error")) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await kubectl(["create", "namespace", NS, "--dry-run=client", "-o", "yaml"]).then((y) =>
    kubectl(["apply", "-f", "-"], y),
  );
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "reel-normal" },
      value: 0,
      description: "Reel workers, normal priority (as charts/reel installs it)",
    }),
  );
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s3-creds", namespace: NS },
      stringData: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    }),
  );
  const name = `l5-${Date.now().toString(36)}`;
  const vj = {
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: NS },
    spec: {
      episodes: [{ url: `${source.origin}/show/ep1.mp4`, title: "Pilot" }],
      quality: "480p",
      codec: "h264",
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: `${name}/`, endpoint, credentialsSecret: "s3-creds" } },
    },
  };
  await kubectl(["apply", "-f", "-"], JSON.stringify(vj));
  const job = JSON.parse(await kubectl(["get", "videojob", "-n", NS, name, "-o", "json"]));
  log(`VideoJob ${NS}/${name} uid ${job.metadata.uid}`);

  // the operator's plan for episode 0 on the nodes the operator would see
  const nodes = JSON.parse(await kubectl(["get", "nodes", "-o", "json"])).items.map(
    (n: { metadata: { name: string; labels: Record<string, string> }; spec: { unschedulable?: boolean } }) => ({
      name: n.metadata.name,
      labels: n.metadata.labels,
      unschedulable: n.spec.unschedulable,
    }),
  );
  const [planned] = planEpisodeJobs(job, nodes, new Map(), {
    image: a.image as string,
    backoffLimit: 0,
    activeDeadlineSeconds: Number(a.timeout),
    ttlSecondsAfterFinished: 3600,
    egressAllow: [`${(a.host as string).split(".").slice(0, 3).join(".")}.0/24`],
  });
  if (!planned?.job) throw new Error(`no Job planned: ${JSON.stringify(planned?.refused)}`);
  const kjob = planned.job;
  const template = kjob.spec.template as { spec: { containers: Array<Record<string, unknown>> } };
  for (const c of template.spec.containers) c.imagePullPolicy = "Never";
  await kubectl(["apply", "--server-side", "--field-manager=reel-operator", "-f", "-"], JSON.stringify(kjob));
  log(`Job ${NS}/${kjob.metadata.name} applied (planEpisodeJobs, placement: ${planned.placement?.reason})`);

  // wait for the pod to terminate
  const deadline = Date.now() + Number(a.timeout) * 1000;
  type PodJson = {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: {
      phase: string;
      containerStatuses?: Array<{
        containerID?: string;
        image?: string;
        state: { terminated?: Record<string, unknown>; waiting?: { reason?: string; message?: string } };
      }>;
    };
  };
  let pod: PodJson | undefined;
  let last = "";
  for (;;) {
    const pods = JSON.parse(
      await kubectl(["get", "pods", "-n", NS, "-l", `job-name=${kjob.metadata.name}`, "-o", "json"]),
    ).items as PodJson[];
    pod = pods[0];
    const waiting = pod?.status.containerStatuses?.[0]?.state.waiting;
    const now = `${pod?.metadata.name ?? "-"} ${pod?.status.phase ?? "-"} ${pod?.spec.nodeName ?? "-"} ${waiting?.reason ?? ""}`;
    if (now !== last) log(`pod ${now}${waiting?.message ? `: ${waiting.message}` : ""}`);
    last = now;
    if (pod?.status.containerStatuses?.[0]?.state.terminated) break;
    if (Date.now() > deadline) {
      const events = await kubectl(["get", "events", "-n", NS, "--sort-by=.lastTimestamp"]);
      throw new Error(`pod not terminated after ${a.timeout}s; events:\n${events}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const terminated = pod.status.containerStatuses?.[0]?.state.terminated as {
    exitCode: number;
    reason: string;
    message?: string;
  };
  let result: unknown;
  try {
    result = JSON.parse(terminated.message ?? "");
  } catch {
    result = terminated.message;
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "videos", Prefix: `${name}/` }));
  const objects = (listed.Contents ?? []).map((o) => ({ key: o.Key, size: o.Size }));
  // the container's log as the kubelet wrote it (podLogsDir); `kubectl logs` would need the apiserver
  // to hold a kubelet client certificate, which the L3 control plane does not configure
  const logDir = join(a.state as string, "pod-logs");
  const podDir = (await readdir(logDir)).find((d) => d.startsWith(`${NS}_${pod?.metadata.name}_`));
  const logs = podDir ? await readFile(join(logDir, podDir, "worker", "0.log"), "utf8").catch(() => "") : "";
  log(`container log (last lines):\n${logs.trim().split("\n").slice(-4).join("\n")}`);
  process.stdout.write(
    `${JSON.stringify({
      pod: pod.metadata.name,
      node: pod.spec.nodeName,
      containerID: pod.status.containerStatuses?.[0]?.containerID,
      image: pod.status.containerStatuses?.[0]?.image,
      exitCode: terminated.exitCode,
      reason: terminated.reason,
      result,
      objects,
    })}\n`,
  );
  await kubectl(["delete", "videojob", "-n", NS, name, "--wait=false"]).catch(() => {});
  process.exitCode = terminated.exitCode === 0 && objects.length > 0 ? 0 : 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
}
