// The system's Debian `chromium` (scripts/bootstrap.sh installs it) driven by playwright-core, for
// the dashboard's browser tests. No browser is downloaded: playwright-core only speaks CDP to it.
import { execFileSync } from "node:child_process";
import { type Browser, chromium } from "playwright-core";

/** The chromium binary on PATH, or undefined when none is installed. */
export function chromiumPath(): string | undefined {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath)
    throw new Error("chromium is not installed: run scripts/bootstrap.sh (apt-get install chromium)");
  return chromium.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox cannot start as root (CI containers); the pages it opens are our own.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}
