//! How many Argon2id password hashes per second this machine does with the parameters the auth
//! API uses: the baseline `cargo xtask bench` divides sign-ins/s by (a sign-in verifies one
//! Argon2id hash of the same cost). It calls `iam_server`'s own [`PasswordHasher`], so it measures
//! exactly what the server runs, including the hop to tokio's blocking pool.
//!
//! ```text
//! cargo run --release -p iam-server --example password_hash_rate -- --secs 3 --concurrency 2
//! hashes=41 elapsed_secs=3.046 concurrency=2 m_cost_kib=19456 t_cost=2 p_cost=1
//! ```
//!
//! `concurrency` hashes run at once (each its own task, like concurrent sign-ins), for `secs`
//! seconds after an unmeasured warm-up round of `concurrency` hashes (it starts the blocking
//! threads and their allocator arenas, as a running server has them); the line is printed on
//! stdout, errors on stderr.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use iam_server::services::password::{ARGON2_M_COST_KIB, ARGON2_P_COST, ARGON2_T_COST};
use iam_server::services::PasswordHasher;

const PASSWORD: &str = "bench-password-0123";

/// `--secs N --concurrency N`, both whole numbers from 1 to 1000.
fn parse(args: &[String]) -> Result<(Duration, usize), String> {
    let (mut secs, mut concurrency) = (3, 1);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| format!("`{flag}` needs a whole number from 1 to 1000"))?;
        match flag.as_str() {
            "--secs" => secs = value,
            "--concurrency" => concurrency = value as usize,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok((Duration::from_secs(secs), concurrency))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (duration, concurrency) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("password_hash_rate: {message}");
            eprintln!("usage: password_hash_rate [--secs N] [--concurrency N]");
            return ExitCode::from(2);
        }
    };
    match measure(duration, concurrency).await {
        Ok((hashes, elapsed)) => {
            println!(
                "hashes={hashes} elapsed_secs={:.3} concurrency={concurrency} \
                 m_cost_kib={ARGON2_M_COST_KIB} t_cost={ARGON2_T_COST} p_cost={ARGON2_P_COST}",
                elapsed.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("password_hash_rate: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Hashes done by `concurrency` tasks hashing back to back until `duration` has passed, and the
/// time until the last of them finished.
async fn measure(duration: Duration, concurrency: usize) -> Result<(u64, Duration), String> {
    let hasher = PasswordHasher::new();
    // Warm-up: every task hashes once before the clock starts.
    run_tasks(&hasher, concurrency, Instant::now()).await?;
    let started = Instant::now();
    let total = run_tasks(&hasher, concurrency, started + duration).await?;
    Ok((total, started.elapsed()))
}

/// `concurrency` tasks hashing back to back, each at least once, until `deadline`; the hashes done.
async fn run_tasks(
    hasher: &PasswordHasher,
    concurrency: usize,
    deadline: Instant,
) -> Result<u64, String> {
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                let mut hashes = 0u64;
                loop {
                    hasher
                        .hash(PASSWORD)
                        .await
                        .map_err(|e| format!("hash: {e}"))?;
                    hashes += 1;
                    if Instant::now() >= deadline {
                        return Ok::<u64, String>(hashes);
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.map_err(|e| format!("hashing task: {e}"))??;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn flags_take_whole_numbers() {
        assert_eq!(
            parse(&args(&["--concurrency", "2", "--secs", "5"])),
            Ok((Duration::from_secs(5), 2))
        );
        assert_eq!(parse(&[]), Ok((Duration::from_secs(3), 1)));
        assert!(parse(&args(&["--secs", "0"])).is_err());
        assert!(parse(&args(&["--secs"])).is_err());
        assert!(parse(&args(&["--fast", "1"])).is_err());
    }

    #[tokio::test]
    async fn every_task_hashes_at_least_once() {
        let hasher = PasswordHasher::new();
        let hashes = run_tasks(&hasher, 2, Instant::now()).await.expect("hashed");
        assert_eq!(hashes, 2);
    }
}
