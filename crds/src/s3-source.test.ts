import { describe, expect, it } from "vitest";
import { parseVideoJob } from "./parse.ts";
import { parseS3Url, s3SourceOf } from "./s3-source.ts";

const job = (spec: object) =>
  parseVideoJob({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name: "j" }, spec }).spec;

const outS3 = {
  s3: { bucket: "out", endpoint: "https://s3.example.com", region: "eu-1", credentialsSecret: "out-keys" },
};

describe("s3SourceOf", () => {
  it("takes each field from the episode, else spec.sources.s3, else the output", () => {
    const spec = job({
      episodes: [
        { url: "s3://media/a b/ep1.mp4" },
        { url: "s3://media/ep2.mp4", s3: { region: "us-west-2" } },
        { url: "s3://other/ep3.mkv", s3: { credentialsSecret: "media-keys", endpoint: "http://10.0.0.5:9000" } },
      ],
      sources: { s3: { region: "eu-2" } },
      output: outS3,
    });
    expect(s3SourceOf(spec, 0)).toEqual({
      bucket: "media",
      key: "a b/ep1.mp4",
      endpoint: "https://s3.example.com",
      region: "eu-2",
      credentialsSecret: "out-keys",
      credentialsEnv: "AWS",
    });
    expect(s3SourceOf(spec, 1).region).toBe("us-west-2");
    expect(s3SourceOf(spec, 2)).toMatchObject({
      bucket: "other",
      endpoint: "http://10.0.0.5:9000",
      credentialsSecret: "media-keys",
      credentialsEnv: "REEL_SOURCE_AWS",
    });
  });

  it("uses the AWS_* keys for the source's own Secret when the output is not S3", () => {
    const spec = job({
      episodes: [{ url: "s3://media/ep.mp4", s3: { credentialsSecret: "media-keys" } }],
      output: { volume: { claimName: "out" } },
    });
    expect(s3SourceOf(spec, 0)).toMatchObject({ credentialsSecret: "media-keys", credentialsEnv: "AWS" });
  });
});

describe("s3:// episodes in the schema", () => {
  it("accepts s3://bucket/key and refuses other schemes and a bucket without a key", () => {
    expect(job({ episodes: [{ url: "s3://media/k.mp4" }], output: outS3 }).episodes[0]?.url).toBe("s3://media/k.mp4");
    expect(() => job({ episodes: [{ url: "s3://media" }], output: outS3 })).toThrow(/s3:\/\/bucket\/key/);
    expect(() => job({ episodes: [{ url: "ftp://h/k.mp4" }], output: outS3 })).toThrow(/s3:\/\/bucket\/key/);
    expect(() => job({ episodes: [{ url: "s3://m/k", s3: { secret: "x" } }], output: outS3 })).toThrow(/secret/);
  });

  it("splits an s3 URL at its first slash", () => {
    expect(parseS3Url("s3://b/k/x y.mp4")).toEqual({ bucket: "b", key: "k/x y.mp4" });
    expect(() => parseS3Url("https://b/k")).toThrow(/REEL_JOB_INVALID|s3:\/\/bucket\/key/);
  });
});
