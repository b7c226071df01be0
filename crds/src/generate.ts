// Writes generated/videojob.crd.yaml and generated/types.ts from the zod schema, and
// generated/videojob-finalizer-policy.yaml from policy.ts.
// `node src/generate.ts` writes them; `node src/generate.ts --check` exits 1 when they are stale.
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";
import { stringify } from "yaml";
import { z } from "zod";
import { videoJobCrd } from "./crd.ts";
import { finalizerPolicy } from "./policy.ts";
import { VideoJob } from "./schema.ts";

const HEADER = "Generated from crds/src/schema.ts by `npm run generate -w @reel/crds`. Do not edit.";
const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "generated");
/** The chart ships the same CRD (Helm installs charts/<name>/crds/ first): written with it, never by hand. */
const chartCrd = join(dir, "..", "..", "charts", "reel", "crds", "videojob.crd.yaml");

export async function render(): Promise<Record<string, string>> {
  const crd = `# ${HEADER}\n${stringify(videoJobCrd(), { lineWidth: 0, version: "1.1" })}`;
  const jsonSchema = z.toJSONSchema(VideoJob, { io: "output" });
  const types = await compile(jsonSchema as Parameters<typeof compile>[0], "VideoJob", {
    bannerComment: `// ${HEADER}`,
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
  });
  const policy = `# ${HEADER.replace("schema.ts", "policy.ts")}\n${finalizerPolicy()
    .map((doc) => stringify(doc, { lineWidth: 0, version: "1.1" }))
    .join("---\n")}`;
  return { "videojob.crd.yaml": crd, "videojob-finalizer-policy.yaml": policy, "types.ts": types };
}

async function main() {
  const check = process.argv.includes("--check");
  const files = await render();
  let stale = false;
  const targets: Array<[string, string]> = Object.entries(files).map(([name, content]) => [join(dir, name), content]);
  targets.push([chartCrd, files["videojob.crd.yaml"] ?? ""]);
  for (const [path, content] of targets) {
    const current = await readFile(path, "utf8").catch(() => "");
    if (current === content) continue;
    if (check) {
      console.error(`${path} is stale: run npm run generate -w @reel/crds`);
      stale = true;
    } else {
      await writeFile(path, content);
      console.log(`wrote ${path}`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
