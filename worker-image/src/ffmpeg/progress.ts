// ffmpeg's `-progress pipe:1` writes blocks of key=value lines, each block closed by a
// `progress=continue` or `progress=end` line. Parsing is pure so it can be table-tested.

export interface ProgressEvent {
  frame: number | undefined;
  fps: number | undefined;
  /** Output position in seconds (from out_time_us; ffmpeg writes N/A before the first frame). */
  outTimeSecs: number | undefined;
  /** Encoding speed as a multiple of real time ("2.5x" -> 2.5). */
  speed: number | undefined;
  /** 0..100 when the duration is known. */
  percent: number | undefined;
  done: boolean;
}

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number.parseFloat(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Turns one finished block of key=value pairs into an event. */
export function progressFromBlock(block: ReadonlyMap<string, string>, durationSecs?: number): ProgressEvent {
  const outUs = num(block.get("out_time_us") ?? block.get("out_time_ms"));
  // out_time_us is negative before the first frame with some inputs; clamp to 0.
  const outTimeSecs = outUs === undefined ? undefined : Math.max(0, outUs / 1e6);
  const done = block.get("progress") === "end";
  let percent: number | undefined;
  if (done) percent = 100;
  else if (durationSecs !== undefined && durationSecs > 0 && outTimeSecs !== undefined) {
    percent = Math.min(100, (outTimeSecs / durationSecs) * 100);
  }
  const speedRaw = block.get("speed");
  return {
    frame: num(block.get("frame")),
    fps: num(block.get("fps")),
    outTimeSecs,
    speed: speedRaw === undefined ? undefined : num(speedRaw.replace(/x$/, "")),
    percent,
    done,
  };
}

/** A stream parser: feed it stdout chunks, it calls `onEvent` once per completed block. */
export function createProgressParser(
  onEvent: (event: ProgressEvent) => void,
  durationSecs?: number,
): { push(chunk: string): void } {
  let pending = "";
  let block = new Map<string, string>();
  return {
    push(chunk: string) {
      pending += chunk;
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
        const eq = line.indexOf("=");
        if (eq <= 0) continue;
        const key = line.slice(0, eq).trim();
        block.set(key, line.slice(eq + 1).trim());
        if (key === "progress") {
          onEvent(progressFromBlock(block, durationSecs));
          block = new Map();
        }
      }
    },
  };
}
