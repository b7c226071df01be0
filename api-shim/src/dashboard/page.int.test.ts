// The dashboard's files in a real chromium, served by the plugin alone (no API behind it): the page
// starts under its Content-Security-Policy, and the DOM helpers every view is built with render
// hostile text as text. The whole flow against the real shim is dashboard.int.test.ts.
import Fastify from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestPage } from "../testing/page.ts";
import { chromiumPath } from "./browser.ts";
import { dashboardPlugin } from "./plugin.ts";

describe.skipIf(!chromiumPath())("dashboard page in chromium (plugin only)", () => {
  const app = Fastify();
  let browser: Browser;
  let page: Page;
  let base: string;
  const problems: string[] = [];
  // Code run in the page is passed as text: a function would be rewritten by Vitest's transform
  // (its dynamic import() becomes a helper the page does not have).
  const inPage = <T = Record<string, unknown>>(expression: string) => page.evaluate(expression) as Promise<T>;

  beforeAll(async () => {
    await app.register(dashboardPlugin);
    base = await app.listen({ host: "127.0.0.1", port: 0 });
    ({ browser, page } = await openTestPage({ reportCsp: true, problems }));
  });
  afterAll(async () => {
    await browser?.close();
    await app.close();
  });

  it("starts under its Content-Security-Policy and asks for an API key", async () => {
    await page.goto(base);
    await expect.poll(() => page.getByLabel("API key").isVisible()).toBe(true);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Sign in to Reel");
    expect(await page.locator("#nav").isHidden()).toBe(true);
    // The error registry came through (the page explains codes with it).
    const meaning = await inPage<string>(
      `(async () => (await import("/errors.js")).meaning("REEL_SOURCE_NOT_FOUND"))()`,
    );
    expect(meaning).toMatch(/404/);
    expect(problems).toEqual([]);
  });

  it("refuses inline script: a script element added at run time does not run", async () => {
    const ran = await inPage<boolean>(`(async () => {
      const s = document.createElement("script");
      s.textContent = "window.__inline = true";
      document.body.append(s);
      await new Promise((r) => setTimeout(r, 50));
      return window.__inline === true;
    })()`);
    expect(ran).toBe(false);
    expect(problems.some((p) => p.includes("CSP violation: script-src"))).toBe(true);
    problems.length = 0;
  });

  it("renders hostile text as text and links only http(s) URLs", async () => {
    const out = await inPage(`(async () => {
      const { h, safeLink } = await import("/dom.js");
      const cell = h("td", { title: '"><img src=x onerror=alert(1)>' }, "<img src=x onerror=alert(1)>");
      const js = safeLink("javascript:alert(1)", "click");
      const ok = safeLink("https://cdn.example.com/out.mp4?X-Amz-Signature=abc", "Download");
      let refused = "";
      try {
        h("a", { onclick: "alert(1)" });
      } catch (e) {
        refused = e.message;
      }
      return {
        text: cell.textContent,
        imgs: cell.querySelectorAll("img").length,
        jsIsLink: js.nodeName,
        okHref: ok.href,
        okRel: ok.rel,
        refused,
      };
    })()`);
    expect(out).toEqual({
      text: "<img src=x onerror=alert(1)>",
      imgs: 0,
      jsIsLink: "#text",
      okHref: "https://cdn.example.com/out.mp4?X-Amz-Signature=abc",
      okRel: "noopener noreferrer",
      refused: expect.stringContaining("onclick"),
    });
    expect(problems).toEqual([]);
  });
});
