// The facts of the three images as built (facts.json, written by `build.sh ci|all|facts`): each runs
// as 10001 with a read-only root, holds what its Dockerfile says it does, and the worker completes a
// whole job that way. .ci/run builds the images first and sets REEL_IMAGES_REQUIRE=1: there a missing
// facts.json, or one from another commit, fails; elsewhere the file skips, saying why.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";

const root = join(import.meta.dirname, "..", "..");
const cacheDir = process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel");
const factsPath = join(cacheDir, "images", "facts.json");
const required = Boolean(process.env.REEL_IMAGES_REQUIRE);

const ImageFacts = z.object({
  bytes: z.number(),
  layers: z.number(),
  user: z.string(),
  revision: z.string().optional(),
  contents: z.array(z.string()),
  readOnlyRun: z.object({ result: z.string(), tail: z.array(z.string()) }),
});
const Facts = z.object({ worker: ImageFacts, operator: ImageFacts, shim: ImageFacts });

const MiB = 1 << 20;
// what a run that got past its imports may stop at; these would mean a broken image instead
const brokenImage = /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_DLOPEN|EROFS|read-only file system|EACCES/i;

function load(): z.infer<typeof Facts> | undefined {
  if (!existsSync(factsPath)) {
    if (required) throw new Error(`${factsPath} missing: run bash e2e/images/build.sh ci`);
    console.warn(`[images facts] SKIPPED: ${factsPath} missing (bash e2e/images/build.sh builds the images)`);
    return undefined;
  }
  return Facts.parse(JSON.parse(readFileSync(factsPath, "utf8")));
}

