// Runs every tool once per round, reversing the order on odd rounds so no tool
// always goes first (cold caches) or last (a machine warmed by the others).
import { makeRow } from "./report.mjs";

/**
 * @param {{ rounds: number, tools: { name: string, run: (round: number) => Promise<{ value: number, rssMb: number|null, extra?: object }> }[],
 *           log?: (msg: string) => void }} spec
 * @returns {Promise<Map<string, { samples: object[], errors: string[] }>>}
 */
export async function runRounds({ rounds, tools, log = () => {} }) {
  const results = new Map(tools.map((t) => [t.name, { samples: [], errors: [] }]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? tools : [...tools].reverse();
    for (const tool of order) {
      const slot = results.get(tool.name);
      if (slot.disabled) continue;
      try {
        const sample = await tool.run(r);
        slot.samples.push(sample);
        log(
          `round ${r + 1}/${rounds} ${tool.name}: ${fmt(sample.value)}${sample.rssMb ? `, ${fmt(sample.rssMb)} MiB RSS` : ""}`,
        );
      } catch (err) {
        slot.errors.push(err.message ?? String(err));
        log(`round ${r + 1}/${rounds} ${tool.name}: ERROR ${err.message ?? err}`);
        // A missing tool fails the same way every round: say it once.
        if (err.fatalForTool) slot.disabled = true;
      }
    }
  }
  return results;
}

/** Rows in the tools' declared order; extra(name, slot) adds per-tool fields. */
export function rowsFrom(results, extra = () => ({})) {
  return [...results].map(([name, slot]) => makeRow(name, slot.samples, slot.errors, extra(name, slot)));
}

function fmt(v) {
  return Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : String(v);
}
