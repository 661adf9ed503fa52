//! The server processes the benchmark starts: launched in a scratch data directory with a clean,
//! known environment, their first stdout lines read with a deadline, their memory read from
//! `/proc/<pid>/status`, and stopped with SIGTERM (checked to exit 0). A process still running when
//! its handle is dropped (an error path) is killed, so the benchmark never leaves servers behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::process;

/// A running server started by the benchmark.
pub struct Server {
    name: String,
    child: Child,
    /// Held open: some targets stop when their stdin closes.
    _stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pub log: PathBuf,
}

/// A command for `program` running in `data_dir` (also its working directory, so no `.env` of the
/// workspace is read) with only the variables the benchmark means: SQLite in `data_dir`, a free
/// port, logs at warn, no OTLP export.
pub fn server_command(program: &Path, args: &[&str], data_dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(data_dir)
        .env_clear()
        .env("APP_DATA_DIR", data_dir)
        .env("APP_API_PORT", "0")
        .env("APP_API_HOST", "127.0.0.1")
        .env("APP_LOG_LEVEL", "warn")
        .env("APP_SHUTDOWN_TIMEOUT_SECS", "5");
    for name in ["PATH", "TMPDIR", "HOME"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

impl Server {
    /// Starts `command` with stdout piped (read line by line) and stderr to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Self, String> {
        if let Some(folder) = log.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|error| format!("bench: cannot create {}: {error}", folder.display()))?;
        }
        let log_file = std::fs::File::create(log)
            .map_err(|error| format!("bench: cannot create {}: {error}", log.display()))?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|error| {
                format!(
                    "bench: cannot start `{}`: {error}",
                    process::describe(&command)
                )
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            name: name.to_owned(),
            _stdin: child.stdin.take(),
            child,
            lines,
            log: log.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line, or an error naming the log when none comes within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "bench: {} printed nothing within {} s; see {}",
                self.name,
                timeout.as_secs(),
                self.log.display()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(process::describe_status);
                Err(format!(
                    "bench: {} exited before it was ready ({}); see {}",
                    self.name,
                    status.unwrap_or_else(|e| e.to_string()),
                    self.log.display()
                ))
            }
        }
    }

    /// The text after `prefix` on the next stdout line.
    pub fn expect_line(&mut self, prefix: &str, timeout: Duration) -> Result<String, String> {
        let line = self.next_line(timeout)?;
        line.strip_prefix(prefix)
            .map(|rest| rest.trim().to_owned())
            .ok_or_else(|| {
                format!(
                    "bench: {} printed `{line}`, expected `{prefix}...`; see {}",
                    self.name,
                    self.log.display()
                )
            })
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit, which must be a success.
    pub fn terminate(mut self, timeout: Duration) -> Result<Duration, String> {
        let asked = Instant::now();
        send_sigterm(self.child.id())?;
        let status = self.wait_for_exit(timeout)?;
        if !status.success() {
            return Err(format!(
                "bench: {} ended with {} after SIGTERM (expected exit 0); see {}",
                self.name,
                process::describe_status(status),
                self.log.display()
            ));
        }
        Ok(asked.elapsed())
    }

    fn wait_for_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    return Err(format!(
                        "bench: {} did not exit within {} s of SIGTERM; see {}",
                        self.name,
                        timeout.as_secs(),
                        self.log.display()
                    ))
                }
                Err(error) => return Err(format!("bench: waiting for {}: {error}", self.name)),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// SIGTERM through `kill(1)`: std has no way to send a signal other than SIGKILL.
fn send_sigterm(pid: u32) -> Result<(), String> {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map_err(|error| format!("bench: cannot run `kill -TERM {pid}`: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("bench: `kill -TERM {pid}` failed ({status})"))
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss_kib: u64,
    /// VmHWM: the highest resident size so far.
    pub peak_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Result<Self, String> {
        let path = format!("/proc/{pid}/status");
        let status = std::fs::read_to_string(&path)
            .map_err(|error| format!("bench: cannot read {path}: {error}"))?;
        Self::parse(&status).ok_or_else(|| format!("bench: no VmRSS/VmHWM in {path}"))
    }

    fn parse(status: &str) -> Option<Self> {
        Some(Self {
            rss_kib: kib_field(status, "VmRSS:")?,
            peak_kib: kib_field(status, "VmHWM:")?,
        })
    }
}

fn kib_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// A scratch directory removed when dropped.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn create(label: &str) -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "xtask-bench-{}-{label}-{nanos:x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)
            .map_err(|error| format!("bench: cannot create {}: {error}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_comes_from_vmrss_and_vmhwm() {
        let status = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        let memory = Memory::parse(status).expect("fields");
        assert_eq!(memory.rss_kib, 10240);
        assert_eq!(memory.peak_kib, 20480);
        assert!(Memory::parse("Name:\tx\n").is_none());
    }

    #[test]
    fn our_own_memory_is_readable() {
        let memory = Memory::of(std::process::id()).expect("own status");
        assert!(memory.rss_kib > 0 && memory.peak_kib >= memory.rss_kib);
    }
}
