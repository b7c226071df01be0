import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exited, libpqEnv, spawnPg } from "./pg.ts";

describe("libpqEnv: the connection for pg_dump/pg_restore, in their environment only", () => {
  it("takes host, port, user, password (decoded), database and TLS settings from DATABASE_URL", () => {
    expect(libpqEnv("postgres://reel:s%40cret%2F1@db.reel-system:6432/reel_prod?sslmode=verify-full")).toEqual({
      database: "reel_prod",
      env: {
        PGHOST: "db.reel-system",
        PGPORT: "6432",
        PGDATABASE: "reel_prod",
        PGUSER: "reel",
        PGPASSWORD: "s@cret/1",
        PGSSLMODE: "verify-full",
      },
    });
  });

  it("defaults the port and the database (libpq's: the user's name), unwraps an IPv6 host", () => {
    expect(libpqEnv("postgresql://reel@[::1]")).toEqual({
      database: "reel",
      env: { PGHOST: "::1", PGPORT: "5432", PGDATABASE: "reel", PGUSER: "reel" },
    });
  });

  it.each([
    ["not a url", /DATABASE_URL is not a URL/],
    ["mysql://u:p@h/db", /DATABASE_URL must be postgres/],
  ])("refuses %j with REEL_CONFIG_INVALID, never echoing the URL", (url, why) => {
    expect(() => libpqEnv(url)).toThrow(why);
    expect(() => libpqEnv(url)).toThrow(expect.objectContaining({ code: "REEL_CONFIG_INVALID" }));
  });

  it("the child sees the connection and PATH, not the parent's environment (the S3 keys stay here)", async () => {
    // A stand-in pg_dump that prints its argv and environment.
    const dir = await mkdtemp(join(tmpdir(), "reel-pg-env-"));
    await writeFile(join(dir, "pg_dump"), '#!/bin/sh\necho "argv: $*"\nenv\n', { mode: 0o755 });
    process.env.REEL_BACKUP_S3_SECRET_ACCESS_KEY = "parent-only";
    try {
      const { env } = libpqEnv("postgres://reel:s3cret@db:5432/reel");
      const child = spawnPg({ binDir: dir, path: "/usr/bin:/bin" }, "pg_dump", ["--format=custom"], env);
      let out = "";
      child.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
      });
      await exited(child, "pg_dump");
      expect(out).toContain("argv: --format=custom\n");
      expect(out).toContain("PGPASSWORD=s3cret\n");
      expect(out).not.toContain("parent-only");
      expect(child.spawnargs.join(" ")).not.toContain("s3cret");
    } finally {
      delete process.env.REEL_BACKUP_S3_SECRET_ACCESS_KEY;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
