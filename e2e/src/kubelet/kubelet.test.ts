// The kubelet harness's pure parts: env resolution, the image/command mapping, status building.
import { describe, expect, it } from "vitest";
import { ContainerStartError, containerArgv, type LocalImage, pathMapper, processSpec } from "./command.ts";
import { ContainerConfigError, expand, type EnvSources, fieldValue, resolveEnv } from "./env.ts";
import { workerImage } from "./images.ts";
import { exitCodeOf, podStatus, terminationMessage } from "./status.ts";
import type { Container, Pod } from "./types.ts";

const container = (c: Partial<Container> = {}): Container => ({
  name: "worker",
  image: "ghcr.io/reel-dev/reel-worker:0.1.0",
  ...c,
});
const pod = (c: Partial<Container> = {}, status?: Pod["status"]): Pod => ({
  metadata: {
    name: "season-1-ep0-abcde",
    namespace: "media",
    uid: "0f6c2b1e-1111-2222-3333-444455556666",
    labels: { "reel.dev/episode": "0" },
    annotations: { "reel.dev/trace-id": "t1" },
  },
  spec: { nodeName: "nvidia-2", restartPolicy: "Never", containers: [container(c)] },
  ...(status ? { status } : {}),
});
const sources = (
  secrets: Record<string, Record<string, string>> = {},
  maps: Record<string, Record<string, string>> = {},
): EnvSources => ({
  secret: async (ns, name) => secrets[`${ns}/${name}`],
  configMap: async (ns, name) => maps[`${ns}/${name}`],
});

describe("env resolution", () => {
  it("resolves value, secretKeyRef, configMapKeyRef and fieldRef in order, a later name winning", async () => {
    const p = pod({
      envFrom: [{ configMapRef: { name: "defaults" }, prefix: "CM_" }],
      env: [
        { name: "REEL_MODE", value: "episode" },
        { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "s3-creds", key: "accessKeyId" } } },
        { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "defaults", key: "level" } } },
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "EP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['reel.dev/episode']" } } },
        { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
        { name: "REEL_MODE", value: "merge" },
      ],
    });
    const env = await resolveEnv(
      p,
      p.spec.containers[0] as Container,
      sources({ "media/s3-creds": { accessKeyId: "AK" } }, { "media/defaults": { level: "5" } }),
      { hostIP: "10.0.0.7" },
    );
    expect(env).toEqual({
      CM_level: "5",
      REEL_MODE: "merge",
      AWS_ACCESS_KEY_ID: "AK",
      LEVEL: "5",
      POD_NAME: "season-1-ep0-abcde",
      NODE: "nvidia-2",
      EP: "0",
      HOST: "10.0.0.7",
    });
  });

  it("expands $(VAR) from earlier variables, keeps unknown references and unescapes $$", async () => {
    expect(expand("$(A)/x/$(B)/$$(A)", { A: "a" })).toBe("a/x/$(B)/$(A)");
    const p = pod({
      env: [
        { name: "A", value: "/scratch" },
        { name: "B", value: "$(A)/tmp" },
        { name: "C", value: "$(D)" },
        { name: "D", value: "d" },
      ],
    });
    expect(await resolveEnv(p, p.spec.containers[0] as Container, sources())).toEqual({
      A: "/scratch",
      B: "/scratch/tmp",
      C: "$(D)",
      D: "d",
    });
  });

  it("refuses to start without a Secret or key that is not optional, and skips optional ones", async () => {
    const missingSecret = pod({ env: [{ name: "K", valueFrom: { secretKeyRef: { name: "nope", key: "k" } } }] });
    await expect(resolveEnv(missingSecret, missingSecret.spec.containers[0] as Container, sources())).rejects.toThrow(
      ContainerConfigError,
    );
    const missingKey = pod({ env: [{ name: "K", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] });
    await expect(
      resolveEnv(missingKey, missingKey.spec.containers[0] as Container, sources({ "media/s": {} })),
    ).rejects.toThrow(/couldn't find key k in Secret media\/s/);
    const optional = pod({
      env: [{ name: "K", valueFrom: { secretKeyRef: { name: "nope", key: "k", optional: true } } }],
    });
    expect(await resolveEnv(optional, optional.spec.containers[0] as Container, sources())).toEqual({});
  });

  it("reads the downward API's fields and refuses others", () => {
    const p = pod();
    expect(fieldValue(p, "metadata.namespace")).toBe("media");
    expect(fieldValue(p, "metadata.uid")).toBe(p.metadata.uid);
    expect(fieldValue(p, "metadata.annotations['reel.dev/trace-id']")).toBe("t1");
    expect(fieldValue(p, "spec.serviceAccountName")).toBe("default");
    expect(() => fieldValue(p, "spec.containers")).toThrow(ContainerConfigError);
  });
});

