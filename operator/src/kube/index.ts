// The Kubernetes client pieces other programs share (the REST shim watches VideoJobs the same way).
export { ApiError, FIELD_MANAGER, KubeApi, type KubeObject, loadKubeConfig, resourcePath } from "./api.ts";
export { type ChangeKind, GVK, type Gvk, Informer, objectKey } from "./informer.ts";
