import { describe, expect, it } from "vitest";
import { entryUrl, listArgs } from "./playlist.ts";
import { FORBIDDEN_FLAGS } from "./ytdlp.ts";

const req = { url: "https://www.example.com/playlist?list=1", proxy: "http://127.0.0.1:9" };

describe("listArgs", () => {
  it("lists flat, through the egress proxy, with no flag that could run commands or read configs", () => {
    const args = listArgs(req);
    for (const flag of FORBIDDEN_FLAGS) expect(args).not.toContain(flag);
    expect(args).toContain("--flat-playlist");
    expect(args).toContain("--ignore-config");
    expect(args[args.indexOf("--proxy") + 1]).toBe("http://127.0.0.1:9");
    expect(args.slice(-2)).toEqual(["--", req.url]);
  });

  it("asks for the chosen items, or one more than a job may hold", () => {
    expect(listArgs({ ...req, items: "1-12" })[listArgs(req).indexOf("-I") + 1]).toBe("1-12");
    const args = listArgs(req);
    expect(args[args.indexOf("-I") + 1]).toBe("1:501");
  });
});

describe("entryUrl", () => {
  it("drops the id yt-dlp smuggles onto a feed item's URL, and nothing else", () => {
    const smuggled = "https://cdn.example.com/a.mp4?x=1#__youtubedl_smuggle=%7B%22force_videoid%22%3A+%22ep-a%22%7D";
    expect(entryUrl(smuggled)).toBe("https://cdn.example.com/a.mp4?x=1");
    expect(entryUrl("https://cdn.example.com/a.mp4#t=10")).toBe("https://cdn.example.com/a.mp4#t=10");
  });
});
