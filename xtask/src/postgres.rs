//! A throwaway PostgreSQL server for the test suite, started from the machine's own binaries.
//!
//! Every repository must pass the same tests on SQLite and PostgreSQL, and nobody should need Docker
//! or a shared database for that. So `cargo xtask test` creates a fresh cluster in a temp directory
//! (tuned for speed, not durability) on a free port, and always tears it down again: the `Drop` of
//! [`TempPostgres`] on normal exits, errors and panics, the [`Guardian`] when xtask is killed.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::guardian::Guardian;
use crate::process;

/// The server programs a throwaway cluster needs, all from one directory.
const REQUIRED_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where Debian and Ubuntu install one `<version>/bin` per PostgreSQL major version.
const DEBIAN_INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// The operating-system user that runs PostgreSQL when xtask runs as root.
const SERVER_USER: &str = "postgres";

/// Whether a throwaway server can run here.
pub enum Availability {
    Ready(Setup),
    /// Why not, in one sentence.
    Unavailable(String),
}

/// Looks for server binaries and for a way to run them. A `PG_BIN` that lacks them is an error,
/// not "unavailable": the developer asked for that directory explicitly.
pub fn detect() -> Result<Availability> {
    let Some(bin_dir) = find_bin_dir()? else {
        return Ok(Availability::Unavailable(format!(
            "no PostgreSQL server binaries ({}) in $PG_BIN, {DEBIAN_INSTALL_ROOT}/*/bin or PATH",
            REQUIRED_PROGRAMS.join(", ")
        )));
    };
    Ok(match RunAs::detect() {
        Ok(run_as) => Availability::Ready(Setup { bin_dir, run_as }),
        Err(reason) => Availability::Unavailable(reason),
    })
}

/// Whether the server binaries are installed (in `PG_BIN`, Debian's directory or on PATH).
pub fn binaries_installed() -> Result<bool> {
    Ok(find_bin_dir()?.is_some())
}

/// The Debian package with the server binaries.
pub const DEBIAN_PACKAGE: &str = "postgresql";

fn find_bin_dir() -> Result<Option<PathBuf>> {
    if let Some(dir) = std::env::var_os("PG_BIN").filter(|dir| !dir.is_empty()) {
        let dir = PathBuf::from(dir);
        let missing = missing_programs(&dir);
        if !missing.is_empty() {
            return Err(Error::new(format!(
                "PG_BIN={} does not contain {}",
                dir.display(),
                missing.join(", ")
            )));
        }
        return Ok(Some(dir));
    }
    Ok(newest_debian_bin_dir().or_else(bin_dir_on_path))
}

fn missing_programs(dir: &Path) -> Vec<&'static str> {
    REQUIRED_PROGRAMS
        .into_iter()
        .filter(|name| !process::is_executable(&dir.join(name)))
        .collect()
}

/// `/usr/lib/postgresql/<highest version>/bin`, if one has every required program.
fn newest_debian_bin_dir() -> Option<PathBuf> {
    fs::read_dir(DEBIAN_INSTALL_ROOT)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = version_key(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            missing_programs(&bin).is_empty().then_some((version, bin))
        })
        .max_by(|(left, _), (right, _)| left.cmp(right))
        .map(|(_, bin)| bin)
}

/// `"15"` → `[15]`, `"9.6"` → `[9, 6]`, so versions compare numerically.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn bin_dir_on_path() -> Option<PathBuf> {
    let initdb = process::find_program("initdb", &[])?;
    let dir = initdb.parent()?.to_path_buf();
    missing_programs(&dir).is_empty().then_some(dir)
}

/// Who runs the PostgreSQL programs: PostgreSQL refuses to run as root.
enum RunAs {
    CurrentUser,
    Runuser(PathBuf),
    Su(PathBuf),
}

