// `npm test`: installs what is missing (scripts/bootstrap.sh), then lint and type-check, the Rust
// suites and the Vitest suites, stopping at the first failure. Runs on the machine's own Node too,
// so a fresh clone can start with it.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };

function step(title, cmd, args) {
  console.log(`\n\u001b[1m== ${title}\u001b[0m`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`\n${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

if (!process.argv.includes("--no-bootstrap")) step("bootstrap", "bash", ["scripts/bootstrap.sh"]);
step("lint", "npm", ["run", "--silent", "lint"]);
step("rust tests", "cargo", ["test", "--manifest-path", "crates/Cargo.toml", "--workspace", "--release"]);
step("vitest", "npx", ["vitest", "run"]);
