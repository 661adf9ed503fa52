//! Small helpers for running other programs: where the workspace is, how to call cargo, how to turn
//! a child's exit status into ours, and how to find a program on the `PATH`.
//!
//! Kept in one place so every command reports and forwards exit codes the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Duration;

use crate::error::{Error, Result};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one directory below the workspace root")
}

/// `cargo`, the same one that runs xtask (`$CARGO`), started in the workspace root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// A shell-like rendering of a command, for progress lines (`cargo run -p runtime-server -- serve`).
pub fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program());
    std::iter::once(program)
        .chain(command.get_args())
        .map(|part| shell_quote(&part.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` in place of xtask, with xtask's stdin/stdout/stderr, and leaves with its exit code.
///
/// On Unix xtask `exec`s the command (as `cargo run` itself does), so signals sent to xtask's pid,
/// not only Ctrl-C to the whole process group, reach the program directly.
pub fn run_in_place(mut command: Command) -> Result<ExitCode> {
    eprintln!("xtask: {}", describe(&command));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        Err(Error::new(format!(
            "could not run `{}`: {error}",
            describe(&command)
        )))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(|error| {
            Error::new(format!("could not run `{}`: {error}", describe(&command)))
        })?;
        Ok(ExitCode::from(exit_code(status)))
    }
}

/// The exit code a shell would report for `status` (128 + signal number when killed by a signal).
pub fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}

/// A human-readable exit status: `exit 101`, `signal 2`.
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    status.to_string()
}

/// The first executable file called `name` in the directories of `$PATH`, then `extra_dirs`.
pub fn find_program(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file we may execute.
pub fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// Whether xtask runs with effective uid 0, read from `/proc/self/status` (no libc needed), falling
/// back to `id -u` where `/proc` is not available.
pub fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        return effective_uid_from_status(&status) == Some(0);
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The effective uid from a `/proc/<pid>/status` text (`Uid: real effective saved fs`).
fn effective_uid_from_status(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Quotes `word` for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// `12.3s` under a minute, `4m05s` above.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = duration.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// The part of `args` before a literal `--` and the part after it (without the `--`).
pub fn split_at_double_dash(args: &[String]) -> (&[String], &[String]) {
    match args.iter().position(|arg| arg == "--") {
        Some(index) => (&args[..index], &args[index + 1..]),
        None => (args, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_uid_is_the_second_number_of_the_uid_line() {
        let status = "Name:\txtask\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid_from_status(status), Some(0));
        assert_eq!(effective_uid_from_status("Name:\txtask\n"), None);
    }

    #[test]
    fn shell_quote_leaves_plain_words_alone_and_quotes_the_rest() {
        assert_eq!(shell_quote("--features"), "--features");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn durations_switch_to_minutes_after_a_minute() {
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
    }

    #[test]
    fn double_dash_splits_own_args_from_passthrough() {
        let args: Vec<String> = ["--release", "--", "--port", "1"].map(String::from).into();
        let (own, rest) = split_at_double_dash(&args);
        assert_eq!(own, ["--release"]);
        assert_eq!(rest, ["--port", "1"]);
    }
}
