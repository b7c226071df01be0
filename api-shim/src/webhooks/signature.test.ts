import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { isRegistrableSecret, parseSecret, sign } from "./signature.ts";

describe("Standard Webhooks signatures", () => {
  it("matches the reference test vector", () => {
    // From the Standard Webhooks reference libraries' tests.
    const key = parseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    expect(sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')).toBe(
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
  });

  it("signs so that the standardwebhooks package verifies it", () => {
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    const body = JSON.stringify({ type: "videojob.phase", data: { job: "a", phase: "Completed" } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(ts),
      "webhook-signature": sign(parseSecret(secret), "msg_1", ts, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it("accepts the secret without its prefix and with a trailing newline", () => {
    const raw = randomBytes(24).toString("base64");
    expect(parseSecret(`${raw}\n`)).toEqual(Buffer.from(raw, "base64"));
  });

  it.each([
    ["not base64", "whsec_not base64!"],
    ["too short", `whsec_${randomBytes(16).toString("base64")}`],
    ["empty", "whsec_"],
  ])("refuses a secret that is %s, without echoing it", (_, value) => {
    let err: unknown;
    try {
      parseSecret(value);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "REEL_WEBHOOK_INVALID" });
    const secretPart = value.slice("whsec_".length);
    if (secretPart) expect((err as Error).message).not.toContain(secretPart);
  });

  it("registers only whsec_ and the base64 of 24 to 64 bytes", () => {
    const b64 = (n: number) => Buffer.alloc(n, 7).toString("base64");
    expect(isRegistrableSecret(`whsec_${b64(24)}`)).toBe(true);
    expect(isRegistrableSecret(`whsec_${b64(64)}`)).toBe(true);
    expect(isRegistrableSecret(`whsec_${b64(23)}`)).toBe(false);
    expect(isRegistrableSecret(`whsec_${b64(65)}`)).toBe(false);
    expect(isRegistrableSecret(b64(32))).toBe(false);
    expect(isRegistrableSecret("whsec_not base64!")).toBe(false);
  });
});
