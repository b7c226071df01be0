// A chromium page for the dashboard's browser tests: what the suite needs to run (and the title
// that says what it skipped for), and a page that records every script error, console error and
// Content-Security-Policy violation in `problems` for the test to expect empty.
import type { Browser, Dialog, Page } from "playwright-core";
import { k8sBinariesBuilt } from "../../../e2e/cluster/cluster.ts";
import { chromiumPath, launchChromium } from "../dashboard/browser.ts";

/** What a suite can need: undefined when it is there, else what is missing and how to get it. */
const needed: Record<"k8s" | "chromium", () => string | undefined> = {
  k8s: () => (k8sBinariesBuilt() ? undefined : "the pinned Kubernetes binaries (bash e2e/scripts/build-k8s.sh)"),
  chromium: () => (chromiumPath() ? undefined : "chromium (apt-get install chromium, or scripts/bootstrap.sh)"),
};

/** Whether to skip, and the suite's title naming what is missing when it does. */
export function suiteNeeds(title: string, needs: (keyof typeof needed)[]): { skip: boolean; title: string } {
  const missing = needs.map((n) => needed[n]()).filter((m): m is string => m !== undefined);
  return {
    skip: missing.length > 0,
    title: missing.length ? `${title} — skipped, needs ${missing.join(" and ")}` : title,
  };
}

export interface TestPageOptions {
  viewport?: { width: number; height: number };
  /** page.setDefaultTimeout, when given. */
  timeoutMs?: number;
  /** "Failed to load resource" lines are answers the page shows (401, 400), not faults: skip them. */
  allowFailedLoads?: boolean;
  /** Add a console error for each CSP violation, so that it lands in `problems`. */
  reportCsp?: boolean;
  /** What to do with alert/confirm dialogs; without it Playwright dismisses them unseen. */
  onDialog?: (d: Dialog) => void;
  /** Where to record faults (a suite's own array, which its tests may clear); a new one by default. */
  problems?: string[];
}

/**
 * The dashboard's pages on a real shim: a desktop viewport, 20 s per step, CSP violations
 * reported. "Failed to load resource" is skipped: a refused key (401) or an invalid form (400)
 * is an answer the page shows, not a fault.
 */
export const shimPageOptions = {
  viewport: { width: 1280, height: 900 },
  timeoutMs: 20_000,
  allowFailedLoads: true,
  reportCsp: true,
} satisfies TestPageOptions;

export interface TestPage {
  browser: Browser;
  page: Page;
  problems: string[];
}

/** Launches chromium and opens a page that records its faults in `problems`. */
export async function openTestPage(o: TestPageOptions = {}): Promise<TestPage> {
  const problems = o.problems ?? [];
  const browser = await launchChromium();
  const page = await browser.newPage(o.viewport ? { viewport: o.viewport } : {});
  if (o.timeoutMs !== undefined) page.setDefaultTimeout(o.timeoutMs);
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !(o.allowFailedLoads && m.text().startsWith("Failed to load resource")))
      problems.push(`console: ${m.text()}`);
  });
  if (o.onDialog) page.on("dialog", o.onDialog);
  if (o.reportCsp)
    await page.addInitScript(
      `document.addEventListener("securitypolicyviolation", (e) =>
        console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI))`,
    );
  return { browser, page, problems };
}
