// A container's environment as the kubelet builds it: envFrom first, then env in order (a later
// name wins), `$(VAR)` expanded against what is defined so far, values from Secrets, ConfigMaps and
// the downward API (fieldRef). A missing Secret/ConfigMap or key that is not optional stops the
// container from starting, as the kubelet's CreateContainerConfigError does.
import type { Container, Pod } from "./types.ts";

export interface EnvSources {
  /** The Secret's data, decoded; undefined when it does not exist. */
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** The kubelet's CreateContainerConfigError: the container cannot start until the reference resolves. */
export class ContainerConfigError extends Error {
  readonly reason = "CreateContainerConfigError";
}

/**
 * `$(NAME)` replaced by NAME's value when NAME is defined, `$$` by `$`; anything else kept as it is
 * (Kubernetes' expansion.MappingFuncFor, used for env values, command and args).
 */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === "$$") return "$";
    return name !== undefined && Object.hasOwn(vars, name) ? (vars[name] as string) : m;
  });
}

/** The value of a downward-API fieldPath (the ones a kubelet supports for env). */
export function fieldValue(pod: Pod, fieldPath: string, hostIP = ""): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2] as string] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.hostIP":
      return hostIP;
    case "status.podIP":
      return pod.status?.podIP ?? "";
    default:
      throw new ContainerConfigError(`unsupported fieldPath ${fieldPath}`);
  }
}

export async function resolveEnv(
  pod: Pod,
  container: Container,
  sources: EnvSources,
  opts: { hostIP?: string } = {},
): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace;
  const out: Record<string, string> = {};
  const load = async (kind: "Secret" | "ConfigMap", name: string, optional: boolean | undefined) => {
    const data = kind === "Secret" ? await sources.secret(ns, name) : await sources.configMap(ns, name);
    if (!data && !optional) throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
    return data;
  };
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref) continue;
    const data = await load(from.secretRef ? "Secret" : "ConfigMap", ref.name, ref.optional);
    for (const [k, v] of Object.entries(data ?? {})) out[`${from.prefix ?? ""}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      out[e.name] = expand(e.value ?? "", out);
      continue;
    }
    const keyRef = vf.secretKeyRef ?? vf.configMapKeyRef;
    if (keyRef) {
      const kind = vf.secretKeyRef ? "Secret" : "ConfigMap";
      const data = await load(kind, keyRef.name, keyRef.optional);
      const v = data?.[keyRef.key];
      if (v === undefined) {
        if (keyRef.optional) continue;
        throw new ContainerConfigError(`couldn't find key ${keyRef.key} in ${kind} ${ns}/${keyRef.name}`);
      }
      out[e.name] = v;
    } else if (vf.fieldRef) {
      out[e.name] = fieldValue(pod, vf.fieldRef.fieldPath, opts.hostIP);
    } else {
      throw new ContainerConfigError(`env ${e.name}: resourceFieldRef is not supported by the harness`);
    }
  }
  return out;
}
