import { describe, expect, it } from "vitest";
import {
  defaultHdr10,
  fieldOrder,
  hdr10EncoderParams,
  hdr10For,
  hdrPeakNits,
  parseIdet,
  pictureFilter,
  planPicture,
  sourceColour,
} from "./picture.ts";

const HD = { width: 1920, height: 1080 };
const PAL = { width: 720, height: 576 };
const NTSC = { width: 720, height: 480 };

describe("planPicture", () => {
  it("leaves a BT.709 limited progressive source alone (tags only)", () => {
    const tags = {
      primaries: "bt709",
      transfer: "bt709",
      matrix: "bt709",
      range: "tv" as const,
      fieldOrder: "progressive",
    };
    expect(planPicture(tags, HD)).toEqual({});
    // untagged HD is BT.709 by the usual guess
    expect(planPicture({ fieldOrder: "progressive" }, HD)).toEqual({});
  });

  it.each([
    ["untagged PAL SD", {}, PAL, "bt470bg/bt709/bt470bg tv"],
    ["untagged NTSC SD", {}, NTSC, "smpte170m/bt709/smpte170m tv"],
    [
      "tagged BT.601 in HD",
      { primaries: "smpte170m", matrix: "smpte170m", transfer: "smpte170m" },
      HD,
      "smpte170m/smpte170m/smpte170m tv",
    ],
    [
      "full-range BT.709",
      { primaries: "bt709", matrix: "bt709", transfer: "bt709", range: "pc" as const },
      HD,
      "bt709/bt709/bt709 pc",
    ],
  ])("converts %s to BT.709 limited", (_name, tags, size, from) => {
    const c = planPicture(tags, size).convertFrom;
    expect(c && `${c.primaries}/${c.transfer}/${c.matrix} ${c.range}`).toBe(from);
  });

  it.each([
    ["PQ", "smpte2084"],
    ["HLG", "arib-std-b67"],
  ])("tone-maps %s BT.2020 to SDR with hable", (_n, transfer) => {
    const plan = planPicture({ transfer, primaries: "bt2020", matrix: "bt2020nc", range: "tv" }, HD);
    expect(plan.toneMap).toEqual({ from: transfer, operator: "hable", peakNits: 1000 });
    expect(plan.convertFrom).toMatchObject({ primaries: "bt2020", matrix: "bt2020nc", transfer });
  });

  it("takes the tone-mapping peak from MaxCLL, else the mastering display, else 1000 cd/m²", () => {
    expect(hdrPeakNits({ maxCll: 600, masteringPeakNits: 4000 })).toBe(600);
    expect(hdrPeakNits({ masteringPeakNits: 4000 })).toBe(4000);
    expect(hdrPeakNits({})).toBe(1000);
    expect(hdrPeakNits({ maxCll: 20 })).toBe(100);
  });

  it("guesses BT.2020 primaries and matrix for an HDR transfer tagged alone", () => {
    expect(sourceColour({ transfer: "smpte2084" }, HD)).toEqual({
      primaries: "bt2020",
      transfer: "smpte2084",
      matrix: "bt2020nc",
      range: "tv",
    });
  });
});

describe("hdr: keep (HDR10 output)", () => {
  const pq = { transfer: "smpte2084", primaries: "bt2020", matrix: "bt2020nc", range: "tv" as const };
  const size = { width: 1280, height: 720 };
  const tags10 = "setparams=field_mode=prog:range=tv:color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc";

  it("only scales a PQ BT.2020 source, to 10-bit, tagged BT.2020 PQ", () => {
    const plan = planPicture(pq, HD, undefined, "keep");
    expect(plan).toEqual({ output: "hdr10" });
    expect(pictureFilter(plan, size)).toBe(`scale=1280:720:flags=bicubic,setsar=1,format=yuv420p10le,${tags10}`);
  });

  it.each([
    ["SDR BT.709 with its white at 203 cd/m²", {}, "pin=bt709:tin=bt709:min=bt709:rin=tv", 203],
    [
      "HLG at its nominal 1000 cd/m²",
      { transfer: "arib-std-b67" },
      "pin=bt2020:tin=arib-std-b67:min=bt2020nc:rin=tv",
      1000,
    ],
  ])("maps %s into PQ", (_n, tags, zin, npl) => {
    const f = pictureFilter(planPicture(tags, HD, undefined, "keep"), size);
    expect(f).toContain(`zscale=w=1280:h=720:f=bicubic:${zin}:p=bt2020:t=smpte2084:m=bt2020nc:r=tv:npl=${npl}`);
    expect(f.endsWith(`format=yuv420p10le,${tags10}`)).toBe(true);
  });

  it("writes the metadata in x265's and SVT-AV1's own syntax", () => {
    expect(hdr10EncoderParams("hevc", defaultHdr10)).toBe(
      "hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400",
    );
    expect(hdr10EncoderParams("av1", defaultHdr10)).toBe(
      "mastering-display=G(0.265,0.69)B(0.15,0.06)R(0.68,0.32)WP(0.3127,0.329)L(1000,0.0001):content-light=1000,400",
    );
  });

  it("keeps the source's metadata only when each episode is its own file", () => {
    const mastering = { ...defaultHdr10.mastering, maxNits: 4000 };
    expect(hdr10For({ mastering, maxCll: 2000 }, true)).toEqual({ mastering, maxCll: 2000, maxFall: 400 });
    expect(hdr10For({ mastering, maxCll: 2000 }, false)).toBe(defaultHdr10);
    expect(hdr10For({}, true)).toBe(defaultHdr10);
  });
});

