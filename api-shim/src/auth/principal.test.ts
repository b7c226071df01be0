import { describe, expect, it } from "vitest";
import { actorName, cleanName, NAME_MAX, type Principal } from "./principal.ts";

const p = (o: Partial<Principal>): Principal => ({
  userId: 7,
  name: "olga (key ABCD1234)",
  role: "operator",
  tenant: "media",
  namespace: "media",
  via: "jwt",
  scopes: [],
  ...o,
});

describe("who an action is recorded as", () => {
  it("is the user id and the credential, whatever the name says", () => {
    expect(actorName(p({}))).toBe("user:7 jwt");
    expect(actorName(p({ via: "key", keyId: "ABCD1234", name: "anything" }))).toBe("user:7 key:ABCD1234");
  });

  it("cleans a token's name: control and format characters become one space, cut at NAME_MAX code points", () => {
    expect(cleanName("olga\u001b[2J\r\n\u0000root\u202e", "sub")).toBe("olga [2J root");
    expect(cleanName(`${"😀".repeat(100)}`, "sub")).toBe("😀".repeat(NAME_MAX));
    expect(cleanName("\u0000\n ", "jane")).toBe("jane");
    expect(cleanName(undefined, "\u0007")).toBe("unnamed");
  });
});
