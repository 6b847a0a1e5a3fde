//! Messages between the page and the model worker (sent with `postMessage`, converted by
//! serde-wasm-bindgen). Texts travel only between these two threads of the same page.

use serde::{Deserialize, Serialize};

use crate::prediction::Prediction;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Request {
    /// Load the model whose `config.json` is at `base` (a same-origin URL ending in `/`), on
    /// the backend `backend` asks for ([`BackendChoice`]).
    /// `measure_software` (`?webgpu=measure`, for testing) measures a software adapter too
    /// instead of leaving it aside at once.
    Load {
        base: String,
        backend: BackendChoice,
        #[serde(default)]
        measure_software: bool,
        /// `?debug=kernels`: count the GPU kernels launched ([`Reply::Kernels`]).
        #[serde(default)]
        count_kernels: bool,
    },
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
    /// The backend in use changed, or its reason did (the measurement of WebGPU ended).
    Backend {
        backend: String,
        why: Why,
    },
    LoadFailed(LoadError),
    /// Distinct GPU kernels launched since the load began (each one a shader compiled), sent
    /// after `Ready` and after each result when the load asked for a count.
    Kernels {
        count: usize,
    },
    /// One outcome per text, in order: a prediction, or why that text has none.
    Results {
        id: u32,
        outcomes: Vec<Outcome>,
        ms: f64,
    },
}

/// Why the model could not be loaded: `fault` and `file` for the page to say in its own
/// language, `detail` (technical, English) for whoever maintains the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadError {
    pub fault: LoadFault,
    /// The model file at fault; empty when no one file is.
    pub file: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadFault {
    /// The file did not arrive (network, HTTP status, interrupted).
    Download,
    /// The file arrived but its SHA-256 is not the one `config.json` names.
    Corrupt,
    /// The file is not a valid config, tokenizer or weights file for this model.
    Invalid,
    /// Anything else (the warm-up run failed, an unreadable request).
    Other,
}

impl LoadError {
    pub fn new(fault: LoadFault, file: &str, detail: impl Into<String>) -> Self {
        Self {
            fault,
            file: file.into(),
            detail: detail.into(),
        }
    }
}

impl From<crate::Error> for LoadError {
    fn from(e: crate::Error) -> Self {
        let (fault, file) = match &e {
            crate::Error::Checksum { what, .. } => (LoadFault::Corrupt, what.as_str()),
            crate::Error::Config { what, .. }
            | crate::Error::Tokenizer { what, .. }
            | crate::Error::Weights { what, .. } => (LoadFault::Invalid, what.as_str()),
            crate::Error::EmptyText => (LoadFault::Other, ""),
        };
        Self::new(fault, file, e.to_string())
    }
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
    /// Why this backend (see [`Why`]).
    pub why: Why,
    /// The URLs the model was loaded from, for the service worker to store (offline use).
    #[serde(default)]
    pub files: Vec<String>,
    /// Kernel counts, when asked for (`?debug=kernels`).
    #[serde(default)]
    pub kernels: Option<KernelCounts>,
}

/// Distinct GPU kernels launched: by the time the model was ready, and by now. Equal once warmed
/// up: a request that compiles a shader makes the user wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelCounts {
    pub at_ready: usize,
    pub now: usize,
}

/// Which backend the page asks for (`?backend=auto|cpu|webgpu`; auto by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// The CPU at once; WebGPU only when measured clearly faster here (see `web::backend`).
    Auto,
    Cpu,
    /// WebGPU whenever the browser gives an adapter, even a software one.
    Webgpu,
}

impl BackendChoice {
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("cpu") => Self::Cpu,
            Some("webgpu" | "gpu") => Self::Webgpu,
            _ => Self::Auto,
        }
    }
}

