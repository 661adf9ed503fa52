//! Helpers shared by the black-box tests: a throwaway data folder and a config on port 0.

#![allow(dead_code)]

pub mod node;

use std::collections::BTreeMap;
use std::path::PathBuf;

use runtime_server::AppConfig;

/// A temporary data folder, removed on drop.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("rt-{}", uuid_like()));
        std::fs::create_dir_all(&dir).expect("create temp data dir");
        Self(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("randomness");
    hex::encode(bytes)
}

/// The variables for a server on 127.0.0.1:0 using `data` (SQLite unless overridden).
pub fn vars(data: &DataDir, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = [
        ("APP_DATA_DIR", data.path().display().to_string()),
        ("APP_API_PORT", "0".to_string()),
        ("APP_LOG_LEVEL", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

pub fn config(data: &DataDir, extra: &[(&str, &str)]) -> AppConfig {
    AppConfig::from_source(&vars(data, extra)).expect("valid test configuration")
}