impl RunAs {
    fn detect() -> std::result::Result<Self, String> {
        if !process::is_root() {
            return Ok(Self::CurrentUser);
        }
        if !user_exists(SERVER_USER) {
            return Err(format!(
                "xtask runs as root, PostgreSQL refuses to, and there is no `{SERVER_USER}` user \
                 to run it as (install the postgresql package, or `useradd --system {SERVER_USER}`)"
            ));
        }
        let system_dirs = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];
        if let Some(runuser) = process::find_program("runuser", &system_dirs) {
            return Ok(Self::Runuser(runuser));
        }
        if let Some(su) = process::find_program("su", &system_dirs) {
            return Ok(Self::Su(su));
        }
        Err(format!(
            "xtask runs as root and found neither `runuser` nor `su` to run PostgreSQL as `{SERVER_USER}`"
        ))
    }

    /// `program args...`, run as the server user when needed.
    fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut command = match self {
            Self::CurrentUser => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
            Self::Runuser(runuser) => {
                let mut command = Command::new(runuser);
                command
                    .args(["-u", SERVER_USER, "--"])
                    .arg(program)
                    .args(args);
                command
            }
            Self::Su(su) => {
                let line = std::iter::once(program.to_string_lossy().into_owned())
                    .chain(args.iter().cloned())
                    .map(|word| process::shell_quote(&word))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut command = Command::new(su);
                command.args(["-s", "/bin/sh", SERVER_USER, "-c", &line]);
                command
            }
        };
        // The server user may not be allowed into xtask's working directory.
        command.current_dir("/").stdin(Stdio::null());
        command
    }

    fn is_server_user(&self) -> bool {
        !matches!(self, Self::CurrentUser)
    }
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .args(["-u", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Server binaries plus the way to run them.
pub struct Setup {
    bin_dir: PathBuf,
    run_as: RunAs,
}

impl Setup {
    fn command(&self, program: &str, args: &[String]) -> Command {
        self.run_as.command(&self.bin_dir.join(program), args)
    }

    /// The output of `program args...`, which must succeed (used for `--version` and `--help`).
    fn query(&self, program: &str, args: &[&str]) -> Result<String> {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        let mut command = self.command(program, &args);
        let output = command.output().map_err(|error| {
            Error::new(format!(
                "could not run `{}`: {error}",
                process::describe(&command)
            ))
        })?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "`{}` failed ({}): {}",
                process::describe(&command),
                process::describe_status(output.status),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `15.14` from `pg_ctl (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)`.
    fn version(&self) -> Result<String> {
        let output = self.query("pg_ctl", &["--version"])?;
        Ok(parse_version(&output).unwrap_or_else(|| output.trim().to_owned()))
    }

    fn initdb_supports_no_sync(&self) -> Result<bool> {
        Ok(self.query("initdb", &["--help"])?.contains("--no-sync"))
    }
}

fn parse_version(output: &str) -> Option<String> {
    let (_, rest) = output.split_once("(PostgreSQL)")?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// A running throwaway PostgreSQL cluster; dropping it stops the server and removes its directory.
pub struct TempPostgres {
    setup: Setup,
    version: String,
    /// Temp directory: `data/` (the cluster), `log` (server log), `setup.log`, and the socket.
    root: PathBuf,
    port: u16,
    running: bool,
    /// Set when starting failed, so the logs can be read afterwards.
    keep_root: bool,
    /// Declared last: dropped (disarmed) only after `Drop::drop` has cleaned up.
    guardian: Option<Guardian>,
}

impl TempPostgres {
    /// Creates a cluster in a fresh temp directory and starts it on a free local port.
    pub fn start(setup: Setup) -> Result<Self> {
        let started = Instant::now();
        let version = setup.version()?;
        let no_sync = setup.initdb_supports_no_sync()?;
        let guardian = Guardian::spawn();
        let root = create_root()?;
        if let Some(guardian) = &guardian {
            guardian.remove_on_abandon(&root);
        }
        let mut server = Self {
            setup,
            version,
            root,
            port: 0,
            running: false,
            keep_root: false,
            guardian,
        };
        server.hand_root_to_server_user()?;
        server.init_cluster(no_sync)?;
        server.port = free_port()?;
        eprintln!(
            "xtask: starting PostgreSQL {} on 127.0.0.1:{} ...",
            server.version, server.port
        );
        server.launch()?;
        eprintln!(
            "xtask: PostgreSQL ready after {}",
            process::format_duration(started.elapsed())
        );
        Ok(server)
    }

    /// The URL the tests create their databases from.
    pub fn url(&self) -> String {
        format!("postgres://{SERVER_USER}@127.0.0.1:{}/postgres", self.port)
    }

    pub fn describe(&self) -> String {
        format!(
            "throwaway PostgreSQL {} on 127.0.0.1:{}",
            self.version, self.port
        )
    }

    /// The guardian, to register more cleanup (the test run's pid) with it.
    pub fn guardian(&self) -> Option<&Guardian> {
        self.guardian.as_ref()
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn server_log(&self) -> PathBuf {
        self.root.join("log")
    }

    fn setup_log(&self) -> PathBuf {
        self.root.join("setup.log")
    }

    fn hand_root_to_server_user(&mut self) -> Result<()> {
        if !self.setup.run_as.is_server_user() {
            return Ok(());
        }
        let owner = format!("{SERVER_USER}:{SERVER_USER}");
        let status = Command::new("chown")
            .arg("-R")
            .arg(&owner)
            .arg(&self.root)
            .status()
            .map_err(|error| Error::new(format!("could not run chown: {error}")))?;
        if !status.success() {
            return Err(Error::new(format!(
                "chown -R {owner} {} failed ({})",
                self.root.display(),
                process::describe_status(status)
            )));
        }
        Ok(())
    }

    fn init_cluster(&mut self, no_sync: bool) -> Result<()> {
        let mut args = vec![
            "-D".to_owned(),
            path_arg(&self.data_dir()),
            "-U".to_owned(),
            SERVER_USER.to_owned(),
            "--auth=trust".to_owned(),
            "--encoding=UTF8".to_owned(),
            "--no-locale".to_owned(),
        ];
        if no_sync {
            args.push("--no-sync".to_owned());
        }
        let as_user = if self.setup.run_as.is_server_user() {
            format!(" as user {SERVER_USER}")
        } else {
            String::new()
        };
        eprintln!(
            "xtask: creating a PostgreSQL {} cluster in {}{as_user}",
            self.version,
            self.root.display()
        );
        let command = self.setup.command("initdb", &args);
        let status = self.run_logged(command)?;
        if !status.success() {
            self.keep_root = true;
            return Err(self.failure("initdb", status, &self.setup_log()));
        }
        Ok(())
    }

    fn launch(&mut self) -> Result<()> {
        let options = [
            format!("-p {}", self.port),
            format!("-k {}", process::shell_quote(&path_arg(&self.root))),
            "-c listen_addresses=127.0.0.1".to_owned(),
            "-c fsync=off".to_owned(),
            "-c full_page_writes=off".to_owned(),
            "-c synchronous_commit=off".to_owned(),
            "-c max_connections=200".to_owned(),
        ]
        .join(" ");
        let args = [
            "-D".to_owned(),
            path_arg(&self.data_dir()),
            "-o".to_owned(),
            options,
            "-l".to_owned(),
            path_arg(&self.server_log()),
            "-w".to_owned(),
            "start".to_owned(),
        ];
        if let Some(guardian) = &self.guardian {
            guardian.run_on_abandon(&self.stop_command());
        }
        // From here on a stop is due, even if `pg_ctl start` fails half-way.
        self.running = true;
        let command = self.setup.command("pg_ctl", &args);
        let status = self.run_logged(command)?;
        if !status.success() {
            self.keep_root = true;
            return Err(self.failure("pg_ctl start", status, &self.server_log()));
        }
        Ok(())
    }

    fn stop_command(&self) -> Command {
        let args = [
            "-D",
            &path_arg(&self.data_dir()),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]
        .map(str::to_owned);
        self.setup.command("pg_ctl", &args)
    }

    fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        match self.run_logged(self.stop_command()) {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!(
                "xtask: warning: {}\nxtask: check for a leftover server with `pgrep -a postgres`",
                self.failure("pg_ctl stop", status, &self.setup_log())
                    .message
            ),
            Err(error) => eprintln!("xtask: warning: {}", error.message),
        }
    }

    /// Runs a PostgreSQL program with its output appended to `setup.log`.
    fn run_logged(&self, mut command: Command) -> Result<ExitStatus> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.setup_log())
            .map_err(|error| {
                Error::new(format!(
                    "could not open {}: {error}",
                    self.setup_log().display()
                ))
            })?;
        let log_for_stderr = log
            .try_clone()
            .map_err(|error| Error::new(format!("could not duplicate a file handle: {error}")))?;
        command
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_for_stderr))
            .status()
            .map_err(|error| {
                Error::new(format!(
                    "could not run `{}`: {error}",
                    process::describe(&command)
                ))
            })
    }

    /// `initdb failed (exit 1); see <log>`, followed by the end of that log.
    fn failure(&self, what: &str, status: ExitStatus, log: &Path) -> Error {
        let kept = if self.keep_root {
            " (the directory is kept for inspection; remove it when done)"
        } else {
            ""
        };
        Error::new(format!(
            "{what} failed ({}); see {}{kept}\n{}",
            process::describe_status(status),
            log.display(),
            tail(log, 15)
        ))
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let started = Instant::now();
        self.stop();
        if self.keep_root {
            eprintln!("xtask: kept {}", self.root.display());
            return;
        }
        match fs::remove_dir_all(&self.root) {
            Ok(()) => eprintln!(
                "xtask: stopped PostgreSQL and removed {} ({})",
                self.root.display(),
                process::format_duration(started.elapsed())
            ),
            Err(error) => eprintln!(
                "xtask: warning: could not remove {}: {error}",
                self.root.display()
            ),
        }
    }
}

