import { ReelError } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { toResponse } from "./errors.ts";

describe("answers for what handlers throw", () => {
  it("maps the database's data errors (SQLSTATE 22xxx) to 400 without its words", () => {
    const pg = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      name: "PostgresError",
      code: "22021",
    });
    const r = toResponse(pg);
    expect(r.status).toBe(400);
    expect(r.internal).toBe(false);
    expect(JSON.stringify(r.body)).not.toMatch(/UTF8|0x00/);
    expect(r.body).toMatchObject({ error: { code: "REEL_INVALID_ARGUMENT" } });
  });

  it("names no host or port when a service is unreachable", () => {
    const r = toResponse(Object.assign(new Error("connect ECONNREFUSED 10.0.3.7:5432"), { code: "ECONNREFUSED" }));
    expect(r.status).toBe(503);
    expect(JSON.stringify(r.body)).not.toMatch(/10\.0\.3\.7|5432/);
  });

  it("gives Fastify's own 4xx the REEL_INVALID_ARGUMENT shape, not the manifest hint", () => {
    const r = toResponse(
      Object.assign(new Error("Unexpected token"), { statusCode: 400, code: "FST_ERR_CTP_INVALID_JSON" }),
    );
    expect(r.body).toMatchObject({ error: { code: "REEL_INVALID_ARGUMENT" } });
    expect(toResponse(new ReelError("REEL_INTERNAL", "x")).internal).toBe(true);
  });
});
