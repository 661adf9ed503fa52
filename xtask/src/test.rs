//! `cargo xtask test`: the whole test suite, the same way on every machine and in CI.
//!
//! It provisions what the tests need by itself (issue 10), each step printing its progress and
//! reusing what an earlier run installed (see `provision.rs`): the Node.js clients of the
//! compatibility tests (`npm ci`), Python's aiosmtpd for comms-server's real SMTP server (a
//! virtual environment under `target/`), and PostgreSQL's server binaries (apt, as root) for a
//! throwaway server so every repository is tested on both backends. Then it runs `cargo test`
//! with `TEST_POSTGRES_URL` and `COMMS_TEST_PYTHON` set, cleans up, and ends with one summary line.

use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::postgres::{self, Availability, TempPostgres};
use crate::process;
use crate::provision;

/// Directories (relative to the workspace root) of the Node.js clients the compatibility tests drive.
/// Adding a client is one line here; `npm ci` runs in each one that has a `package-lock.json`.
const JS_CLIENT_DIRS: &[&str] = &[
    "crates/runtime-server/tests/js/effect-rpc",
    "crates/iam-server/tests/js/better-auth",
];

/// Workspace packages without a library target: `cargo test --lib` and `--doc` fail if only these
/// are selected.
const PACKAGES_WITHOUT_LIB: &[&str] = &["xtask"];

const POSTGRES_URL_VAR: &str = "TEST_POSTGRES_URL";

/// The pinned Python packages of comms-server's SMTP test server, and the variable that hands
/// the virtual environment's interpreter to its tests.
const SMTP_REQUIREMENTS: &str = "crates/comms-server/tests/common/requirements.txt";
const SMTP_PYTHON_VAR: &str = "COMMS_TEST_PYTHON";

pub fn run(args: &[String]) -> Result<ExitCode> {
    let started = Instant::now();
    prepare_js_clients()?;
    let smtp_python = prepare_smtp_server()?;
    let database = TestDatabase::provide()?;
    let status = run_cargo_tests(args, &database, smtp_python.as_deref())?;
    let database_summary = database.describe();
    drop(database); // Stops PostgreSQL before the summary, so the duration includes it.
    let outcome = if status.success() {
        "passed".to_owned()
    } else {
        format!("FAILED ({})", process::describe_status(status))
    };
    eprintln!(
        "xtask: test {outcome} in {} ({database_summary})",
        process::format_duration(started.elapsed())
    );
    Ok(ExitCode::from(process::exit_code(status)))
}

/// Installs the Node.js clients listed in [`JS_CLIENT_DIRS`].
fn prepare_js_clients() -> Result<()> {
    for dir in JS_CLIENT_DIRS {
        provision::npm_ci("node", &process::workspace_root().join(dir))?;
    }
    Ok(())
}

/// The interpreter with aiosmtpd for comms-server's SMTP tests: `COMMS_TEST_PYTHON` when the
/// caller set it, else a virtual environment under `target/` that this step keeps up to date.
fn prepare_smtp_server() -> Result<Option<PathBuf>> {
    if let Some(python) = std::env::var_os(SMTP_PYTHON_VAR).filter(|value| !value.is_empty()) {
        provision::step(
            "smtp",
            format!(
                "using {SMTP_PYTHON_VAR}={} from the environment",
                PathBuf::from(&python).display()
            ),
        );
        return Ok(Some(PathBuf::from(python)));
    }
    let requirements = process::workspace_root().join(SMTP_REQUIREMENTS);
    match provision::python_venv("smtp", "aiosmtpd", &requirements) {
        Ok(python) => Ok(Some(python)),
        Err(error) if provision::is_ci() => Err(error),
        Err(error) => {
            provision::step(
                "smtp",
                format!(
                    "WARNING: {}; the SMTP delivery tests will be SKIPPED",
                    error.message
                ),
            );
            Ok(None)
        }
    }
}

/// The PostgreSQL the tests run against, if any.
enum TestDatabase {
    /// `TEST_POSTGRES_URL` was already set: use it, start nothing.
    External(String),
    Temporary(TempPostgres),
    /// No server could be started; the PostgreSQL tests skip themselves.
    Skipped,
}

