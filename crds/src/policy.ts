// The finalizer every VideoJob carries, and the MutatingAdmissionPolicy (admissionregistration.k8s.io/v1,
// evaluated in the apiserver with CEL; no webhook) that adds it when a VideoJob is created. With the
// policy installed (the chart does), the operator never spends a write on adding the finalizer; without
// it, the operator adds the finalizer itself before a VideoJob's first Job (decide.ts).
export const FINALIZER = "reel.dev/cleanup";
export const FINALIZER_POLICY = "reel-videojob-finalizer";

export function finalizerPolicy(): Array<Record<string, unknown>> {
  const expression = [
    "has(object.metadata.finalizers) ?",
    `  (object.metadata.finalizers.exists(f, f == "${FINALIZER}") ? [] :`,
    `    [JSONPatch{op: "add", path: "/metadata/finalizers/-", value: "${FINALIZER}"}]) :`,
    `  [JSONPatch{op: "add", path: "/metadata/finalizers", value: ["${FINALIZER}"]}]`,
  ].join("\n");
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingAdmissionPolicy",
      metadata: { name: FINALIZER_POLICY },
      spec: {
        matchConstraints: {
          resourceRules: [
            { apiGroups: ["reel.dev"], apiVersions: ["*"], operations: ["CREATE"], resources: ["videojobs"] },
          ],
        },
        // Ignore: a broken policy must never block VideoJobs; the operator adds the finalizer then.
        failurePolicy: "Ignore",
        reinvocationPolicy: "Never",
        mutations: [{ patchType: "JSONPatch", jsonPatch: { expression } }],
      },
    },
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingAdmissionPolicyBinding",
      metadata: { name: FINALIZER_POLICY },
      spec: { policyName: FINALIZER_POLICY },
    },
  ];
}
