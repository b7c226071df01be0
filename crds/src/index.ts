export { videoJobCrd } from "./crd.ts";
export {
  COOKIES_DIR,
  COOKIES_FILE,
  COOKIES_PATH,
  cookiesSecretName,
  episodeNeedsCookies,
  type SourceRoute,
  sourceRoute,
} from "./cookies.ts";
export { badInputCodes, type ErrorCode, errorCodes, isBadInput, isErrorCode, ReelError } from "./errors.ts";
export {
  type OutputSettings,
  parseBytes,
  parsePublicBaseUrl,
  parseRetention,
  parseSse,
  publicUrl,
  type ServerSideEncryption,
} from "./output-settings.ts";
export {
  MAX_MANIFEST_BYTES,
  type ParseOptions,
  parseVideoJob,
  parseManifestDocument,
  parseVideoJobManifest,
  readManifestDocument,
  readVideoJobManifest,
  unknownSpecFields,
  VideoJobInvalidError,
} from "./parse.ts";
export * from "./contract/listing.ts";
export {
  applyExpansion,
  type ExpandedEpisode,
  findPlaylists,
  listedPlaylists,
  MAX_EPISODES,
  type PlaylistAt,
  type PlaylistEntry,
  playlistEpisodes,
  recordExpansion,
  replacePlaylists,
  withStandIns,
} from "./playlist.ts";
export { redactText, redactUrls, urlSecrets } from "./redact.ts";
export { type Rule, rules } from "./rules.ts";
export * from "./schema.ts";
export * from "./worker-result.ts";
export { FINALIZER, FINALIZER_POLICY, finalizerPolicy } from "./policy.ts";
export * from "./contract/index.ts";
export { type FailedEpisode, failedEpisodesSummary } from "./failures.ts";
export { credentialEnvNames, isS3Url, parseS3Url, type S3SourceRef, s3SourceOf } from "./s3-source.ts";
export {
  DEFAULT_UPLOAD_PREFIX,
  isUploadId,
  UPLOAD_ID_PATTERN,
  UPLOADS_ANNOTATION,
  uploadObjectKey,
  uploadsOf,
} from "./upload-source.ts";