impl TestDatabase {
    fn provide() -> Result<Self> {
        if let Some(url) = std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|url| !url.is_empty())
        {
            eprintln!(
                "xtask: using {POSTGRES_URL_VAR}={} from the environment",
                redact_password(&url)
            );
            return Ok(Self::External(url));
        }
        if !postgres::binaries_installed()? {
            let installed = provision::apt_install(
                "postgres",
                &[postgres::DEBIAN_PACKAGE],
                "a throwaway PostgreSQL for the PostgreSQL half of the tests",
            );
            if let Err(error) = installed {
                if provision::is_ci() {
                    return Err(Error::new(format!(
                        "{}\nxtask: CI=true: refusing to skip the PostgreSQL tests (or set PG_BIN or {POSTGRES_URL_VAR}).",
                        error.message
                    )));
                }
                warn_skipped(&error.message);
                return Ok(Self::Skipped);
            }
        }
        match postgres::detect()? {
            Availability::Ready(setup) => {
                provision::step(
                    "postgres",
                    "server binaries found, starting a throwaway server",
                );
                Ok(Self::Temporary(TempPostgres::start(setup)?))
            }
            Availability::Unavailable(reason) if provision::is_ci() => Err(Error::new(format!(
                "{reason}.\nxtask: CI=true: refusing to skip the PostgreSQL tests. Install the \
                 server binaries ({}), or set PG_BIN or {POSTGRES_URL_VAR}.",
                provision::apt_command(&[postgres::DEBIAN_PACKAGE])
            ))),
            Availability::Unavailable(reason) => {
                warn_skipped(&reason);
                Ok(Self::Skipped)
            }
        }
    }

    fn url(&self) -> Option<String> {
        match self {
            Self::External(url) => Some(url.clone()),
            Self::Temporary(server) => Some(server.url()),
            Self::Skipped => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::External(_) => format!("PostgreSQL from {POSTGRES_URL_VAR}"),
            Self::Temporary(server) => server.describe(),
            Self::Skipped => "PostgreSQL tests SKIPPED".to_owned(),
        }
    }

    /// Asks the guardian to stop `pid` if xtask is killed while it runs (see `guardian.rs`).
    fn watch(&self, pid: u32) {
        if let Some(guardian) = self.temporary().and_then(TempPostgres::guardian) {
            guardian.kill_on_abandon(pid);
        }
    }

    fn unwatch(&self, pid: u32) {
        if let Some(guardian) = self.temporary().and_then(TempPostgres::guardian) {
            guardian.forget_process(pid);
        }
    }

    fn temporary(&self) -> Option<&TempPostgres> {
        match self {
            Self::Temporary(server) => Some(server),
            Self::External(_) | Self::Skipped => None,
        }
    }
}

