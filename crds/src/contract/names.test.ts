import { describe, expect, it } from "vitest";
import { thumbnailSheetLocations, thumbnailSheetName, thumbnailsVttName } from "./names.ts";

describe("seek-thumbnail names", () => {
  it("names the index and its sheets after the output's stem", () => {
    expect(thumbnailsVttName("Season 1")).toBe("Season 1-thumbs.vtt");
    expect(thumbnailSheetName("Season 1", 1)).toBe("Season 1-thumbs-001.jpg");
    expect(thumbnailSheetName("Season 1", 12)).toBe("Season 1-thumbs-012.jpg");
  });

  it("finds every sheet's location from the index's location, and none from anything else", () => {
    expect(thumbnailSheetLocations("s3://videos/a/Season 1-thumbs.vtt", 2)).toEqual([
      "s3://videos/a/Season 1-thumbs-001.jpg",
      "s3://videos/a/Season 1-thumbs-002.jpg",
    ]);
    expect(thumbnailSheetLocations("s3://videos/a/Season 1.mp4", 2)).toEqual([]);
  });
});
