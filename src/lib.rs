//! Para-Former on WebGPU: the model, a CPU reference, and a wgpu engine that runs
//! the K branches of a Para-Former in one dispatch per op, or the same blocks in a chain.
//!
//! Dependencies point one way: `bench` -> `engine`, `cpu` -> `model`; `reference` -> `model`.

#[cfg(feature = "gpu")]
pub mod bench;
#[cfg(feature = "cpu")]
pub mod cpu;
pub mod data;
#[cfg(feature = "gpu")]
pub mod engine;
pub mod input;
pub mod model;
#[cfg(feature = "gpu")]
pub mod platform;
pub mod reference;
pub mod stats;

/// Every failure a user can cause or meet, with a message that says what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A config that describes no valid model.
    Config(String),
    /// A checkpoint that cannot be read as this model.
    Checkpoint(String),
    /// An input image of the wrong size or content.
    Input(String),
    /// No usable GPU, a limit exceeded, or a device failure.
    Gpu(String),
    /// Bad command-line use.
    Usage(String),
    /// A file that could not be read or written.
    Io(String),
}

impl Error {
    /// The message without its kind ("invalid config: " and so on).
    pub fn message(&self) -> &str {
        match self {
            Error::Config(m)
            | Error::Checkpoint(m)
            | Error::Input(m)
            | Error::Gpu(m)
            | Error::Usage(m)
            | Error::Io(m) => m,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, msg) = match self {
            Error::Config(m) => ("invalid config", m),
            Error::Checkpoint(m) => ("bad checkpoint", m),
            Error::Input(m) => ("bad input", m),
            Error::Gpu(m) => ("GPU", m),
            Error::Usage(m) => ("usage", m),
            Error::Io(m) => ("file", m),
        };
        write!(f, "{kind}: {msg}")
    }
}

impl std::error::Error for Error {}
