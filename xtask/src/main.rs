//! `cargo xtask`: the workspace's task runner.
//!
//! It exists so that every developer and CI run the server, the migrations and the whole test suite
//! the same way, with nothing to install beyond Rust (and, for the PostgreSQL half of the tests, the
//! machine's PostgreSQL server binaries). It is std-only on purpose: CI compiles it on every run.

mod bench;
mod error;
mod guardian;
mod postgres;
mod process;
mod provision;
mod server;
mod test;

use std::process::ExitCode;

use error::{Error, Result};

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  serve [--release] [--devtools] [-- ARGS]  run the HTTP server (cargo run -p runtime-server -- serve)
  migrate [-- ARGS]                          apply every slice's database migrations, then exit
  doctor [-- ARGS]                           check configuration and connectivity of the runtime
  graph [--mermaid] [-- ARGS]                print the runtime's layer graph
  test [CARGO TEST ARGS]                     run the whole test suite against a throwaway PostgreSQL
  bench [--quick] [--duration-secs N] [--connections N] [--rounds N] [--in-flight N]
        [--api-only] [--files-only]
                                             measure the HTTP stack (full vs bare axum), start-up and
                                             memory of the release server, RPC calls over HTTP and
                                             WebSocket, get-session and sign-in, the Node peers
                                             (better-auth, @effect/rpc), files_list and upload event
                                             latency, at 64 connections; writes
                                             target/bench/{http,rpc,auth,peers,files}.json
  help                                       show this text

Environment:
  TEST_POSTGRES_URL  `test` uses this PostgreSQL instead of starting a throwaway one
  PG_BIN             `test` takes initdb/pg_ctl/postgres from this directory
  CI=true            `test` fails instead of skipping PostgreSQL tests when no server is available";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: {}", error.message);
            if error.show_usage {
                eprintln!("\n{USAGE}");
            }
            ExitCode::from(error.code)
        }
    }
}

fn dispatch(args: &[String]) -> Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    match command.as_str() {
        "serve" | "migrate" | "doctor" | "graph" => server::run(command, rest),
        "test" => test::run(rest),
        "bench" => bench::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        guardian::COMMAND => Ok(guardian::serve()),
        other => Err(Error::usage(format!("unknown command `{other}`"))),
    }
}
