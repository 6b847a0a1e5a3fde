//! sosrisk: suicide-risk screening for short Chinese social-media posts (SOS-1K levels 0–10 and
//! a binary high/low call).
//!
//! Labels, tokenization, the model and inference are the same code in the CLI and the browser
//! (no file I/O in them). The `model` feature holds everything that needs burn and tokenizers:
//! the page's own wasm leaves it out and asks the worker, which has it. The native-only modules
//! read files, train and write reports.

pub mod assessment;
pub mod error;
pub mod labels;
pub mod lines;
pub mod metrics;
pub mod prediction;
pub mod safety_net;
pub mod table;
pub mod text;
pub mod windows;

#[cfg(feature = "model")]
pub mod attribution;
#[cfg(feature = "model")]
pub mod infer;
#[cfg(feature = "model")]
pub mod model;
#[cfg(feature = "model")]
pub mod model_dir;
#[cfg(feature = "model")]
pub mod novelty;
#[cfg(feature = "model")]
pub mod quant;
#[cfg(feature = "model")]
pub mod tokenize;

#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod artifact;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod bench;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod bootstrap;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod data;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod export;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod finetune;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod import;
#[cfg(feature = "model")]
pub mod kernels;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod loss;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod operating_points;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod ordinal;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod report;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod screening;
#[cfg(all(not(target_family = "wasm"), feature = "model"))]
pub mod train;

// The page's logic that needs no browser (batch files, messages, words) also builds natively,
// where its tests run.
#[cfg(any(feature = "web", not(target_family = "wasm")))]
pub mod web;

pub use error::{Error, TextError};
