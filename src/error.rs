//! Errors of the shared (native and wasm) code. Each says what was wrong and where.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("empty text: there is nothing to classify (after removing whitespace and invisible characters)")]
    EmptyText,
    #[error("invalid tokenizer ({what}): {detail}")]
    Tokenizer { what: String, detail: String },
    #[error("invalid model config ({what}): {detail}")]
    Config { what: String, detail: String },
    #[error("invalid model weights ({what}): {detail}")]
    Weights { what: String, detail: String },
    #[error(
        "{what}: SHA-256 is {actual}, but the model config expects {expected}; the file is corrupt or from another model"
    )]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
}
