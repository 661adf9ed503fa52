//! Installing what the test suite and the benchmarks need, so that `cargo xtask test` alone passes
//! on a fresh machine (issue 10) and `.ci/run` only calls it.
//!
//! Three kinds of peers, each installed by its own ordinary client and reused on the next run:
//! - Node.js packages (`npm ci` from a committed `package-lock.json`), skipped when the lock file
//!   did not change since the last successful install;
//! - Python packages in a virtual environment under `target/` (pinned in a committed
//!   `requirements.txt`), rebuilt only when the requirements change;
//! - system packages (PostgreSQL's server binaries, Node.js, Python's venv, wrk) through `apt-get`
//!   when they are missing and xtask runs as root. Otherwise xtask prints the exact command, and
//!   under `CI=true` that is a failure rather than a skipped half of the suite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::process;

/// Prints one provisioning step's progress line (`xtask: [peers] ...`).
pub fn step(what: &str, detail: impl AsRef<str>) {
    eprintln!("xtask: [{what}] {}", detail.as_ref());
}

/// Whether `CI` says this is a CI run (`true`, `1` or `yes`).
pub fn is_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|value| matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// The Debian command that installs `packages`, as a user would type it.
pub fn apt_command(packages: &[&str]) -> String {
    format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

/// Installs Debian `packages` (needed for `why`) when xtask runs as root on a machine with
/// `apt-get`. Otherwise returns an error carrying the exact command to run.
pub fn apt_install(what: &str, packages: &[&str], why: &str) -> Result<()> {
    let Some(apt_get) = process::find_program("apt-get", &["/usr/bin", "/bin"]) else {
        return Err(Error::new(format!(
            "{why} needs the system packages {} (Debian names), and this machine has no apt-get: \
             install them with its package manager",
            packages.join(", ")
        )));
    };
    if !process::is_root() {
        return Err(Error::new(format!(
            "{why} needs the system packages {}; xtask installs them only as root. Run:\n    sudo sh -c '{}'",
            packages.join(", "),
            apt_command(packages)
        )));
    }
    let started = Instant::now();
    step(
        what,
        format!("installing {} with apt-get (as root)", packages.join(" ")),
    );
    // Only the binaries are wanted: keep the postgresql package from creating and starting a
    // cluster of its own (the tests start a throwaway one).
    if packages
        .iter()
        .any(|package| package.starts_with("postgresql"))
    {
        let dir = Path::new("/etc/postgresql-common/createcluster.d");
        fs::create_dir_all(dir)
            .and_then(|()| {
                fs::write(
                    dir.join("xtask-no-main-cluster.conf"),
                    "create_main_cluster = false\n",
                )
            })
            .map_err(|error| Error::new(format!("could not write {}: {error}", dir.display())))?;
    }
    run_checked(
        Command::new(&apt_get).args(["update", "-q"]),
        "apt-get update",
    )?;
    run_checked(
        Command::new(&apt_get)
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install",
    )?;
    step(
        what,
        format!(
            "installed {} in {}",
            packages.join(" "),
            process::format_duration(started.elapsed())
        ),
    );
    Ok(())
}

/// Makes sure `program` is on PATH, installing `packages` through apt when it is not.
pub fn require_program(what: &str, program: &str, packages: &[&str], why: &str) -> Result<PathBuf> {
    if let Some(path) = process::find_program(program, &[]) {
        return Ok(path);
    }
    apt_install(what, packages, why)?;
    process::find_program(program, &[]).ok_or_else(|| {
        Error::new(format!(
            "{program} is still not on PATH after installing {}",
            packages.join(" ")
        ))
    })
}

/// `npm ci` in `dir` unless `node_modules` already holds exactly its `package-lock.json`.
pub fn npm_ci(what: &str, dir: &Path) -> Result<()> {
    let lock_path = dir.join("package-lock.json");
    let lock = fs::read(&lock_path)
        .map_err(|error| Error::new(format!("could not read {}: {error}", lock_path.display())))?;
    let stamp = dir.join("node_modules").join(".xtask-installed-lock.json");
    let shown = display_relative(dir);
    if fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        step(
            what,
            format!("{shown}: node_modules up to date, reusing it"),
        );
        return Ok(());
    }
    require_program(
        what,
        "npm",
        &["nodejs", "npm"],
        "the JavaScript peers (better-auth, @effect/rpc)",
    )?;
    let npm = process::find_program("npm", &[]).expect("npm was just found");
    let started = Instant::now();
    step(what, format!("{shown}: npm ci"));
    run_checked(
        Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir),
        &format!("npm ci in {shown}"),
    )?;
    fs::write(&stamp, &lock)
        .map_err(|error| Error::new(format!("could not write {}: {error}", stamp.display())))?;
    step(
        what,
        format!(
            "{shown}: installed in {}",
            process::format_duration(started.elapsed())
        ),
    );
    Ok(())
}

/// A Python virtual environment under `target/test-peers/<name>` with the pinned packages of
/// `requirements` installed; returns its interpreter. Rebuilt only when the requirements change.
pub fn python_venv(what: &str, name: &str, requirements: &Path) -> Result<PathBuf> {
    let pinned = fs::read(requirements).map_err(|error| {
        Error::new(format!(
            "could not read {}: {error}",
            requirements.display()
        ))
    })?;
    let venv = peers_dir().join(name);
    let python = venv.join("bin").join("python");
    let stamp = venv.join("xtask-installed-requirements.txt");
    let shown = display_relative(&venv);
    if process::is_executable(&python)
        && fs::read(&stamp).is_ok_and(|installed| installed == pinned)
    {
        step(what, format!("{shown}: up to date, reusing it"));
        return Ok(python);
    }
    let system_python = require_program(
        what,
        "python3",
        &["python3", "python3-venv"],
        "the SMTP test server (aiosmtpd)",
    )?;
    let started = Instant::now();
    let _ = fs::remove_dir_all(&venv);
    step(what, format!("{shown}: creating a virtual environment"));
    let created = Command::new(&system_python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|status| status.success());
    if !created {
        // Debian's python3 ships without `venv`'s pip bootstrap: that is python3-venv.
        let _ = fs::remove_dir_all(&venv);
        apt_install(
            what,
            &["python3-venv"],
            "a virtual environment for the SMTP test server",
        )?;
        run_checked(
            Command::new(&system_python).args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    step(
        what,
        format!("{shown}: pip install -r {}", display_relative(requirements)),
    );
    run_checked(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements),
        "pip install",
    )?;
    fs::write(&stamp, &pinned)
        .map_err(|error| Error::new(format!("could not write {}: {error}", stamp.display())))?;
    step(
        what,
        format!(
            "{shown}: installed in {}",
            process::format_duration(started.elapsed())
        ),
    );
    Ok(python)
}

/// `target/test-peers`: what provisioning installs that is not a system package.
pub fn peers_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| process::workspace_root().join("target"));
    target.join("test-peers")
}

fn display_relative(path: &Path) -> String {
    path.strip_prefix(process::workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn run_checked(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .map_err(|error| Error::new(format!("could not run {what}: {error}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "{what} failed ({})",
            process::describe_status(status)
        )))
    }
}