fn warn_skipped(reason: &str) {
    let rule = "=".repeat(78);
    eprintln!(
        "xtask: {rule}\n\
         xtask: WARNING: PostgreSQL tests will be SKIPPED.\n\
         xtask: {reason}.\n\
         xtask: Only the SQLite half of the repository tests runs. To run both, run xtask as\n\
         xtask: root (it installs the server binaries), or install them ({}),\n\
         xtask: or set PG_BIN to their directory, or {POSTGRES_URL_VAR} to a server you own.\n\
         xtask: Under CI=true this is an error.\n\
         xtask: {rule}",
        provision::apt_command(&[postgres::DEBIAN_PACKAGE])
    );
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for progress lines.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Runs each `cargo test` invocation in turn, stopping at the first failure unless `--no-fail-fast`.
fn run_cargo_tests(
    extra: &[String],
    database: &TestDatabase,
    smtp_python: Option<&std::path::Path>,
) -> Result<ExitStatus> {
    let keep_going = process::split_at_double_dash(extra)
        .0
        .iter()
        .any(|arg| arg == "--no-fail-fast");
    let mut first_failure = None;
    for args in cargo_test_invocations(extra) {
        let status = run_cargo_test(&args, database, smtp_python)?;
        if !status.success() {
            first_failure.get_or_insert(status);
            if !keep_going {
                break;
            }
        }
    }
    match first_failure {
        Some(status) => Ok(status),
        None => Ok(ExitStatus::default()),
    }
}

/// One `cargo test` with inherited stdio.
///
/// Ctrl-C reaches cargo, the test binaries and xtask alike (same process group); xtask cannot catch
/// it without libc, so it dies before its `Drop` guards run. The cleanup guardian then stops
/// PostgreSQL and removes its directory (see `guardian.rs`).
fn run_cargo_test(
    args: &[String],
    database: &TestDatabase,
    smtp_python: Option<&std::path::Path>,
) -> Result<ExitStatus> {
    let mut command = process::cargo();
    command.args(args);
    if let Some(python) = smtp_python {
        command.env(SMTP_PYTHON_VAR, python);
    }
    match database.url() {
        Some(url) => command.env(POSTGRES_URL_VAR, url),
        None => command.env_remove(POSTGRES_URL_VAR),
    };
    eprintln!("xtask: {}", process::describe(&command));
    let mut child = command.spawn().map_err(|error| {
        Error::new(format!(
            "could not run `{}`: {error}",
            process::describe(&command)
        ))
    })?;
    database.watch(child.id());
    let status = child
        .wait()
        .map_err(|error| Error::new(format!("could not wait for cargo test: {error}")))?;
    database.unwatch(child.id());
    Ok(status)
}

/// The `cargo test` argument lists for the user's extra arguments.
///
/// `--all-targets` would also build the benches and run them in test mode (slow, and the benches
/// belong to `cargo xtask bench`), and it never runs doc tests. So, unless the user picks targets,
/// the suite is `--lib --bins --tests --examples` followed by a `--doc` run.
fn cargo_test_invocations(extra: &[String]) -> Vec<Vec<String>> {
    let (cargo_args, _) = process::split_at_double_dash(extra);
    let packages = selected_packages(cargo_args);
    let mut base = vec!["test".to_owned()];
    let scoped = !packages.is_empty()
        || cargo_args
            .iter()
            .any(|arg| arg == "--workspace" || arg == "--all");
    if !scoped {
        base.push("--workspace".to_owned());
    }
    let with = |flags: &[&str]| -> Vec<String> {
        base.iter()
            .cloned()
            .chain(flags.iter().map(|flag| flag.to_string()))
            .chain(extra.iter().cloned())
            .collect()
    };
    if cargo_args.iter().any(|arg| is_target_selection(arg)) {
        return vec![with(&[])];
    }
    let has_library = packages.is_empty()
        || packages
            .iter()
            .any(|package| !PACKAGES_WITHOUT_LIB.contains(&package.as_str()));
    if !has_library {
        // `--lib` and `--doc` are errors when no selected package has a library.
        return vec![with(&["--bins", "--tests", "--examples"])];
    }
    vec![
        with(&["--lib", "--bins", "--tests", "--examples"]),
        with(&["--doc"]),
    ]
}

/// Package names given with `-p NAME`, `-pNAME`, `--package NAME` or `--package=NAME`.
fn selected_packages(cargo_args: &[String]) -> Vec<String> {
    let mut packages = Vec::new();
    let mut args = cargo_args.iter();
    while let Some(arg) = args.next() {
        if arg == "-p" || arg == "--package" {
            packages.extend(args.next().cloned());
        } else if let Some(name) = arg.strip_prefix("--package=") {
            packages.push(name.to_owned());
        } else if let Some(name) = arg.strip_prefix("-p") {
            packages.push(name.to_owned());
        }
    }
    packages
}

fn is_target_selection(arg: &str) -> bool {
    let flag = arg.split('=').next().unwrap_or(arg);
    matches!(
        flag,
        "--lib"
            | "--bin"
            | "--bins"
            | "--test"
            | "--tests"
            | "--example"
            | "--examples"
            | "--bench"
            | "--benches"
            | "--all-targets"
            | "--doc"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn whole_workspace_runs_targets_then_doc_tests() {
        assert_eq!(
            cargo_test_invocations(&[]),
            vec![
                strings(&[
                    "test",
                    "--workspace",
                    "--lib",
                    "--bins",
                    "--tests",
                    "--examples"
                ]),
                strings(&["test", "--workspace", "--doc"]),
            ]
        );
    }

    #[test]
    fn a_package_selection_replaces_workspace() {
        let invocations =
            cargo_test_invocations(&strings(&["-p", "shared-server", "--", "--nocapture"]));
        assert_eq!(
            invocations[0],
            strings(&[
                "test",
                "--lib",
                "--bins",
                "--tests",
                "--examples",
                "-p",
                "shared-server",
                "--",
                "--nocapture"
            ])
        );
        assert_eq!(invocations.len(), 2);
    }

    #[test]
    fn packages_without_a_library_get_no_doc_run() {
        assert_eq!(
            cargo_test_invocations(&strings(&["--package=xtask"])).len(),
            1
        );
        assert_eq!(
            cargo_test_invocations(&strings(&["-pxtask", "-p", "iam-server"])).len(),
            2
        );
    }

    #[test]
    fn user_target_selection_is_respected() {
        assert_eq!(
            cargo_test_invocations(&strings(&["--test", "layer_semantics"])),
            vec![strings(&[
                "test",
                "--workspace",
                "--test",
                "layer_semantics"
            ])]
        );
    }

    #[test]
    fn flags_after_double_dash_belong_to_the_test_binary() {
        let invocations = cargo_test_invocations(&strings(&["--", "-p", "--lib"]));
        assert_eq!(invocations[0][1], "--workspace");
        assert_eq!(invocations.len(), 2);
    }

    #[test]
    fn passwords_are_redacted_in_progress_lines() {
        assert_eq!(
            redact_password("postgres://app:secret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1:5/postgres"),
            "postgres://postgres@127.0.0.1:5/postgres"
        );
    }
}
