import { describe, expect, it } from "vitest";
import { parseAllowList } from "./address.ts";
import { checkWebhookUrl, isRedacted, type Lookup, redactUrl } from "./guard.ts";

const none = parseAllowList([]);
const resolvesTo =
  (...addresses: string[]): Lookup =>
  async () =>
    addresses.map((address) => ({ address }));
const fails =
  (code: string): Lookup =>
  async () => {
    throw Object.assign(new Error(code), { code });
  };

describe("checkWebhookUrl", () => {
  it.each([
    "http://127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://0/hook",
    "https://10.0.0.5:8443/hook",
    "http://100.64.1.1/hook",
    "http://[fd00:ec2::254]/hook",
    "http://[fd12::1]/hook",
  ])("refuses %s with REEL_EGRESS_DENIED", async (url) => {
    await expect(checkWebhookUrl(url, none, resolvesTo("8.8.8.8"))).rejects.toMatchObject({
      code: "REEL_EGRESS_DENIED",
    });
  });

  it("refuses a name when any address it resolves to is internal", async () => {
    await expect(
      checkWebhookUrl("https://hooks.example.com/x", none, resolvesTo("8.8.8.8", "10.0.0.1")),
    ).rejects.toMatchObject({ code: "REEL_EGRESS_DENIED", message: expect.stringContaining("hooks.example.com") });
    await expect(checkWebhookUrl("http://localhost:8080/x", none)).rejects.toMatchObject({
      code: "REEL_EGRESS_DENIED",
    });
  });

  it("does not say which internal address a name resolves to (no oracle for internal DNS)", async () => {
    const err = await checkWebhookUrl("https://db.internal/x", none, resolvesTo("10.43.7.9")).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "REEL_EGRESS_DENIED" });
    expect((err as Error).message).not.toMatch(/10\.43|private|loopback/);
  });

  it("accepts public addresses, names resolving to them, and allowlisted ranges", async () => {
    await expect(checkWebhookUrl("https://8.8.8.8/x", none)).resolves.toBeInstanceOf(URL);
    await expect(
      checkWebhookUrl("https://hooks.example.com/x", none, resolvesTo("93.184.216.34", "2606:4700::1")),
    ).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl("http://127.0.0.1:9000/x", parseAllowList(["127.0.0.1/32"]))).resolves.toBeInstanceOf(
      URL,
    );
    await expect(checkWebhookUrl("http://0x7f000001:9000/x", parseAllowList(["127.0.0.0/8"]))).resolves.toBeInstanceOf(
      URL,
    );
  });

  it("refuses other schemes, unparseable URLs and names that do not exist", async () => {
    await expect(checkWebhookUrl("ftp://example.com/x", none)).rejects.toMatchObject({
      code: "REEL_UNSUPPORTED_SCHEME",
    });
    await expect(checkWebhookUrl("not a url", none)).rejects.toMatchObject({ code: "REEL_WEBHOOK_INVALID" });
    await expect(checkWebhookUrl("https://nx.example/x", none, fails("ENOTFOUND"))).rejects.toMatchObject({
      code: "REEL_WEBHOOK_INVALID",
    });
  });

  it("accepts a name the resolver cannot answer for now: the delivery-time guard decides", async () => {
    await expect(checkWebhookUrl("https://flaky.example/x", none, fails("EAI_AGAIN"))).resolves.toBeInstanceOf(URL);
  });
});

describe("redactUrl", () => {
  it("drops userinfo, query and fragment, and says it did", () => {
    const u = new URL("https://user:pw@hooks.example.com:8443/a/b?token=SECRET#frag");
    expect(redactUrl(u)).toBe("https://hooks.example.com:8443/a/b?…");
    expect(isRedacted(u)).toBe(true);
    const plain = new URL("https://hooks.example.com/a");
    expect(redactUrl(plain)).toBe("https://hooks.example.com/a");
    expect(isRedacted(plain)).toBe(false);
  });
});
