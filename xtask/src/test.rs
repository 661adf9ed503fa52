//! `cargo xtask test`: the whole test suite, the same way on every machine and in CI.
//!
//! It prepares what the tests need (Node.js clients for the compatibility tests, a PostgreSQL server
//! so every repository is tested on both backends), runs `cargo test` with `TEST_POSTGRES_URL` set,
//! cleans up, and ends with one summary line.

use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::postgres::{self, Availability, TempPostgres};
use crate::process;

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

pub fn run(args: &[String]) -> Result<ExitCode> {
    let started = Instant::now();
    prepare_js_clients()?;
    let database = TestDatabase::provide()?;
    let status = run_cargo_tests(args, &database)?;
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
        prepare_js_client(&process::workspace_root().join(dir))?;
    }
    Ok(())
}

fn prepare_js_client(dir: &Path) -> Result<()> {
    if !dir.join("package-lock.json").is_file() {
        eprintln!(
            "xtask: {}: no package-lock.json, skipping npm ci",
            dir.display()
        );
        return Ok(());
    }
    let npm = process::find_program("npm", &[]).ok_or_else(|| {
        Error::new(format!(
            "npm is needed to install the Node.js client in {} but is not on PATH",
            dir.display()
        ))
    })?;
    eprintln!("xtask: npm ci in {}", dir.display());
    let status = Command::new(npm)
        .arg("ci")
        .current_dir(dir)
        .status()
        .map_err(|error| Error::new(format!("could not run npm: {error}")))?;
    if !status.success() {
        return Err(Error::new(format!(
            "npm ci in {} failed ({})",
            dir.display(),
            process::describe_status(status)
        )));
    }
    Ok(())
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
        match postgres::detect()? {
            Availability::Ready(setup) => Ok(Self::Temporary(TempPostgres::start(setup)?)),
            Availability::Unavailable(reason) if is_ci() => Err(Error::new(format!(
                "{reason}.\nxtask: CI=true: refusing to skip the PostgreSQL tests. Install the \
                 server binaries (Debian: apt-get install postgresql), or set PG_BIN or {POSTGRES_URL_VAR}."
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

fn is_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|value| matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

fn warn_skipped(reason: &str) {
    let rule = "=".repeat(78);
    eprintln!(
        "xtask: {rule}\n\
         xtask: WARNING: PostgreSQL tests will be SKIPPED.\n\
         xtask: {reason}.\n\
         xtask: Only the SQLite half of the repository tests runs. To run both, install the\n\
         xtask: server binaries (Debian: apt-get install postgresql), or set PG_BIN to their\n\
         xtask: directory, or set {POSTGRES_URL_VAR} to a server you own.\n\
         xtask: Under CI=true this is an error.\n\
         xtask: {rule}"
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
fn run_cargo_tests(extra: &[String], database: &TestDatabase) -> Result<ExitStatus> {
    let keep_going = process::split_at_double_dash(extra)
        .0
        .iter()
        .any(|arg| arg == "--no-fail-fast");
    let mut first_failure = None;
    for args in cargo_test_invocations(extra) {
        let status = run_cargo_test(&args, database)?;
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
fn run_cargo_test(args: &[String], database: &TestDatabase) -> Result<ExitStatus> {
    let mut command = process::cargo();
    command.args(args);
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
