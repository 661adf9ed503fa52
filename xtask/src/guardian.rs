//! The cleanup guardian: a helper process that undoes what `cargo xtask test` set up when xtask dies
//! before it can do so itself.
//!
//! Why it exists: xtask is std-only, and std cannot catch or ignore SIGINT/SIGTERM. Ctrl-C in a
//! terminal signals the whole foreground process group, so xtask dies together with `cargo test`, and
//! its `Drop` guards never run; PostgreSQL (which `pg_ctl` detaches into its own session) would keep
//! running and its temp directory would stay behind. The `Drop` guards still cover normal exits,
//! errors and panics; the guardian covers signals (even SIGKILL).
//!
//! How: the guardian is xtask itself, started again with a hidden command in its own process group
//! (so Ctrl-C does not reach it), reading one instruction per line from a pipe whose write end only
//! xtask holds. xtask registers a cleanup action right before it creates each thing and sends
//! `disarm` once it has cleaned up itself. If the pipe reaches end-of-file without `disarm`, xtask is
//! gone: the guardian runs the registered actions in reverse order, like a scope's finalizers.
//!
//! Limitation: the cleanup messages may appear after the shell prompt has already come back.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};

/// The hidden xtask command that turns the process into a guardian.
pub const COMMAND: &str = "__cleanup-guardian";

const SEPARATOR: char = '\t';

/// xtask's handle on its guardian. Dropping it disarms the guardian.
pub struct Guardian {
    stdin: Option<ChildStdin>,
    process: Child,
}

impl Guardian {
    /// Starts a guardian. Without one, cleanup still happens on every exit except by a signal, so a
    /// failure to start it is a warning, not an error.
    pub fn spawn() -> Option<Self> {
        match spawn_process() {
            Ok(mut process) => Some(Self {
                stdin: process.stdin.take(),
                process,
            }),
            Err(error) => {
                eprintln!(
                    "xtask: warning: could not start the cleanup guardian ({error}); \
                     if xtask is killed, stop PostgreSQL and remove its temp dir by hand"
                );
                None
            }
        }
    }

    /// If xtask dies, send SIGTERM to `pid`.
    pub fn kill_on_abandon(&self, pid: u32) {
        self.send(&format!("kill{SEPARATOR}{pid}"));
    }

    /// `pid` has exited: no need to signal it any more.
    pub fn forget_process(&self, pid: u32) {
        self.send(&format!("forget{SEPARATOR}{pid}"));
    }

    /// If xtask dies, run `command` (program, arguments and working directory; not the environment).
    pub fn run_on_abandon(&self, command: &Command) {
        let cwd = command
            .get_current_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let parts: Vec<String> = std::iter::once(cwd.as_os_str())
            .chain(std::iter::once(command.get_program()))
            .chain(command.get_args())
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        self.send(&format!(
            "run{SEPARATOR}{}",
            parts.join(&SEPARATOR.to_string())
        ));
    }

    /// If xtask dies, remove the directory `path` and everything in it.
    pub fn remove_on_abandon(&self, path: &Path) {
        self.send(&format!("remove{SEPARATOR}{}", path.display()));
    }

    fn send(&self, line: &str) {
        if line.contains('\n') {
            eprintln!("xtask: warning: cannot hand `{line}` to the cleanup guardian (newline)");
            return;
        }
        if let Some(mut stdin) = self.stdin.as_ref() {
            // A write error means the guardian is gone; xtask's own cleanup still runs.
            let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
        }
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        self.send("disarm");
        drop(self.stdin.take());
        let _ = self.process.wait();
    }
}

fn spawn_process() -> std::io::Result<Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg(COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: Ctrl-C in the terminal must not reach the guardian.
        command.process_group(0);
    }
    command.spawn()
}

/// The guardian's main loop: collect actions until `disarm` (exit quietly) or end-of-file (clean up).
pub fn serve() -> ExitCode {
    let mut actions: Vec<Action> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line == "disarm" {
            return ExitCode::SUCCESS;
        }
        match Action::parse(&line) {
            Some(Action::Forget(pid)) => actions.retain(|action| *action != Action::Kill(pid)),
            Some(action) => actions.push(action),
            None => eprintln!("xtask guardian: ignoring unknown instruction `{line}`"),
        }
    }
    if !actions.is_empty() {
        eprintln!("xtask: interrupted; cleaning up after the test run ...");
    }
    for action in actions.iter().rev() {
        action.perform();
    }
    ExitCode::SUCCESS
}

#[derive(Debug, PartialEq)]
enum Action {
    Kill(u32),
    Forget(u32),
    Run {
        cwd: PathBuf,
        program: String,
        args: Vec<String>,
    },
    Remove(PathBuf),
}

impl Action {
    fn parse(line: &str) -> Option<Self> {
        let mut fields = line.split(SEPARATOR);
        let action = match fields.next()? {
            "kill" => Self::Kill(fields.next()?.parse().ok()?),
            "forget" => Self::Forget(fields.next()?.parse().ok()?),
            "run" => Self::Run {
                cwd: PathBuf::from(fields.next()?),
                program: fields.next()?.to_owned(),
                args: fields.map(str::to_owned).collect(),
            },
            "remove" => Self::Remove(PathBuf::from(fields.next()?)),
            _ => return None,
        };
        Some(action)
    }

    fn perform(&self) {
        match self {
            Self::Kill(pid) => {
                // The shell's `kill` builtin is always there; the process may already be gone.
                let _ = Command::new("sh")
                    .args([
                        "-c",
                        "kill -TERM \"$1\" 2>/dev/null",
                        "sh",
                        &pid.to_string(),
                    ])
                    .status();
            }
            Self::Forget(_) => {}
            Self::Run { cwd, program, args } => {
                let status = Command::new(program)
                    .args(args)
                    .current_dir(cwd)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                if !status.is_ok_and(|status| status.success()) {
                    eprintln!(
                        "xtask: cleanup command `{program} {}` failed",
                        args.join(" ")
                    );
                }
            }
            Self::Remove(path) => match std::fs::remove_dir_all(path) {
                Ok(()) => eprintln!("xtask: removed {}", path.display()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => eprintln!("xtask: could not remove {}: {error}", path.display()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_round_trip_through_lines() {
        assert_eq!(Action::parse("kill\t42"), Some(Action::Kill(42)));
        assert_eq!(
            Action::parse("run\t/tmp\tpg_ctl\t-D\t/tmp/data\tstop"),
            Some(Action::Run {
                cwd: PathBuf::from("/tmp"),
                program: "pg_ctl".into(),
                args: vec!["-D".into(), "/tmp/data".into(), "stop".into()],
            })
        );
        assert_eq!(
            Action::parse("remove\t/tmp/x y"),
            Some(Action::Remove("/tmp/x y".into()))
        );
        assert_eq!(Action::parse("launch\tmissiles"), None);
        assert_eq!(Action::parse("kill\tnot-a-pid"), None);
    }
}