const facts = load();
const head = execFileSync("git", ["-C", root, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
const ytDlpPin = /^yt-dlp==(\S+)/m.exec(readFileSync(join(root, "worker-image", "requirements.txt"), "utf8"))?.[1];

describe.skipIf(!facts)("the three images as built (facts.json)", () => {
  const all = facts ? (["worker", "operator", "shim"] as const).map((n) => [n, facts[n]] as const) : [];

  it.runIf(required)("were built from the commit under test", () => {
    for (const [, f] of all) expect(f.revision).toBe(head);
  });

  it.each(all)("%s runs as 10001 with a read-only root, Node 24.21.0 and the Rust addon loading", (_, f) => {
    expect(f.user).toBe("10001:10001");
    expect(f.contents).toContain("uid 10001");
    expect(f.contents).toContain("root mounted ro");
    expect(f.contents).toContain("node v24.21.0");
    expect(f.contents.find((l) => l.startsWith("addon:"))).toMatch(
      /^addon: hashFile blake3:[0-9a-f]{12}…, \d+ error codes$/,
    );
    expect(f.layers).toBeGreaterThan(1);
  });

  it("worker: Debian's ffmpeg, the pinned yt-dlp, reel-child, and reel demo to the merged file with a read-only root", () => {
    const w = facts?.worker;
    expect(w?.contents.find((l) => l.includes("ffmpeg"))).toMatch(
      /^\/usr\/bin\/ffmpeg: ffmpeg version 5\.1\.\d+-\S+deb12/,
    );
    expect(w?.contents).toContain(`yt-dlp ${ytDlpPin}`);
    expect(w?.contents).toContain("reel-child: present");
    expect(w?.readOnlyRun.result).toBe("demo ok");
    expect(w?.readOnlyRun.tail.join("\n")).toMatch(/merged \(2 chapters\): \/scratch\/demo\/reel-demo\.mp4/);
    expect(w?.bytes).toBeLessThan(1600 * MiB);
  });

  it.each(all.filter(([n]) => n !== "worker"))(
    "%s: no ffmpeg or yt-dlp, and its entrypoint gets past every import before stopping at the missing cluster",
    (_, f) => {
      expect(f.contents).toContain("ffmpeg: none");
      expect(f.contents).toContain("yt-dlp: none");
      expect(f.readOnlyRun.tail.join("\n")).not.toMatch(brokenImage);
      expect(f.bytes).toBeLessThan(600 * MiB);
    },
  );
});

// The SBOMs `build.sh ci|all|sbom` writes with the pinned syft (e2e/images/build-syft.sh): one SPDX
// 2.3 and one CycloneDX document per image, read here as a user's scanner would read them.
const sbomDir = join(cacheDir, "images", "sbom");
const SpdxPackage = z.object({
  name: z.string(),
  versionInfo: z.string().optional(),
  externalRefs: z.array(z.object({ referenceType: z.string(), referenceLocator: z.string() })).optional(),
});
const Spdx = z.object({
  spdxVersion: z.string(),
  name: z.string(),
  creationInfo: z.object({ creators: z.array(z.string()) }),
  packages: z.array(SpdxPackage),
});
type Sbom = {
  spdx: z.infer<typeof Spdx>;
  cdx: { bomFormat?: string; metadata?: { component?: { version?: string } } };
};

function loadSbom(name: string): Sbom | undefined {
  const spdxPath = join(sbomDir, `reel-${name}.spdx.json`);
  if (!existsSync(spdxPath)) {
    if (required) throw new Error(`${spdxPath} missing: run bash e2e/images/build.sh ci`);
    console.warn(`[images sbom] SKIPPED: ${spdxPath} missing (bash e2e/images/build.sh sbom makes it)`);
    return undefined;
  }
  const spdx = Spdx.parse(JSON.parse(readFileSync(spdxPath, "utf8")));
  return { spdx, cdx: JSON.parse(readFileSync(join(sbomDir, `reel-${name}.cdx.json`), "utf8")) };
}

const purls = (s: Sbom) =>
  s.spdx.packages
    .flatMap((p) => (p.externalRefs ?? []).filter((r) => r.referenceType === "purl"))
    .map((r) => r.referenceLocator);
const kindCount = (s: Sbom, kind: string) => purls(s).filter((p) => p.startsWith(`pkg:${kind}/`)).length;
const sboms = (["worker", "operator", "shim"] as const).map((n) => [n, loadSbom(n)] as const);

describe.skipIf(sboms.some(([, s]) => !s))("an SBOM per image (syft, SPDX 2.3 and CycloneDX)", () => {
  const all = sboms.map(([n, s]) => [n, s as Sbom] as const);

  it.each(all)(
    "%s: made by the pinned syft, naming the image and its commit, listing Debian and npm packages",
    (name, s) => {
      expect(s.spdx.spdxVersion).toBe("SPDX-2.3");
      expect(s.spdx.name).toBe(`reel-${name}`);
      expect(s.spdx.creationInfo.creators).toContain("Tool: syft-1.57.2");
      expect(s.cdx.bomFormat).toBe("CycloneDX");
      if (required) expect(s.cdx.metadata?.component?.version).toBe(head);
      expect(kindCount(s, "deb")).toBeGreaterThan(50);
      expect(kindCount(s, "npm")).toBeGreaterThan(100);
      expect(purls(s)).toContain("pkg:generic/node@24.21.0");
    },
  );

  it("worker: Debian's ffmpeg at the version the image runs, and yt-dlp at the pin", () => {
    const w = all.find(([n]) => n === "worker")?.[1] as Sbom;
    const ran = /ffmpeg version (\S+)/.exec(
      facts?.worker.contents.find((l) => l.includes("ffmpeg version")) ?? "",
    )?.[1];
    const deb = purls(w).find((p) => p.startsWith("pkg:deb/debian/ffmpeg@"));
    expect(deb).toBeDefined();
    if (ran) expect(decodeURIComponent(deb ?? "")).toContain(`@7:${ran}?`);
    expect(purls(w)).toContain(`pkg:pypi/yt-dlp@${ytDlpPin}`);
  });

  it.each(all.filter(([n]) => n !== "worker"))("%s: no ffmpeg or yt-dlp package", (_, s) => {
    expect(purls(s).filter((p) => /\/(ffmpeg|yt-dlp)@/.test(p))).toEqual([]);
  });
});
