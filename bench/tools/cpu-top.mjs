#!/usr/bin/env node
// Where a `node --cpu-prof` profile spent its time: the functions with the most self time, and the
// same summed per package (node_modules/<pkg>, node:internal, the repo's own directories).
//   node bench/tools/cpu-top.mjs PROFILE.cpuprofile [N]
// A .cpuprofile is V8's: nodes (a call tree with callFrame { functionName, url, lineNumber }),
// samples (the leaf node id of each sample) and timeDeltas (microseconds since the previous sample).
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Where a script URL belongs: a package under node_modules, node's own code, or a repo directory. */
export function packageOf(url) {
  if (!url) return "(native)";
  if (url.startsWith("node:")) return "node:internal";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = path.slice(nm + "/node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? "(node_modules)");
  }
  if (path.startsWith(repoRoot)) return relative(repoRoot, path).split("/").slice(0, 2).join("/");
  return path;
}

function shortUrl(url) {
  if (!url) return "";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) return path.slice(nm + "/node_modules/".length);
  return path.startsWith(repoRoot) ? relative(repoRoot, path) : path;
}

/**
 * Self time per function and per package, in milliseconds, most first. `(idle)` is left out of the
 * percentages (a server waiting for the next request is not busy); `(program)` and
 * `(garbage collector)` stay in.
 */
export function topSelfTime(profile, n = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fns = new Map();
  const pkgs = new Map();
  let busyUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame ?? { functionName: "?", url: "", lineNumber: -1 };
    const name = cf.functionName || "(anonymous)";
    if (name === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : "";
    const key = `${name}\t${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const pkg = cf.url ? packageOf(cf.url) : name.startsWith("(") ? name : "(native)";
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
  }
  const rank = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ key: k, ms: Math.round(us / 100) / 10, pct: Math.round((1000 * us) / busyUs) / 10 }));
  return {
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    functions: rank(fns).map(({ key, ...r }) => {
      const [name, where] = key.split("\t");
      return { name, where, ...r };
    }),
    packages: rank(pkgs).map(({ key, ...r }) => ({ package: key, ...r })),
  };
}

if (import.meta.main) {
  const [file, n = "25"] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node bench/tools/cpu-top.mjs PROFILE.cpuprofile [N]\n");
    process.exit(2);
  }
  const t = topSelfTime(JSON.parse(readFileSync(file, "utf8")), Number(n));
  const out = [`busy ${t.busyMs} ms (idle ${t.idleMs} ms left out)`, "", "self ms     %  function  (where)"];
  for (const f of t.functions)
    out.push(`${String(f.ms).padStart(7)} ${String(f.pct).padStart(5)}  ${f.name}  ${f.where}`);
  out.push("", "self ms     %  package");
  for (const p of t.packages) out.push(`${String(p.ms).padStart(7)} ${String(p.pct).padStart(5)}  ${p.package}`);
  process.stdout.write(`${out.join("\n")}\n`);
}
