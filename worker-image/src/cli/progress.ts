// Live progress: one bar per episode (stage and percent) plus merge and upload bars on a TTY;
// one line per phase change when the output is not a terminal (logs, CI).
import cliProgress from "cli-progress";
import type { JobEvent } from "../pipeline/events.ts";
import { printable } from "./format.ts";

export interface Progress {
  on(e: JobEvent): void;
  stop(): void;
}

export function progress(rawTitles: string[], stream: NodeJS.WriteStream = process.stderr): Progress {
  // Titles, details and notes come from the manifest or a source: inert before any is drawn.
  const titles = rawTitles.map((t) => printable(t));
  if (!stream.isTTY) return lines(titles, stream);
  const width = Math.min(28, Math.max(...titles.map((t) => t.length), 6));
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: `{title} {bar} {percentage}% {phase} {detail}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const pad = (t: string) => (t.length > width ? `${t.slice(0, width - 1)}…` : t.padEnd(width));
  const bars = titles.map((t) => multi.create(100, 0, { title: pad(t), phase: "Pending", detail: "" }));
  let merge: cliProgress.SingleBar | undefined;
  let store: cliProgress.SingleBar | undefined;
  return {
    on(e) {
      if (e.type === "episode")
        bars[e.index]?.update(e.progress, { phase: e.phase, detail: printable(e.detail ?? "") });
      else if (e.type === "episode-done") {
        const s = e.status;
        bars[e.index]?.update(s.phase === "Completed" ? 100 : (bars[e.index]?.getProgress() ?? 0) * 100, {
          phase: s.phase,
          detail: printable(s.error ? s.error.code : (s.encoder ?? "")),
        });
      } else if (e.type === "merge") {
        merge ??= multi.create(100, 0, { title: pad("merge"), phase: "Merging", detail: "" });
        merge.update(e.progress);
      } else if (e.type === "store") {
        store ??= multi.create(100, 0, { title: pad("store"), phase: "Storing", detail: "" });
        store.update(e.progress);
      } else if (e.type === "note") multi.log(`${e.level}: ${printable(e.message)}\n`);
    },
    stop: () => multi.stop(),
  };
}

function lines(titles: string[], stream: NodeJS.WriteStream): Progress {
  const last = new Map<number, string>();
  return {
    on(e) {
      if (e.type === "episode" && last.get(e.index) !== e.phase) {
        last.set(e.index, e.phase);
        stream.write(`episode ${e.index + 1} (${titles[e.index]}): ${e.phase}\n`);
      } else if (e.type === "episode-done") {
        const s = e.status;
        stream.write(`episode ${e.index + 1} (${titles[e.index]}): ${s.phase}${s.error ? ` ${s.error.code}` : ""}\n`);
      } else if (e.type === "note") stream.write(`${e.level}: ${printable(e.message)}\n`);
    },
    stop() {},
  };
}