/// Why the worker runs on the backend it does: the page says it in its own language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Why {
    /// `?backend=` asked for it.
    Asked,
    /// The browser gives no WebGPU adapter.
    NoWebGpu,
    /// The only adapter is a software one (SwiftShader, llvmpipe, lavapipe): never chosen
    /// automatically.
    SoftwareAdapter { adapter: String },
    /// On the CPU while WebGPU is being set up and timed.
    Measuring,
    /// WebGPU took `ratio` times the CPU's time (the worse of batch 1 and batch 32).
    Slower { ratio: f64 },
    /// WebGPU took `ratio` (≤ the switch ratio) times the CPU's time: switched.
    Faster { ratio: f64 },
    /// WebGPU's probabilities on a canary text differ from the CPU's by `diff`.
    Mismatch { diff: f64 },
    /// WebGPU could not be set up or run.
    Failed { detail: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    Ok(Prediction),
    /// Nothing to classify (the text is whitespace): the page says so in its own language.
    Empty,
    Failed(Failure),
}

/// Why one text could not be assessed: the page says it in its own language
/// (`Words::failure`), with the technical detail (English) under it; the export says it in
/// English ([`Failure::english`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Failure {
    /// Sent before the model was ready (the page does not, but the worker answers anyway).
    NotLoaded,
    /// The tokenizer could not read the text.
    Unreadable { detail: String },
    /// The model failed on it (e.g. a GPU read-back).
    Model { detail: String },
}

impl Failure {
    /// From the shared code's error for one text.
    pub fn of(e: &crate::Error) -> Self {
        match e {
            crate::Error::Tokenizer { .. } => Failure::Unreadable {
                detail: e.to_string(),
            },
            _ => Failure::Model {
                detail: e.to_string(),
            },
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Failure::NotLoaded => "",
            Failure::Unreadable { detail } | Failure::Model { detail } => detail,
        }
    }

    /// The same in English, for the export's error column.
    pub fn english(&self) -> String {
        match self {
            Failure::NotLoaded => "the model is not loaded".into(),
            Failure::Unreadable { detail } => format!("the text could not be read: {detail}"),
            Failure::Model { detail } => format!("the model could not compute this text: {detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::Lang;

    #[test]
    fn load_errors_name_the_file_and_say_what_is_wrong_with_it_in_each_language() {
        let corrupt = LoadError::from(crate::Error::Checksum {
            what: "tokenizer.json".into(),
            expected: "a".repeat(64),
            actual: "b".repeat(64),
        });
        assert_eq!(
            (corrupt.fault, corrupt.file.as_str()),
            (LoadFault::Corrupt, "tokenizer.json")
        );
        assert!(corrupt.detail.contains("SHA-256 is bbbb"), "{}", corrupt.detail);
        let invalid = LoadError::from(crate::Error::Weights {
            what: "weights.q8".into(),
            detail: "too short".into(),
        });
        assert_eq!(
            (invalid.fault, invalid.file.as_str()),
            (LoadFault::Invalid, "weights.q8")
        );

        let zh = Lang::Zh.words().load_fault(&corrupt).unwrap();
        assert!(zh.contains("tokenizer.json") && zh.contains("已损坏"), "{zh}");
        let en = Lang::En.words().load_fault(&invalid).unwrap();
        assert!(en.contains("weights.q8") && en.contains("not valid"), "{en}");
        let download = LoadError::new(LoadFault::Download, "config.json", "config.json: HTTP 404");
        assert!(
            Lang::Zh
                .words()
                .load_fault(&download)
                .unwrap()
                .contains("下载失败")
        );
        // No one file at fault: only the detail is shown.
        let other = LoadError::new(LoadFault::Other, "", "warm-up run failed");
        assert_eq!(Lang::En.words().load_fault(&other), None);
    }

    #[test]
    fn a_load_error_survives_the_message_format() {
        let reply = Reply::LoadFailed(LoadError::new(LoadFault::Download, "weights.q8", "HTTP 503"));
        let json = serde_json::to_string(&reply).unwrap();
        match serde_json::from_str::<Reply>(&json).unwrap() {
            Reply::LoadFailed(e) => {
                assert_eq!(e, LoadError::new(LoadFault::Download, "weights.q8", "HTTP 503"))
            }
            other => panic!("{other:?}"),
        }
    }
}
