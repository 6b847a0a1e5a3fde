//! Messages between the page and the model worker (sent with `postMessage`, converted by
//! serde-wasm-bindgen). Texts travel only between these two threads of the same page.

use serde::{Deserialize, Serialize};

use crate::prediction::Prediction;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Request {
    /// Load the model whose `config.json` is at `base` (a same-origin URL ending in `/`); on
    /// WebGPU when `gpu` is set and the browser gives an adapter, else on the CPU.
    Load { base: String, gpu: bool },
    /// Classify `texts`; the reply carries the same `id`.
    Classify {
        id: u32,
        texts: Vec<String>,
        explain: bool,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Reply {
    /// The worker's wasm is running and listening. Messages sent before this are lost (the
    /// worker's script finishes before its wasm has set a handler), so the page waits for it.
    Started,
    /// The worker panicked; it cannot go on, and the page should start a new one.
    Crashed {
        error: String,
    },
    /// Bytes of `file` received so far (`total` when the server sent a length).
    Progress {
        file: String,
        loaded: f64,
        total: Option<f64>,
    },
    Ready(ModelInfo),
    LoadFailed {
        error: String,
    },
    /// One outcome per text, in order: a prediction, or why that text has none.
    Results {
        id: u32,
        outcomes: Vec<Outcome>,
        ms: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// "WebGPU" or "CPU".
    pub backend: String,
    pub architecture: String,
    pub description: String,
    pub binary_threshold: f32,
    /// From the start of loading to the end of the warm-up run.
    pub load_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Ok(Prediction),
    /// Nothing to classify (the text is whitespace): the page says so in its own language.
    Empty,
    Err(String),
}
