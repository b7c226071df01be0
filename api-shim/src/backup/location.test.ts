import { describe, expect, it } from "vitest";
import { backupKey, backupKeys, expiredBackups, parseBackupUrl } from "./location.ts";

describe("parseBackupUrl", () => {
  it.each([
    ["s3://reel-backups/postgres/", { bucket: "reel-backups", prefix: "postgres/" }],
    ["s3://reel-backups", { bucket: "reel-backups", prefix: "" }],
    ["s3://reel-backups/", { bucket: "reel-backups", prefix: "" }],
    [
      "s3://reel-backups/pg/reel-20261205T221530123Z.dump",
      { bucket: "reel-backups", prefix: "pg/", key: "pg/reel-20261205T221530123Z.dump" },
    ],
  ])("reads %s", (url, want) => {
    expect(parseBackupUrl(url, "--to")).toEqual(want);
  });

  it.each([
    ["https://reel-backups/postgres/", /not an s3:\/\/ URL/],
    ["s3://Reel_Backups/x/", /not an S3 bucket name/],
    ["s3://reel-backups/a//b/", /empty, \. or \.\. path segments/],
    ["s3://reel-backups/../x/", /empty, \. or \.\. path segments/],
    ["s3://reel-backups/postgres", /a prefix must end in \//],
  ])("refuses %s with REEL_INVALID_ARGUMENT naming the flag", (url, why) => {
    expect(() => parseBackupUrl(url, "--from")).toThrow(why);
    expect(() => parseBackupUrl(url, "--from")).toThrow(expect.objectContaining({ code: "REEL_INVALID_ARGUMENT" }));
    expect(() => parseBackupUrl(url, "--from")).toThrow(/^--from /);
  });
});

describe("backup keys and retention", () => {
  it("names a backup by its UTC time to the millisecond, sortable as text", () => {
    expect(backupKey("pg/", new Date("2026-12-05T22:15:30.123Z"))).toBe("pg/reel-20261205T221530123Z.dump");
    expect(backupKey("", new Date("2026-01-02T03:04:05.006Z"))).toBe("reel-20260102T030405006Z.dump");
  });

  const keys = [
    "pg/reel-20261203T010000000Z.dump",
    "pg/notes.txt",
    "pg/reel-20261205T010000000Z.dump",
    "pg/old/reel-20261101T010000000Z.dump",
    "pg/reel-20261204T010000000Z.dump",
    "pg/reel-20261201T010000000Z.dump.partial",
  ];

  it("lists only backups directly under the prefix, oldest first", () => {
    expect(backupKeys("pg/", keys)).toEqual([
      "pg/reel-20261203T010000000Z.dump",
      "pg/reel-20261204T010000000Z.dump",
      "pg/reel-20261205T010000000Z.dump",
    ]);
  });

  it("deletes the oldest beyond keep and nothing that is not a backup", () => {
    expect(expiredBackups("pg/", keys, 2)).toEqual(["pg/reel-20261203T010000000Z.dump"]);
    expect(expiredBackups("pg/", keys, 1)).toEqual([
      "pg/reel-20261203T010000000Z.dump",
      "pg/reel-20261204T010000000Z.dump",
    ]);
    expect(expiredBackups("pg/", keys, 7)).toEqual([]);
  });

  it("refuses keep 0 (it would delete the backup just written)", () => {
    expect(() => expiredBackups("pg/", keys, 0)).toThrow(/keep at least 1/);
  });
});
