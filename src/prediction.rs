//! What the model says about a text: shared by the CLI, the web worker that computes it and the
//! page that shows it (which has no model code of its own).

use serde::{Deserialize, Serialize};

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Most probable level, 0–10.
    pub level: usize,
    pub level_probs: Vec<f32>,
    /// Plain-language band of `level`.
    pub band: String,
    /// The binary head's call.
    pub high_risk: bool,
    pub high_risk_prob: f32,
    /// Characters the model read; `truncated` when the text was longer than it reads.
    pub chars_used: usize,
    pub truncated: bool,
    /// With `--explain` (CLI) or in the page: per character of the text read, how much
    /// P(high risk) drops when that character is left out (negative: it lowered the risk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Vec<f32>>,
}
