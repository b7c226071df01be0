import { describe, expect, it } from "vitest";
import { demuxerFor, inputArgs } from "./input.ts";

describe("demuxerFor", () => {
  const cases = [
    ["mov,mp4,m4a,3gp,3g2,mj2", "mov"],
    ["matroska,webm", "matroska"],
    ["mpegts", "mpegts"],
    ["avi", "avi"],
    ["mxf", "mxf"],
    ["dv", "dv"],
    ["gxf", "gxf"],
  ] as const;
  for (const [formatName, demuxer] of cases) {
    it(`pins ${formatName} to -f ${demuxer}`, () => expect(demuxerFor(formatName)).toBe(demuxer));
  }
  for (const bad of ["hls", "applehttp", "concat", "image2", "tty", "lavfi", "sdp", "rtsp"]) {
    it(`refuses the ${bad} format`, () => expect(() => demuxerFor(bad)).toThrow(/not accepted/));
  }
});

describe("inputArgs", () => {
  it("whitelists protocols and formats, limits probing and pins the demuxer", () => {
    expect(inputArgs({ path: "/in/a.mp4", demuxer: "mov", before: ["-ss", "2.000000"] })).toEqual([
      "-ss",
      "2.000000",
      "-protocol_whitelist",
      "file,pipe",
      "-format_whitelist",
      "mov,matroska,mpegts,avi,flv,mpeg,asf,ogg,mxf,dv,gxf,aac,ac3,eac3,mp3",
      "-probesize",
      "33554432",
      "-analyzeduration",
      "30000000",
      "-f",
      "mov",
      "-i",
      "file:/in/a.mp4",
    ]);
  });
  it("makes a path that looks like a protocol or an option a local file", () => {
    expect(inputArgs({ path: "http:x.mp4", demuxer: "mov" }).at(-1)).toBe("file:http:x.mp4");
    expect(inputArgs({ path: "-i.mp4", demuxer: "mov" }).at(-1)).toBe("file:-i.mp4");
  });
  it("refuses a demuxer outside the allowlist", () => {
    expect(() => inputArgs({ path: "/a", demuxer: "hls" })).toThrow(/not accepted/);
  });
});
