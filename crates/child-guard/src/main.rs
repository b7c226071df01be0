//! `reel-child <parent-pid> <command> [args…]`: execs `command` so that it dies with the process
//! that spawned it. Node cannot set `PR_SET_PDEATHSIG` between fork and exec, so the worker spawns
//! this instead: it asks the kernel for SIGKILL when its parent dies, checks the parent is still
//! the one that spawned it (it may have died before the request took effect), then execs. The
//! signal request survives exec, so a SIGKILLed `reel run` takes its ffmpeg with it.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

/// Exit code when the command could not be started (as a shell answers for "cannot execute").
const CANNOT_EXEC: u8 = 126;
/// Exit code when the command was not found (as a shell answers).
const NOT_FOUND: u8 = 127;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some((parent, command)) = parse(&args) else {
        eprintln!("usage: reel-child <parent-pid> <command> [args…]");
        return ExitCode::from(2);
    };
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and touches no memory of ours.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        eprintln!(
            "reel-child: prctl(PR_SET_PDEATHSIG): {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::from(CANNOT_EXEC);
    }
    // The parent may have died between our fork and the prctl: then nobody would kill us.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        eprintln!("reel-child: parent {parent} is gone; not starting the command");
        return ExitCode::from(CANNOT_EXEC);
    }
    exec(command)
}

/// `<parent-pid> <command> [args…]` as the pid and the command's argv.
fn parse(args: &[OsString]) -> Option<(libc::pid_t, Vec<CString>)> {
    let (pid, command) = args.split_first()?;
    let pid: libc::pid_t = pid.to_str()?.parse().ok().filter(|p| *p > 0)?;
    if command.is_empty() {
        return None;
    }
    let argv = command
        .iter()
        .map(|a| CString::new(a.as_bytes()).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((pid, argv))
}

/// Replaces this process with `argv[0]` looked up on PATH; returns only when that fails.
fn exec(argv: Vec<CString>) -> ExitCode {
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: `ptrs` is a NULL-terminated array of pointers into `argv`, alive across the call.
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    let err = std::io::Error::last_os_error();
    eprintln!("reel-child: cannot run {}: {err}", argv[0].to_string_lossy());
    ExitCode::from(if err.kind() == std::io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_EXEC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_the_parent_pid_and_the_command() {
        let (pid, argv) = parse(&os(&["42", "ffmpeg", "-i", "x"])).unwrap();
        assert_eq!(pid, 42);
        assert_eq!(argv.len(), 3);
        assert_eq!(argv[0].to_str().unwrap(), "ffmpeg");
    }

    #[test]
    fn refuses_a_missing_command_or_a_bad_pid() {
        assert!(parse(&os(&["42"])).is_none());
        assert!(parse(&os(&["0", "ffmpeg"])).is_none());
        assert!(parse(&os(&["-1", "ffmpeg"])).is_none());
        assert!(parse(&os(&["x", "ffmpeg"])).is_none());
        assert!(parse(&os(&[])).is_none());
    }
}
