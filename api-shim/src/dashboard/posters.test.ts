// The job page's poster links (public/posters.js), tested in Node against the shim's route shape.
import { describe, expect, it } from "vitest";
import { posterPath } from "../../public/posters.js";
import { episodeIndexParam, jobIdParam } from "../api/params.ts";

describe("episode poster links", () => {
  it("asks the poster route by the job's uid (else its name) and the episode's index from 0", () => {
    expect(posterPath({ id: "s1", uid: "0b0e6c1c-52a4-4cb4-9b4e-1d1f6f0b9a11" }, 0)).toBe(
      "/jobs/0b0e6c1c-52a4-4cb4-9b4e-1d1f6f0b9a11/episodes/0/poster",
    );
    expect(posterPath({ id: "s 1" }, 12)).toBe("/jobs/s%201/episodes/12/poster");
  });

  it("names what the shim's path checks accept", () => {
    const [, id, n] = /^\/jobs\/([^/]+)\/episodes\/([^/]+)\/poster$/.exec(posterPath({ id: "season-1" }, 3)) ?? [];
    expect(jobIdParam(id ?? "")).toBe("season-1");
    expect(episodeIndexParam(n ?? "")).toBe(3);
    expect(() => episodeIndexParam("-1")).toThrow(/episode index/);
  });
});
