// Cross-field rules. Each is written twice on purpose, side by side: as CEL for the API server
// (x-kubernetes-validations, so kubectl and GitOps users get the message at apply time) and as a
// TypeScript check for `reel run` and the REST shim, which validate before any server sees the job.
import type { VideoJobSpec } from "./schema.ts";

export interface Rule {
  /** Where the CEL rule is attached, as a path of property names from spec. */
  at: string[];
  cel: string;
  message: string;
  /** A transition rule (uses oldSelf): only the API server can check it. */
  transition?: boolean;
  check?: (spec: VideoJobSpec) => boolean;
}

export const rules: Rule[] = [
  {
    at: ["output"],
    cel: "[has(self.s3), has(self.volume), has(self.local)].filter(x, x).size() == 1",
    message: "output must name exactly one of s3, volume or local",
    check: (s) => [s.output.s3, s.output.volume, s.output.local].filter((x) => x !== undefined).length === 1,
  },
  {
    at: ["gpu"],
    cel: "!(self.policy == 'off' && has(self.vendor))",
    message: "gpu.vendor cannot be set when gpu.policy is off",
    check: (s) => !(s.gpu.policy === "off" && s.gpu.vendor !== undefined),
  },
  {
    at: ["compression"],
    cel: "!has(self.targetQuality) || self.targetQuality.metric != 'ssim' || self.targetQuality.score <= 1.0",
    message: "an SSIM target is a score between 0 and 1, e.g. 0.98",
    check: (s) => s.compression.targetQuality?.metric !== "ssim" || s.compression.targetQuality.score <= 1,
  },
  {
    at: [],
    cel: "!has(self.hdr) || self.hdr != 'keep' || (self.codec in ['hevc', 'av1'] && self.gpu.policy != 'require')",
    message: "hdr: keep needs codec hevc or av1, encoded on the CPU (gpu.policy off or auto)",
    check: (s) => s.hdr !== "keep" || ((s.codec === "hevc" || s.codec === "av1") && s.gpu.policy !== "require"),
  },
  {
    at: [],
    cel: "!has(oldSelf.cancel) || !oldSelf.cancel || self.cancel",
    message: "a cancelled VideoJob cannot be resumed; create a new one",
    transition: true,
  },
  {
    at: ["episodes"],
    cel: "self == oldSelf",
    message: "episodes cannot change after creation; create a new VideoJob",
    transition: true,
  },
];
