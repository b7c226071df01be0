import { type Listing, parseListEnv } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { type OperatorSettings, planEpisodeJobs } from "../plan/jobs.ts";
import { type Expanded, expanded, listingStep, shouldReadListing } from "./expansion.ts";
import type { ObservedJob } from "./observed.ts";

const settings: OperatorSettings = {
  image: "ghcr.io/reel/worker:0.1.0",
  backoffLimit: 3,
  activeDeadlineSeconds: 21_600,
  ttlSecondsAfterFinished: 3600,
  egressAllow: ["10.0.0.0/8"],
};

const feed = "https://pods.example.com/feed.xml";
const listedAt = "2026-12-05T22:00:00.000Z";

function stored(opts: { status?: object; output?: object } = {}) {
  return {
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "show", namespace: "media", uid: "uid-1", generation: 1 },
    spec: {
      episodes: [
        { url: "https://cdn.example.com/intro.mp4", title: "Intro" },
        { playlist: feed, items: "1-2" },
      ],
      gpu: { policy: "off" },
      output: opts.output ?? { s3: { bucket: "videos", prefix: "show/", credentialsSecret: "s3-creds" } },
    },
    ...(opts.status ? { status: opts.status } : {}),
  };
}

const recorded = {
  at: 1,
  playlist: feed,
  items: "1-2",
  reverse: false,
  episodes: [{ url: "https://cdn.example.com/a.mp4", title: "Pilot" }, { url: "https://cdn.example.com/b.mp4" }],
  listedAt,
};

const unlisted = (raw: object) => {
  const e = expanded(raw);
  if (e.kind !== "unlisted") throw new Error(`expected unlisted, got ${e.kind}`);
  return e as Extract<Expanded, { kind: "unlisted" }>;
};

const job = (conditions: { type: string; status: string; reason?: string }[] = []): ObservedJob => ({
  metadata: { name: "show-list", labels: { "reel.dev/role": "list" } },
  status: { conditions },
});

describe("a VideoJob with playlist entries", () => {
  it("is planned from its recorded expansion only: the episode Jobs get the recorded URLs and titles", () => {
    const e = expanded(stored({ status: { phase: "Pending", expansion: [recorded] } }));
    expect(e.kind).toBe("planned");
    if (e.kind !== "planned") return;
    expect(e.vj.spec.episodes.map((x) => [x.url, x.title])).toEqual([
      ["https://cdn.example.com/intro.mp4", "Intro"],
      ["https://cdn.example.com/a.mp4", "Pilot"],
      ["https://cdn.example.com/b.mp4", undefined],
    ]);
    expect(e.vj.status?.expansion).toEqual([recorded]);
    type Template = { spec: { containers: { env: { name: string; value?: string }[] }[] } };
    const planned = planEpisodeJobs(e.vj, [], new Map(), settings);
    const env = (i: number) => {
      const template = planned[i]?.job?.spec.template as Template | undefined;
      return Object.fromEntries((template?.spec.containers[0]?.env ?? []).map((v) => [v.name, v.value]));
    };
    expect([env(1).REEL_EPISODE_URL, env(1).REEL_EPISODE_TITLE]).toEqual(["https://cdn.example.com/a.mp4", "Pilot"]);
    expect(env(2).REEL_EPISODE_URL).toBe("https://cdn.example.com/b.mp4");
  });

  it("is unlisted while no entry is recorded, or the record names another playlist", () => {
    expect(expanded(stored()).kind).toBe("unlisted");
    const other = { ...recorded, playlist: "https://other.example/feed" };
    expect(expanded(stored({ status: { expansion: [other] } })).kind).toBe("unlisted");
  });

  it("without playlist entries is planned as it is", () => {
    const plain = { ...stored(), spec: { ...stored().spec, episodes: [{ url: "https://cdn.example.com/1.mp4" }] } };
    const e = expanded(plain);
    expect(e.kind === "planned" && e.vj.spec.episodes.length).toBe(1);
  });
});

