// A segment pod: one pod of a split episode's Indexed Job (see split.ts). Encodes the staged segment
// JOB_COMPLETION_INDEX with the episode's settings through the same stages as an episode, then
// stages the encoded segment and its record (record last).
import { join } from "node:path";
import { ReelError, type SegmentOutcome } from "@reel/crds";
import { stagingKey, type PodContext } from "./episode.ts";
import type { SegmentEnv } from "./env.ts";
import { putJson } from "./staging.ts";
import {
  type SegmentRecord,
  type SplitRecord,
  segmentFile,
  segmentRecordFile,
  segmentSourceFile,
  splitRecordFile,
} from "./split.ts";

export async function runSegmentPod(env: SegmentEnv, ctx: PodContext): Promise<SegmentOutcome> {
  const { index } = env.episode;
  const k = env.segment;
  const { log, staging, stages, signal } = ctx;
  const split = await staging.readJson<SplitRecord>(splitRecordFile(index), signal);
  const key = stagingKey(env);
  if (!split || split.stagingKey !== key) {
    throw new ReelError(
      "REEL_STAGING_MISSING",
      `episode ${index + 1} has no split record for these settings at ${staging.locate(splitRecordFile(index))}`,
    );
  }
  const segment = split.segments[k];
  if (!segment || segment.index !== k) {
    throw new ReelError(
      "REEL_WORKER_ENV_INVALID",
      `JOB_COMPLETION_INDEX ${k} is out of range: episode ${index + 1} has ${split.segments.length} segments`,
    );
  }
  const done = await staging.readJson<SegmentRecord>(segmentRecordFile(index, k), signal);
  // A segment from an earlier attempt on another encoder is done again: one encoder per episode.
  const sameEncoder = !env.encoderHint || done?.encoder.startsWith(env.encoderHint);
  if (done?.stagingKey === key && done.sourceSha256 === segment.sha256 && sameEncoder) {
    log.info({ segment: k }, "segment already staged; nothing to do");
    return {
      mode: "segment",
      index,
      segment: k,
      phase: "Completed",
      reused: true,
      encoder: done.encoder,
      frames: done.frames,
    };
  }

  const dir = join(ctx.scratch, `seg${k}`);
  const source = await staging.materialise(segmentSourceFile(index, k), dir, signal);
  const sha = await stages.sha256(source);
  if (sha !== segment.sha256) {
    throw new ReelError(
      "REEL_CHECKSUM_MISMATCH",
      `segment ${k} of episode ${index + 1} does not match the split record`,
    );
  }
  // Segment pods publish no fine progress: many at once would overwrite the episode's one key. The
  // operator reports a split episode's progress from the Indexed Job's completed indexes.
  const report = (_stage: string, _phase: string) => ({ signal, progress: () => {} });
  log.info(
    { segment: k, of: split.segments.length, frames: segment.frames, encoderHint: env.encoderHint },
    "segment starting",
  );
  const probe = await stages.probe(source, report("probe", "Probing"));
  const output = join(dir, "encoded.mp4");
  const enc = await stages.encode(source, probe, output, env.job.spec, report("encode", "Transcoding"));
  const quality = enc.quality ?? (await stages.measure(source, output, probe, report("measure", "Measuring")));
  if (env.encoderHint && !enc.encoder.startsWith(env.encoderHint)) {
    log.warn({ encoder: enc.encoder, encoderHint: env.encoderHint }, "encoded with another encoder than planned");
  }
  const sha256 = await stages.sha256(output);
  await staging.put(output, segmentFile(index, k), { sha256, signal });
  const record: SegmentRecord = {
    v: 1,
    index,
    segment: k,
    stagingKey: key,
    sourceSha256: segment.sha256,
    sha256,
    encoder: enc.encoder,
    frames: segment.frames,
    quality,
  };
  await putJson(staging, ctx.scratch, segmentRecordFile(index, k), record);
  log.info({ segment: k, encoder: enc.encoder, ssim: quality.ssim }, "segment staged");
  return { mode: "segment", index, segment: k, phase: "Completed", encoder: enc.encoder, frames: segment.frames };
}
