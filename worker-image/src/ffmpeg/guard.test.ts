import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { childGuard } from "./guard.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("children die with their parent (reel-child, PR_SET_PDEATHSIG)", () => {
  it.skipIf(!childGuard())("a child of execCommand dies within seconds of its parent's SIGKILL", async () => {
    const exec = join(import.meta.dirname, "exec.ts");
    const script = `import { execCommand } from ${JSON.stringify(exec)};
      await execCommand("sh", ["-c", "echo $$; exec sleep 60"], { onStdout: (c) => process.stdout.write(c) });`;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const childPid = await new Promise<number>((resolve) =>
      parent.stdout.once("data", (c: Buffer) => resolve(Number(c.toString().trim()))),
    );
    expect(alive(childPid)).toBe(true);
    parent.kill("SIGKILL");
    for (let i = 0; i < 50 && alive(childPid); i++) await sleep(100);
    const orphaned = alive(childPid);
    if (orphaned) process.kill(childPid, "SIGKILL");
    expect(orphaned).toBe(false);
  });

  it("is built in this tree (npm run build -w @reel/native builds crates/child-guard)", () => {
    expect(childGuard()).toBeDefined();
  });
});
