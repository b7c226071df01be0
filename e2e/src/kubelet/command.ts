// What a container runtime would do with an image, done on this machine: the image's ENTRYPOINT,
// CMD, ENV and WORKDIR (from its Dockerfile) combined with the container's command and args the
// way Kubernetes defines it, then the program named by argv[0] mapped to the local program the
// image holds (`reel` -> `node worker-image/src/cli/main.ts`), and the container's paths (volume
// mounts, the termination message file) mapped to host directories, since there is no mount
// namespace to put them where the container expects them.
import { basename } from "node:path";
import { expand } from "./env.ts";
import type { Container } from "./types.ts";

/** An image as its Dockerfile describes it, with its programs found on this machine. */
export interface LocalImage {
  /** Does this image reference (repository:tag) name this image? */
  matches(image: string): boolean;
  entrypoint: string[];
  cmd: string[];
  /** The image's ENV (before the container's env, which wins). */
  env: Record<string, string>;
  workingDir?: string;
  /** Writable directories of the image's own filesystem (e.g. /scratch), each given a per-pod host
   *  directory when no volume is mounted there. */
  dirs?: string[];
  /** argv[0] (its basename) -> the local argv prefix that runs the same program. */
  programs: Record<string, string[]>;
}

/** The container could not be started (the runtime's StartError: exit 128). */
export class ContainerStartError extends Error {
  readonly reason = "StartError";
}

/**
 * The argv a runtime executes: `command` replaces the image's ENTRYPOINT (and then its CMD is not
 * used), `args` replaces CMD; `$(VAR)` in either is expanded from the container's environment.
 */
export function containerArgv(
  container: Pick<Container, "command" | "args">,
  image: LocalImage,
  env: Record<string, string>,
): string[] {
  const command = container.command?.length ? container.command : image.entrypoint;
  const args = container.args?.length ? container.args : container.command?.length ? [] : image.cmd;
  return [...command, ...args].map((a) => expand(a, env));
}

/** argv[0] replaced by the local program it names in the image. */
export function localArgv(argv: string[], image: LocalImage): string[] {
  const [first, ...rest] = argv;
  const program = first === undefined ? undefined : image.programs[basename(first)];
  if (!program)
    throw new ContainerStartError(`exec: "${first ?? ""}": executable file not found in the image's programs`);
  return [...program, ...rest];
}

/**
 * Maps container paths to host paths: a value equal to a mapped path, or under it, is rewritten
 * (the longest mapped path first). Other values are returned unchanged.
 */
export function pathMapper(map: Record<string, string>): (value: string) => string {
  const entries = Object.entries(map)
    .map(([from, to]) => [from.replace(/\/+$/, "") || "/", to] as const)
    .sort((a, b) => b[0].length - a[0].length);
  return (value) => {
    for (const [from, to] of entries) {
      if (value === from) return to;
      if (value.startsWith(`${from}/`)) return `${to}${value.slice(from.length)}`;
    }
    return value;
  };
}

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
}

/** Everything needed to spawn the container's process here. */
export function processSpec(
  container: Container,
  image: LocalImage,
  containerEnv: Record<string, string>,
  paths: Record<string, string>,
): ProcessSpec {
  const env = { ...image.env, ...containerEnv };
  const map = pathMapper(paths);
  const mappedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, map(v)]));
  const argv = localArgv(containerArgv(container, image, env), image).map(map);
  const workingDir = container.workingDir ?? image.workingDir;
  return { argv, env: mappedEnv, ...(workingDir ? { cwd: map(workingDir) } : {}) };
}