describe("command mapping", () => {
  const image: LocalImage = {
    matches: (i) => i.startsWith("img:"),
    entrypoint: ["reel"],
    cmd: ["--help"],
    env: { HOME: "/scratch", PATH: "/usr/bin" },
    workingDir: "/app",
    programs: { reel: ["/opt/node", "/repo/cli/main.ts"] },
  };

  it("combines command/args with ENTRYPOINT/CMD the way Kubernetes defines it", () => {
    expect(containerArgv({}, image, {})).toEqual(["reel", "--help"]);
    expect(containerArgv({ args: ["worker"] }, image, {})).toEqual(["reel", "worker"]);
    expect(containerArgv({ command: ["reel", "worker"] }, image, {})).toEqual(["reel", "worker"]);
    expect(containerArgv({ command: ["reel"], args: ["$(MODE)"] }, image, { MODE: "worker" })).toEqual([
      "reel",
      "worker",
    ]);
  });

  it("runs the operator's `reel worker` as node worker-image/src/cli/main.ts worker, with paths mapped to host dirs", () => {
    const c = container({ command: ["reel", "worker"] });
    const spec = processSpec(
      c,
      image,
      {
        REEL_CACHE_DIR: "/scratch",
        REEL_TERMINATION_LOG: "/dev/termination-log",
        REEL_STAGING: "s3://videos/x/",
        HOME: "/home/x",
      },
      { "/scratch": "/tmp/pod/scratch", "/dev/termination-log": "/tmp/pod/termination-log" },
    );
    expect(spec).toEqual({
      argv: ["/opt/node", "/repo/cli/main.ts", "worker"],
      env: {
        HOME: "/home/x", // the container's env wins over the image's
        PATH: "/usr/bin",
        REEL_CACHE_DIR: "/tmp/pod/scratch",
        REEL_TERMINATION_LOG: "/tmp/pod/termination-log",
        REEL_STAGING: "s3://videos/x/",
      },
      cwd: "/app",
    });
    expect(() => processSpec(container({ command: ["sh", "-c", "x"] }), image, {}, {})).toThrow(ContainerStartError);
  });

  it("maps a path equal to or under a mount (the longest first), nothing that only shares a prefix", () => {
    const map = pathMapper({ "/output": "/h/out", "/output/deep/": "/h/deep" });
    expect(map("/output")).toBe("/h/out");
    expect(map("/output/a.mp4")).toBe("/h/out/a.mp4");
    expect(map("/output/deep/x")).toBe("/h/deep/x");
    expect(map("/outputs")).toBe("/outputs");
  });

  it("knows the worker image by repository with any tag or digest", () => {
    const w = workerImage({ node: "/n/bin/node", ytDlpBin: "/v/bin" });
    expect(w.matches("ghcr.io/reel-dev/reel-worker:0.1.0")).toBe(true);
    expect(w.matches("ghcr.io/reel-dev/reel-worker@sha256:ab")).toBe(true);
    expect(w.matches("ghcr.io/reel-dev/reel-worker-evil:1")).toBe(false);
    // Node first, yt-dlp's venv last (its bin also holds a static ffmpeg that must not shadow Debian's).
    expect(w.env.PATH?.split(":")).toEqual(["/n/bin", "/usr/local/bin", "/usr/bin", "/bin", "/v/bin"]);
    expect(w.programs.reel?.[1]).toMatch(/worker-image\/src\/cli\/main\.ts$/);
  });
});