/// A new, empty, private directory under the system temp dir.
fn create_root() -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let root = std::env::temp_dir().join(format!("xtask-pg-{}-{nanos}", std::process::id()));
    fs::create_dir(&root)
        .map_err(|error| Error::new(format!("could not create {}: {error}", root.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).map_err(|error| {
            Error::new(format!("could not restrict {}: {error}", root.display()))
        })?;
    }
    // Absolute, so the server and the cleanup find it from any working directory.
    fs::canonicalize(&root)
        .map_err(|error| Error::new(format!("could not resolve {}: {error}", root.display())))
}

/// A local TCP port nobody listens on right now (there is a small race until PostgreSQL binds it).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|error| Error::new(format!("could not find a free local port: {error}")))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| Error::new(format!("could not read the free port: {error}")))
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The last `lines` lines of a log file, indented, or a note that it cannot be read.
fn tail(path: &Path, lines: usize) -> String {
    let Ok(bytes) = fs::read(path) else {
        return format!("  ({} cannot be read)", path.display());
    };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|line| format!("  | {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key("10") > version_key("9.6"));
        assert!(version_key("17") > version_key("15"));
        assert_eq!(version_key("main"), None);
    }

    #[test]
    fn version_is_read_from_pg_ctl_output() {
        let output = "pg_ctl (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n";
        assert_eq!(parse_version(output).as_deref(), Some("15.14"));
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn su_gets_one_quoted_command_line() {
        let run_as = RunAs::Su(PathBuf::from("/bin/su"));
        let command = run_as.command(
            Path::new("/usr/lib/postgresql/15/bin/pg_ctl"),
            &["-o".to_owned(), "-p 5 -k '/tmp/x'".to_owned()],
        );
        let args: Vec<String> = command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.last().map(String::as_str),
            Some(r"/usr/lib/postgresql/15/bin/pg_ctl -o '-p 5 -k '\''/tmp/x'\'''")
        );
    }
}