describe("the listing step", () => {
  it("creates one list Job: reel worker in list mode, the entries, the output's keys by reference and nothing else", () => {
    const raw = stored();
    const step = listingStep(raw, unlisted(raw), {}, settings);
    expect(step.kind).toBe("create");
    if (step.kind !== "create") return;
    expect(step.job.metadata.name).toBe("show-list");
    expect(step.job.metadata.labels["reel.dev/role"]).toBe("list");
    expect(step.job.metadata.ownerReferences[0]).toMatchObject({ kind: "VideoJob", name: "show", uid: "uid-1" });
    const pod = (
      step.job.spec.template as {
        spec: {
          automountServiceAccountToken: boolean;
          containers: { command: string[]; env: { name: string; value?: string; valueFrom?: unknown }[] }[];
        };
      }
    ).spec;
    const c = pod.containers[0];
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c?.command).toEqual(["reel", "worker"]);
    const plain = Object.fromEntries((c?.env ?? []).filter((v) => v.value !== undefined).map((v) => [v.name, v.value]));
    expect(parseListEnv(plain)).toMatchObject({
      uid: "uid-1",
      staging: "s3://videos/show/.reel-staging/uid-1/",
      playlists: [{ at: 1, playlist: feed, items: "1-2", reverse: false }],
      egressAllow: ["10.0.0.0/8"],
    });
    const refs = (c?.env ?? []).filter((v) => v.valueFrom).map((v) => v.name);
    expect(refs).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
  });

  it("waits while the list Job runs, and reads the listing only when there is no Job or it completed", () => {
    const raw = stored();
    expect(listingStep(raw, unlisted(raw), { job: job() }, settings)).toEqual({ kind: "wait" });
    expect(shouldReadListing(job())).toBe(false);
    expect(shouldReadListing(undefined)).toBe(true);
    expect(shouldReadListing(job([{ type: "Complete", status: "True" }]))).toBe(true);
  });

  it("records the listing with the episodes in order", () => {
    const raw = stored();
    const listing: Listing = { v: 1, uid: "uid-1", listedAt, entries: [{ at: 1, episodes: recorded.episodes }] };
    expect(listingStep(raw, unlisted(raw), { job: job(), listing }, settings)).toEqual({
      kind: "record",
      expansion: [recorded],
    });
  });

  it.each([
    [
      "the listing's own code",
      { v: 1, uid: "uid-1", listedAt, error: { code: "REEL_PLAYLIST_EMPTY", message: "no items 1-2" } },
      "REEL_PLAYLIST_EMPTY",
    ],
    [
      "REEL_TOO_MANY_EPISODES naming the count",
      {
        v: 1,
        uid: "uid-1",
        listedAt,
        entries: [{ at: 1, episodes: Array.from({ length: 500 }, (_, i) => ({ url: `https://c.example/${i}` })) }],
      },
      "REEL_TOO_MANY_EPISODES",
    ],
  ])("fails with %s", (_what, listing, code) => {
    const raw = stored();
    const step = listingStep(raw, unlisted(raw), { listing: listing as Listing }, settings);
    expect(step).toMatchObject({ kind: "fail", code });
    if (code === "REEL_TOO_MANY_EPISODES")
      expect(step).toMatchObject({ message: expect.stringContaining("501 episodes") });
  });

  it("fails when the list Job ended without a listing", () => {
    const raw = stored();
    const step = listingStep(
      raw,
      unlisted(raw),
      { job: job([{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }]) },
      settings,
    );
    expect(step).toMatchObject({
      kind: "fail",
      code: "REEL_YTDLP_FAILED",
      message: expect.stringContaining("kubectl logs job/show-list"),
    });
  });

  it("fails a volume output at once, pointing to reel submit", () => {
    const raw = stored({ output: { volume: { claimName: "videos", path: "show" } } });
    const step = listingStep(raw, unlisted(raw), {}, settings);
    expect(step).toMatchObject({
      kind: "fail",
      code: "REEL_JOB_INVALID",
      message: expect.stringContaining("reel submit"),
    });
  });
});
