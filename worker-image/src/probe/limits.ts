// What a source may claim before Reel refuses it. Limits protect the worker's memory and time
// from hostile or broken headers; the operator can raise them.
export interface MediaLimits {
  maxWidth: number;
  maxHeight: number;
  maxDurationSecs: number;
  maxStreams: number;
}

export const defaultMediaLimits: MediaLimits = {
  maxWidth: 8192,
  maxHeight: 8192,
  maxDurationSecs: 12 * 3600,
  maxStreams: 16,
};
