import { describe, expect, it } from "vitest";
import { ReelError } from "../errors.ts";
import { AWS_STORAGE_CLASSES, parseStorageClass, STORAGE_CLASS_ENV, storageClassEnv } from "./storage-class.ts";

describe("parseStorageClass", () => {
  it.each(AWS_STORAGE_CLASSES.filter((c) => c !== "GLACIER" && c !== "DEEP_ARCHIVE"))("accepts AWS's %s", (c) => {
    expect(parseStorageClass(c)).toBe(c);
  });

  it("accepts another vendor's upper-case class and trims, and reads blank as the bucket's default", () => {
    expect(parseStorageClass(" COLDLINE ")).toBe("COLDLINE");
    expect(parseStorageClass("")).toBeUndefined();
    expect(parseStorageClass("  ")).toBeUndefined();
    expect(parseStorageClass()).toBeUndefined();
  });

  it.each([
    ["standard-ia", /did you mean STANDARD_IA\?/],
    ["Intelligent Tiering", /did you mean INTELLIGENT_TIERING\?/],
    ["STANDARD IA", /did you mean STANDARD_IA\?/],
    ["x-amz;evil", /use an S3 storage class name/],
    ["GLACIER", /cannot be downloaded until restored/],
    ["DEEP_ARCHIVE", /lifecycle rule/],
  ])("refuses %j with REEL_CONFIG_INVALID naming the variable", (text, why) => {
    let err: unknown;
    try {
      parseStorageClass(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReelError);
    expect((err as ReelError).code).toBe("REEL_CONFIG_INVALID");
    expect((err as Error).message).toMatch(new RegExp(`^${STORAGE_CLASS_ENV} is `));
    expect((err as Error).message).toMatch(why);
  });

  it("names the flag when the value came from one", () => {
    expect(() => parseStorageClass("standard_ia", "--storage-class")).toThrow(
      /^--storage-class is "standard_ia": .*did you mean STANDARD_IA\?/,
    );
  });

  it("the writer's env entry reads back through the parser", () => {
    const env = Object.fromEntries(storageClassEnv("STANDARD_IA").map((v) => [v.name, v.value]));
    expect(parseStorageClass(env[STORAGE_CLASS_ENV])).toBe("STANDARD_IA");
    expect(storageClassEnv(undefined)).toEqual([]);
  });
});
