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

/// Why one text of a batch got no prediction: which text (its index in the batch) and what was
/// wrong with it. A batch call fails as a whole on the first such text, so a caller never gets
/// predictions that silently skip rows.
#[derive(Debug, Error)]
#[error("text {index}: {error}")]
pub struct TextError {
    pub index: usize,
    #[source]
    pub error: Error,
}

impl TextError {
    pub fn new(index: usize, error: Error) -> Self {
        Self { index, error }
    }

    /// The same error for a batch that started `offset` texts into a larger one.
    pub fn offset(self, offset: usize) -> Self {
        Self {
            index: self.index + offset,
            ..self
        }
    }
}
