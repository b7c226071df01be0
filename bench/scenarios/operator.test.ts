// The operator-scale scenario's pure parts: reading the operator's /metrics, the resync period it
// picks, and the objects the client loop sends (the operator's own plan for the same VideoJobs).
import { parseVideoJob } from "@reel/crds";
import { describe, expect, test } from "vitest";
import { defaultSettings, plannedJobs, videoJobManifest, videoJobName } from "../tools/kube-load.ts";
import { metricSum, operatorState, parseMetrics, resyncSecondsFor } from "./operator.mjs";

const metricsText = `# HELP reel_operator_api_writes_total Writes sent to the apiserver, by verb and kind.
# TYPE reel_operator_api_writes_total counter
reel_operator_api_writes_total{verb="patch",kind="VideoJob"} 100
reel_operator_api_writes_total{verb="apply",kind="Job"} 800
reel_operator_api_writes_total{verb="create",kind="Event"} 800
reel_operator_api_writes_total{verb="update",kind="Lease"} 42
# HELP reel_operator_queue_depth VideoJob keys waiting.
reel_operator_queue_depth 0
reel_operator_reconcile_duration_seconds_bucket{le="0.001"} 3
reel_operator_reconcile_duration_seconds_count 213
reel_operator_reconcile_errors_total{code="Conflict"} 2
reel_operator_reconcile_errors_total{code="say \\"hi\\""} 1
`;

describe("operator-scale", () => {
  test("parses Prometheus text into samples with labels, quotes unescaped", () => {
    const s = parseMetrics(metricsText);
    expect(s.find((x) => x.name === "reel_operator_queue_depth")).toEqual({
      name: "reel_operator_queue_depth",
      labels: {},
      value: 0,
    });
    expect(s.filter((x) => x.name === "reel_operator_reconcile_errors_total").map((x) => x.labels.code)).toEqual([
      "Conflict",
      'say "hi"',
    ]);
    expect(metricSum(s, "reel_operator_api_writes_total", (l) => l.verb === "apply")).toBe(800);
  });

  test("counts the operator's writes without Lease renewals, and its reconciles and errors", () => {
    const st = operatorState(parseMetrics(metricsText));
    expect(st.writes).toBe(1700);
    expect(st.writesByKind).toEqual({
      "patch VideoJob": 100,
      "apply Job": 800,
      "create Event": 800,
      "update Lease": 42,
    });
    expect(st).toMatchObject({ reconciles: 213, errors: 3, queueDepth: 0 });
  });

  test("picks a resync period that cannot land inside the expected creation time", () => {
    expect(resyncSecondsFor(5)).toBe(20);
    expect(resyncSecondsFor(60)).toBe(100);
    expect(resyncSecondsFor(60)).toBeGreaterThan(60);
  });

  test("the client loop sends the operator's own plan: one Job per episode, owned by the VideoJob", () => {
    const manifest = videoJobManifest("bench", videoJobName(7), 8);
    expect(parseVideoJob(manifest).spec.episodes).toHaveLength(8);
    const jobs = plannedJobs("bench", 7, 8, defaultSettings());
    expect(jobs.map((j) => j.metadata.name)).toEqual(Array.from({ length: 8 }, (_, i) => `bench-00007-ep${i}`));
    for (const j of jobs) {
      expect(j.metadata.namespace).toBe("bench");
      expect(j.metadata.labels["app.kubernetes.io/managed-by"]).toBe("reel-operator");
      expect(j.metadata.ownerReferences[0]).toMatchObject({ kind: "VideoJob", name: "bench-00007", controller: true });
    }
  });
});
