import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.ts";

describe("request metrics", () => {
  it("expose what was recorded as the request counter and the duration histogram, scrape after scrape", async () => {
    const m = createMetrics();
    m.http.record("/api/v1/jobs/:id/status", "GET", 200, 0.0004);
    m.http.record("/api/v1/jobs/:id/status", "GET", 200, 0.003);
    m.http.record("/api/v1/jobs/:id/status", "GET", 429, 0.02);
    m.http.record("unmatched", "GET", 404, 3);
    const first = await m.registry.metrics();
    expect(first).toContain(
      'reel_shim_http_requests_total{route="/api/v1/jobs/:id/status",method="GET",status="200"} 2',
    );
    expect(first).toContain(
      'reel_shim_http_requests_total{route="/api/v1/jobs/:id/status",method="GET",status="429"} 1',
    );
    expect(first).toContain('reel_shim_http_requests_total{route="unmatched",method="GET",status="404"} 1');
    const bucket = (le: string, route = "/api/v1/jobs/:id/status") =>
      `reel_shim_http_request_duration_seconds_bucket{le="${le}",route="${route}",method="GET"}`;
    expect(first).toContain(`${bucket("0.001")} 1`);
    expect(first).toContain(`${bucket("0.005")} 2`);
    expect(first).toContain(`${bucket("0.025")} 3`);
    expect(first).toContain(`${bucket("2.5")} 3`);
    expect(first).toContain(`${bucket("+Inf")} 3`);
    expect(first).toContain(`${bucket("2.5", "unmatched")} 0`);
    expect(first).toContain(`${bucket("+Inf", "unmatched")} 1`);
    expect(first).toContain(
      'reel_shim_http_request_duration_seconds_count{route="/api/v1/jobs/:id/status",method="GET"} 3',
    );
    expect(first).toMatch(
      /reel_shim_http_request_duration_seconds_sum\{route="\/api\/v1\/jobs\/:id\/status",method="GET"\} 0\.0234/,
    );
    m.http.record("/api/v1/jobs/:id/status", "GET", 200, 0.001);
    const second = await m.registry.metrics();
    expect(second).toContain(
      'reel_shim_http_requests_total{route="/api/v1/jobs/:id/status",method="GET",status="200"} 3',
    );
    expect(second).toContain(`${bucket("0.001")} 2`);
    expect(second).toContain('reel_shim_http_requests_total{route="unmatched",method="GET",status="404"} 1');
  });
});
