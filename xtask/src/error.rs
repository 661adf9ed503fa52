//! The one error type of xtask: a message for the developer and the exit code to leave with.
//!
//! Usage mistakes exit with 2 (and print the usage text), everything else with 1, so scripts can
//! tell "you called it wrong" from "it ran and failed".

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub struct Error {
    pub message: String,
    pub code: u8,
    pub show_usage: bool,
}

impl Error {
    /// A failure while doing the work (a tool failed, a file could not be written, ...).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
            show_usage: false,
        }
    }

    /// The command line was wrong.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
            show_usage: true,
        }
    }
}
