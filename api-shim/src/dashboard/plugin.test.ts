import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { errorCodes } from "@reel/crds";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentSecurityPolicy, dashboardPlugin, publicDir } from "./plugin.ts";

describe("dashboardPlugin", () => {
  const app = Fastify();
  beforeAll(async () => {
    await app.register(dashboardPlugin);
    // Stands for the API's own routes next to the dashboard, to check the two do not overlap.
    await app.register(
      async (api) => {
        api.get("/v1/me", async () => ({ id: "u1" }));
      },
      { prefix: "/api" },
    );
    await app.ready();
  });
  afterAll(() => app.close());

  it("serves the page at / with a Content-Security-Policy that allows no inline script", async () => {
    const res = await app.inject("/");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain('<script type="module" src="/app.js"></script>');
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toBe(contentSecurityPolicy);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
  });

  it("serves the modules as JavaScript and the styles as CSS, with the same headers", async () => {
    const js = await app.inject("/app.js");
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toMatch(/javascript/);
    expect(js.headers["content-security-policy"]).toBe(contentSecurityPolicy);
    const css = await app.inject("/style.css");
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
  });

  it("serves the error registry the page explains codes with", async () => {
    const res = await app.inject("/errors.json");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-security-policy"]).toBe(contentSecurityPolicy);
    expect(res.json()).toEqual(errorCodes);
  });

  it("leaves /api to the API and answers 404 for files it does not have", async () => {
    expect((await app.inject("/api/v1/me")).json()).toEqual({ id: "u1" });
    expect((await app.inject("/api/v1/nothing")).statusCode).toBe(404);
    expect((await app.inject("/nothing.js")).statusCode).toBe(404);
    expect((await app.inject("/../package.json")).statusCode).toBe(404);
    // The CSP belongs to the dashboard's responses, not the API's.
    expect((await app.inject("/api/v1/me")).headers["content-security-policy"]).toBeUndefined();
  });

  it("has no inline script, inline style, event handler attribute or HTML-string sink in the page's files", async () => {
    const files = await readdir(publicDir);
    const html = await readFile(join(publicDir, "index.html"), "utf8");
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="\/[\w.-]+\.js"/);
    expect(html).not.toMatch(/<script\b[^>]*>[^<\s]/);
    expect(html).not.toMatch(/\s(on\w+|style)=/i);
    expect(html).not.toMatch(/<style\b/i);
    for (const f of files.filter((f) => f.endsWith(".js"))) {
      const src = await readFile(join(publicDir, f), "utf8");
      expect(src, f).not.toMatch(
        /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/,
      );
    }
  });
});
