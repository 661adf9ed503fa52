//! `cargo xtask bench`: placeholder so the command is already listed and reserved.
//!
//! The benchmarks are tracked in issue 3; until they land the command says so and exits with 2.

use std::process::ExitCode;

pub fn run(_args: &[String]) -> ExitCode {
    eprintln!("bench: not available yet (see issue 3)");
    ExitCode::from(2)
}