describe("fieldOrder", () => {
  it.each([
    ["tt", "tff"],
    ["bt", "tff"],
    ["bb", "bff"],
    ["tb", "bff"],
  ])("takes field order %s from the probe", (f, order) => {
    expect(fieldOrder({ fieldOrder: f })).toEqual({ fieldOrder: order, detectedBy: "probe" });
  });

  it("trusts a progressive tag over idet", () => {
    expect(
      fieldOrder({ fieldOrder: "progressive" }, { tff: 100, bff: 0, progressive: 0, undetermined: 0 }),
    ).toBeUndefined();
  });

  it.each([
    ["clearly TFF", { tff: 180, bff: 2, progressive: 10, undetermined: 8 }, "tff"],
    ["clearly BFF", { tff: 0, bff: 150, progressive: 20, undetermined: 30 }, "bff"],
    ["busy progressive (idet's false alarms)", { tff: 42, bff: 0, progressive: 150, undetermined: 8 }, undefined],
    ["interlaced under 4 to 1", { tff: 120, bff: 0, progressive: 40, undetermined: 40 }, undefined],
    ["mostly undetermined (still picture)", { tff: 20, bff: 0, progressive: 0, undetermined: 180 }, undefined],
    ["nothing counted", { tff: 0, bff: 0, progressive: 0, undetermined: 0 }, undefined],
  ])("idet on an unknown scan: %s", (_n, idet, order) => {
    expect(fieldOrder({}, idet)?.fieldOrder).toBe(order);
  });

  it("tells telecined film (2 repeated fields in 5 frames) from interlaced video", () => {
    const idet = { tff: 162, bff: 0, progressive: 0, undetermined: 0 };
    expect(fieldOrder({}, { ...idet, repeated: { neither: 97, top: 32, bottom: 33 } })).toEqual({
      fieldOrder: "tff",
      detectedBy: "idet",
      pulldown: true,
    });
    expect(fieldOrder({}, { ...idet, repeated: { neither: 160, top: 1, bottom: 1 } })?.pulldown).toBeUndefined();
    expect(pictureFilter({ deinterlace: { fieldOrder: "tff", detectedBy: "idet", pulldown: true } })).toMatch(
      /^fieldmatch=order=tff:combmatch=full,yadif=deint=interlaced,decimate,/,
    );
  });

  it("reads idet's multi-frame counts", () => {
    const stderr = `[Parsed_idet_0 @ 0x1] Repeated Fields: Neither: 50 Top: 0 Bottom: 0
[Parsed_idet_0 @ 0x1] Single frame detection: TFF:    39 BFF:     3 Progressive:     8 Undetermined:     0
[Parsed_idet_0 @ 0x1] Multi frame detection: TFF:    42 BFF:     0 Progressive:     8 Undetermined:     0`;
    expect(parseIdet(stderr)).toEqual({
      tff: 42,
      bff: 0,
      progressive: 8,
      undetermined: 0,
      repeated: { neither: 50, top: 0, bottom: 0 },
    });
    expect(parseIdet("nothing")).toBeUndefined();
  });
});

describe("pictureFilter", () => {
  const size = { width: 1280, height: 720 };
  const tags = "setparams=field_mode=prog:range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709";

  it("scales and tags a source that needs nothing else", () => {
    expect(pictureFilter({}, size)).toBe(`scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,${tags}`);
  });

  it("deinterlaces first, at the source's size, one frame per frame", () => {
    const f = pictureFilter({ deinterlace: { fieldOrder: "bff", detectedBy: "idet" } }, size);
    expect(f.startsWith("bwdif=mode=send_frame:parity=bff:deint=all,scale=1280:720")).toBe(true);
  });

  it("converts BT.601 full range with zscale in the scaling step (matrix and range; SD primaries kept)", () => {
    const f = pictureFilter(
      { convertFrom: { primaries: "smpte170m", transfer: "smpte170m", matrix: "smpte170m", range: "pc" } },
      size,
    );
    expect(f).toBe(`zscale=w=1280:h=720:f=bicubic:min=smpte170m:rin=pc:m=bt709:r=tv,setsar=1,format=yuv420p,${tags}`);
  });

  it("maps a wide-gamut SDR source's colours through linear light", () => {
    const f = pictureFilter(planPicture({ primaries: "bt2020", transfer: "bt2020-10", matrix: "bt2020nc" }, HD));
    expect(f.startsWith("zscale=pin=bt2020:tin=bt2020-10:min=bt2020nc:rin=tv:p=bt709:t=bt709:m=bt709:r=tv,")).toBe(
      true,
    );
  });

  it("tone-maps in linear light with the planned peak, back to BT.709 limited", () => {
    const f = pictureFilter(planPicture({ transfer: "smpte2084", maxCll: 4000 }, HD), size);
    expect(f).toContain("zscale=w=1280:h=720:f=bicubic:pin=bt2020:tin=smpte2084:min=bt2020nc:rin=tv:t=linear:npl=100");
    expect(f).toContain(
      "format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0:peak=40,zscale=t=bt709:m=bt709:r=tv",
    );
    expect(f.endsWith(`format=yuv420p,${tags}`)).toBe(true);
  });
});
