// What /proc says about a running process: CPU time spent and resident memory now. The harness
// reads these for servers it keeps alive across a measurement (apiserver, operator, shim), where
// runMeasured's peak RSS comes only at exit.
import { readFileSync } from "node:fs";

/** utime + stime of a process in seconds, or null once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** VmRSS in MiB, or null once the process is gone. */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * A `--import` argument that makes a Node child print `{"bench":"pid","pid":N}` first, so the
 * harness can read its /proc figures and signal it (GNU time sits between them).
 */
export const PID_LINE =
  'data:text/javascript,process.stdout.write(JSON.stringify({bench:"pid",pid:process.pid})+"\\n")';
