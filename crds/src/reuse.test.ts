import { describe, expect, it } from "vitest";
import { encodeSettings, requestKey, reuseKey, settingsHash, sourceValidator } from "./reuse.ts";
import { VideoJobSpec } from "./schema.ts";

const spec = VideoJobSpec.parse({
  episodes: [{ url: "https://cdn.example.com/ep1.mp4" }],
  output: { s3: { bucket: "media", credentialsSecret: "s3-creds" } },
});

describe("reuse keys", () => {
  it("keys a tone-mapped and an HDR10 encode of one source apart", () => {
    expect(settingsHash(spec)).not.toBe(settingsHash({ ...spec, hdr: "keep" }));
    expect(encodeSettings(spec).hdr).toBe("tonemap");
  });

  it("ignores what does not shape the bytes: output, tags, priority, merge", () => {
    const other = { ...spec, tags: ["x"], priority: "high" as const, merge: { ...spec.merge, enabled: false } };
    expect(settingsHash(other)).toBe(settingsHash(spec));
  });

  it("changes with quality, codec, compression and audio", () => {
    const base = settingsHash(spec);
    expect(settingsHash({ ...spec, quality: "1080p" })).not.toBe(base);
    expect(settingsHash({ ...spec, codec: "hevc" })).not.toBe(base);
    expect(settingsHash({ ...spec, compression: { preset: "balanced", level: 6 } })).not.toBe(base);
    expect(settingsHash({ ...spec, audio: { ...spec.audio, layout: "5.1" } })).not.toBe(base);
  });

  it("a changed validator or URL gives another reuse key; the request key ignores the validator", () => {
    const url = "https://cdn.example.com/ep1.mp4";
    const a = reuseKey(url, 'etag "1" length 10', spec);
    expect(reuseKey(url, 'etag "1" length 10', spec)).toBe(a);
    expect(reuseKey(url, 'etag "2" length 10', spec)).not.toBe(a);
    expect(reuseKey(url, 'etag "1" length 11', spec)).not.toBe(a);
    expect(reuseKey(`${url}?v=2`, 'etag "1" length 10', spec)).not.toBe(a);
    const tagged: VideoJobSpec = { ...spec, tags: ["y"] };
    expect(requestKey(url, spec)).toBe(requestKey(url, tagged));
  });
});

describe("sourceValidator", () => {
  it.each([
    [{ etag: '"abc"', length: 10 }, 'etag "abc" length 10'],
    [
      { etag: 'W/"abc"', lastModified: "Tue, 01 Dec 2026 10:00:00 GMT", length: 10 },
      "last-modified Tue, 01 Dec 2026 10:00:00 GMT length 10",
    ],
    [
      { lastModified: "Tue, 01 Dec 2026 10:00:00 GMT", length: 0 },
      "last-modified Tue, 01 Dec 2026 10:00:00 GMT length 0",
    ],
    [{ etag: 'W/"abc"', length: 10 }, undefined],
    [{ etag: '"abc"' }, undefined],
    [{ length: 10 }, undefined],
    [{ etag: '"abc"', length: -1 }, undefined],
  ])("%j -> %s", (answer, expected) => {
    expect(sourceValidator(answer)).toBe(expected);
  });
});
