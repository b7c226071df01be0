import { describe, expect, it } from "vitest";
import {
  episodePosterLocation,
  episodePosterName,
  posterLocation,
  posterName,
  thumbnailSheetLocations,
  thumbnailSheetName,
  thumbnailsVttName,
} from "./names.ts";

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

describe("episode poster names", () => {
  it("names each episode's poster after the merged file's stem, counted from 1", () => {
    expect(episodePosterName("Season 1", 0)).toBe("Season 1-ep001-poster.jpg");
    expect(episodePosterName("Season 1", 499)).toBe("Season 1-ep500-poster.jpg");
  });

  it("finds a poster's location from the merged file's location, and none from anything else", () => {
    expect(episodePosterLocation("s3://videos/a/Season 1.mp4", 2)).toBe("s3://videos/a/Season 1-ep003-poster.jpg");
    expect(episodePosterLocation("pvc://media/out/s.mp4", 0)).toBe("pvc://media/out/s-ep001-poster.jpg");
    expect(episodePosterLocation("s3://videos/a/Season 1-thumbs.vtt", 0)).toBeUndefined();
  });

  it("names an episode's own file's poster after that file (merge off)", () => {
    expect(posterName("s1-001-Pilot")).toBe("s1-001-Pilot-poster.jpg");
    expect(posterLocation("s3://videos/a/s1-001-Pilot.mp4")).toBe("s3://videos/a/s1-001-Pilot-poster.jpg");
    expect(posterLocation("s3://videos/a/s1-thumbs.vtt")).toBeUndefined();
  });
});
