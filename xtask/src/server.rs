//! `serve`, `migrate`, `doctor`, `graph`: thin front doors to the `runtime-server` binary.
//!
//! They exist so nobody has to remember the `cargo run -p runtime-server --features ... -- <cmd>`
//! spelling. The binary does the work (and prints the URL it listens on); xtask only builds the
//! cargo command line and hands the terminal over to it.

use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::process;

/// Runs `cargo run -p runtime-server [...] -- <command> [...]` in place of xtask.
pub fn run(command: &str, args: &[String]) -> Result<ExitCode> {
    let invocation = Invocation::parse(command, args)?;
    let mut cargo = process::cargo();
    cargo.args(invocation.cargo_args());
    if invocation.devtools {
        // tokio-console needs tokio's unstable instrumentation; build it in its own target dir
        // so switching flags does not rebuild the normal one.
        let flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        cargo.env("RUSTFLAGS", format!("{flags} --cfg tokio_unstable").trim());
        cargo.env("CARGO_TARGET_DIR", "target/devtools");
        eprintln!("xtask: devtools on: connect with `tokio-console` (http://127.0.0.1:6669)");
    }
    process::run_in_place(cargo)
}

/// One call of the runtime-server binary.
#[derive(Debug, PartialEq)]
struct Invocation {
    subcommand: String,
    release: bool,
    devtools: bool,
    server_args: Vec<String>,
}

impl Invocation {
    /// Reads xtask's own flags before `--`; everything after `--` goes to the server unchanged.
    fn parse(command: &str, args: &[String]) -> Result<Self> {
        let (own, passthrough) = process::split_at_double_dash(args);
        let mut invocation = Self {
            subcommand: command.to_owned(),
            release: false,
            devtools: false,
            server_args: Vec::new(),
        };
        for arg in own {
            match (command, arg.as_str()) {
                ("serve", "--release") => invocation.release = true,
                ("serve", "--devtools") => invocation.devtools = true,
                ("graph", "--mermaid") => invocation.server_args.push(arg.clone()),
                _ => {
                    return Err(Error::usage(format!(
                    "`{command}` does not take `{arg}`; pass arguments for the server after `--`"
                )))
                }
            }
        }
        invocation.server_args.extend_from_slice(passthrough);
        Ok(invocation)
    }

    fn cargo_args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["run", "-p", "runtime-server"].map(String::from).into();
        if self.release {
            args.push("--release".into());
        }
        if self.devtools {
            args.extend(["--features".into(), "devtools".into()]);
        }
        args.extend(["--".into(), self.subcommand.clone()]);
        args.extend(self.server_args.iter().cloned());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn cargo_args(command: &str, args: &[&str]) -> Vec<String> {
        Invocation::parse(command, &strings(args))
            .expect("valid arguments")
            .cargo_args()
    }

    #[test]
    fn serve_maps_flags_to_cargo_and_passes_the_rest_to_the_server() {
        assert_eq!(
            cargo_args(
                "serve",
                &["--release", "--devtools", "--", "--port", "8080"]
            ),
            strings(&[
                "run",
                "-p",
                "runtime-server",
                "--release",
                "--features",
                "devtools",
                "--",
                "serve",
                "--port",
                "8080"
            ])
        );
    }

    #[test]
    fn graph_forwards_mermaid_to_the_server() {
        assert_eq!(
            cargo_args("graph", &["--mermaid"]),
            strings(&["run", "-p", "runtime-server", "--", "graph", "--mermaid"])
        );
    }

    #[test]
    fn unknown_flags_are_usage_errors() {
        let error = Invocation::parse("migrate", &strings(&["--release"])).expect_err("rejected");
        assert_eq!(error.code, 2);
        assert!(Invocation::parse("serve", &strings(&["--port"])).is_err());
    }
}
