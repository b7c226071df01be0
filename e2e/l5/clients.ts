// What a user runs against the shim the chart installed, driven by the L5 chart test: the `reel`
// CLI as a real child process (its own HOME, the key in REEL_API_KEY as a CI job passes it), and the
// dashboard the shim pod serves, signed in with a key in Debian's chromium (playwright-core speaks
// CDP to it, as the dashboard's own browser tests do).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { launchChromium } from "../../api-shim/src/dashboard/browser.ts";

const main = join(import.meta.dirname, "..", "..", "worker-image", "src", "cli", "main.ts");

export interface ReelRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `reel <args>` with Node 24 (this process's), against `server` with `key`, HOME in `home`. */
export function reel(args: string[], o: { server: string; key: string; home: string; timeoutMs: number }) {
  return new Promise<ReelRun>((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: o.home,
          XDG_CONFIG_HOME: join(o.home, "config"),
          REEL_SERVER: o.server,
          REEL_API_KEY: o.key,
        },
        timeout: o.timeoutMs,
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The job list as the dashboard shows it: each row's job link text and phase. */
export interface JobRow {
  id: string;
  phase: string;
}

/**
 * Signs in to the dashboard at `base` with `key`, waits until every job of `want` is listed
 * Completed, screenshots the list to `shot` and returns the rows and what went wrong in the page.
 */
export async function dashboardJobs(base: string, key: string, want: string[], shot: string) {
  const browser = await launchChromium();
  const problems: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    await page.goto(base);
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    const who = (await page.locator("#who-text").textContent())?.trim() ?? "";
    for (const id of want) {
      const row = page.locator("tr", { has: page.getByRole("link", { name: id, exact: true }) });
      await row.locator(".phase", { hasText: "Completed" }).waitFor();
    }
    const rows: JobRow[] = [];
    for (const row of await page.locator("tr:has(.phase)").all()) {
      const id = (await row.locator("a").first().textContent())?.trim() ?? "";
      rows.push({ id, phase: (await row.locator(".phase").textContent())?.trim() ?? "" });
    }
    await page.screenshot({ path: shot, fullPage: true });
    return { who, rows, problems };
  } finally {
    await browser.close();
  }
}
