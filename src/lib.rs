//! sosrisk: suicide-risk screening for short Chinese social-media posts (SOS-1K levels 0–10 and
//! a binary high/low call).
//!
//! The modules above the line compile for both native and wasm32 (they hold no file I/O):
//! labels, tokenization, the model and inference are the same code in the CLI and the browser.
//! The native-only modules below read files, train and write reports.

pub mod error;
pub mod infer;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod tokenize;

#[cfg(not(target_family = "wasm"))]
pub mod artifact;
#[cfg(not(target_family = "wasm"))]
pub mod data;
#[cfg(not(target_family = "wasm"))]
pub mod finetune;
#[cfg(not(target_family = "wasm"))]
pub mod import;
#[cfg(not(target_family = "wasm"))]
pub mod report;
#[cfg(not(target_family = "wasm"))]
pub mod train;

pub use error::Error;
