import { describe, expect, it } from "vitest";
import { checkAllow } from "./allow.ts";

describe("checkAllow: --allow is checked before any work", () => {
  it.each([["127.0.0.2/32"], ["10.0.0.0/8"], ["192.168.1.7"], ["fd12:3456::/32"], ["::1"]])("accepts %s", (cidr) => {
    expect(() => checkAllow([cidr], false)).not.toThrow();
  });

  it.each([["not-a-net"], ["10.0.0.0/33"], ["10.0.0/8"], ["::1/129"], ["127.0.0.1/"], [""]])(
    "refuses %j with REEL_JOB_INVALID naming it",
    (cidr) => {
      expect(() => checkAllow([cidr], false)).toThrow(expect.objectContaining({ code: "REEL_JOB_INVALID" }));
    },
  );

  it.each([["0.0.0.0/0"], ["169.254.0.0/16"], ["169.254.169.254"], ["128.0.0.0/1"], ["::/0"], ["fd00:ec2::/32"]])(
    "%s opens the metadata address: refused without the confirmation flag, accepted with it",
    (cidr) => {
      expect(() => checkAllow([cidr], false)).toThrow(/--allow-metadata/);
      expect(() => checkAllow([cidr], true)).not.toThrow();
    },
  );
});