describe("status building", () => {
  const o = { now: "2026-11-25T10:00:05Z", containerID: "reel-kubelet://u", hostIP: "10.0.0.7" };
  const scheduled = {
    conditions: [{ type: "PodScheduled", status: "True" as const, lastTransitionTime: "2026-11-25T10:00:00Z" }],
  };

  it("reports Running with a running, ready container and keeps PodScheduled", () => {
    const s = podStatus(pod({}, scheduled), { state: "running", startedAt: "2026-11-25T10:00:01Z" }, o);
    expect(s.phase).toBe("Running");
    expect(s.containerStatuses?.[0]).toMatchObject({
      name: "worker",
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: "2026-11-25T10:00:01Z" } },
    });
    expect(Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]))).toEqual({
      PodScheduled: "True",
      PodReadyToStartContainers: "True",
      Initialized: "True",
      Ready: "True",
      ContainersReady: "True",
    });
    expect(s.hostIP).toBe("10.0.0.7");
  });

  it("reports a failed run as phase Failed with the exit code, reason Error and the message the Job controller reads", () => {
    const s = podStatus(
      pod(),
      { state: "terminated", exitCode: 2, message: '{"phase":"Failed"}', startedAt: "a", finishedAt: "b" },
      o,
    );
    expect(s.phase).toBe("Failed");
    expect(s.containerStatuses?.[0]?.state.terminated).toEqual({
      exitCode: 2,
      reason: "Error",
      message: '{"phase":"Failed"}',
      startedAt: "a",
      finishedAt: "b",
      containerID: "reel-kubelet://u",
    });
    expect(s.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "PodCompleted" });
    const ok = podStatus(pod(), { state: "terminated", exitCode: 0, finishedAt: "b" }, o);
    expect(ok.phase).toBe("Succeeded");
    expect(ok.containerStatuses?.[0]?.state.terminated?.reason).toBe("Completed");
  });

  it("reports a killed process as 128+signal, and a waiting container as Pending", () => {
    expect(exitCodeOf(null, "SIGKILL")).toBe(137);
    expect(exitCodeOf(null, "SIGTERM")).toBe(143);
    expect(exitCodeOf(3, null)).toBe(3);
    const killed = podStatus(pod(), { state: "terminated", exitCode: 137, signal: "SIGKILL", finishedAt: "b" }, o);
    expect(killed.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 137,
      signal: 9,
      reason: "Error",
    });
    const waiting = podStatus(
      pod(),
      { state: "waiting", reason: "CreateContainerConfigError", message: "secret x" },
      o,
    );
    expect(waiting.phase).toBe("Pending");
    expect(waiting.containerStatuses?.[0]?.state).toEqual({
      waiting: { reason: "CreateContainerConfigError", message: "secret x" },
    });
  });

  it("keeps a condition's transition time while its status holds", () => {
    const first = podStatus(pod(), { state: "running", startedAt: "a" }, { ...o, now: "T1" });
    const again = podStatus(pod({}, first), { state: "running", startedAt: "a" }, { ...o, now: "T2" });
    expect(again.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime).toBe("T1");
    expect(again.startTime).toBe("T1");
  });

  it("takes the termination message from the file, else the log's tail on failure with FallbackToLogsOnError", () => {
    expect(terminationMessage({ file: "x".repeat(5000), logs: "", exitCode: 0 })).toHaveLength(4096);
    expect(terminationMessage({ file: "", logs: "a\nb\n", exitCode: 1, policy: "FallbackToLogsOnError" })).toBe("a\nb");
    expect(terminationMessage({ file: "", logs: "a\nb\n", exitCode: 1, policy: "File" })).toBe("");
    expect(terminationMessage({ file: "", logs: "a\n", exitCode: 0, policy: "FallbackToLogsOnError" })).toBe("");
    const long = Array.from({ length: 200 }, (_, i) => `line ${i}`).join("\n");
    const tail = terminationMessage({ file: "", logs: long, exitCode: 1, policy: "FallbackToLogsOnError" });
    expect(tail.split("\n")).toHaveLength(80);
    expect(tail.endsWith("line 199")).toBe(true);
  });
});
