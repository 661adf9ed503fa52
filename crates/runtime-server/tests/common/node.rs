//! Runs one of the Node scripts under `tests/js/effect-rpc/` (the real `@effect/rpc` client,
//! pinned in its `package-lock.json`; `cargo xtask test` runs `npm ci` there) and returns what
//! it printed, killing it if it outlives its limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `tests/js/effect-rpc`, after checking that its dependencies are installed.
pub fn effect_rpc_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/effect-rpc");
    assert!(
        dir.join("node_modules/@effect/rpc").is_dir(),
        "{}/node_modules is missing: run `cargo xtask test` (it runs `npm ci` there) or `npm ci` in that directory",
        dir.display()
    );
    dir
}

/// Runs `node <script>` in `dir` with `env`; panics if it outlives `limit`.
pub fn run_node(dir: &Path, script: &str, env: &[(&str, &str)], limit: Duration) -> Output {
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .expect("`node` (Node.js 20+) must be on PATH for the RPC compatibility tests");
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the Node client `{script}` did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}
