//! A model directory's format: `config.json` (the architecture and its shape, the labels, the
//! binary threshold, each file's SHA-256 and how the model was trained), the file names, and the
//! check of each file against its recorded SHA-256. Read by the CLI from disk and by the web
//! worker from the network; no I/O here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::labels::{self, HIGH_RISK};
use crate::model::NgramModelConfig;
use crate::model::bert::BertConfig;

/// Identifies the model-directory layout this code reads.
pub const FORMAT: &str = "sosrisk-model/1";
/// The n-gram model's weights (burnpack, f16).
pub const WEIGHTS_FILE: &str = "weights.bpk";
/// The encoder's weights (block-wise quantised, see [`crate::quant`]).
pub const QUANTISED_WEIGHTS_FILE: &str = "weights.q8";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const CONFIG_FILE: &str = "config.json";

/// The network a model directory holds, with its shape (`architecture` and `model` in
/// `config.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "architecture", content = "model")]
pub enum Architecture {
    /// The from-scratch character n-gram ensemble.
    #[serde(rename = "char-ngram")]
    CharNgram(NgramModelConfig),
    /// The fine-tuned multilingual-e5-small encoder.
    #[serde(rename = "e5")]
    Encoder(EncoderSpec),
}

/// Shape and reading settings of a fine-tuned encoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderSpec {
    pub encoder: BertConfig,
    /// Tokens read per text, `<s>` and `</s>` included.
    pub max_tokens: usize,
    pub query_prefix: String,
    /// Each head's softmax temperature (level, binary), fitted on the validation fold.
    pub temperatures: [f32; 2],
    /// Landmarks of the texts it learned from, appended to the weight file (`sosrisk novelty`);
    /// absent in models made before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub novelty: Option<crate::novelty::NoveltySpec>,
}

impl Architecture {
    pub fn name(&self) -> &'static str {
        match self {
            Self::CharNgram(_) => "char-ngram",
            Self::Encoder(_) => "e5",
        }
    }

    /// The file the weights are in.
    pub fn weights_file(&self) -> &'static str {
        match self {
            Self::CharNgram(_) => WEIGHTS_FILE,
            Self::Encoder(_) => QUANTISED_WEIGHTS_FILE,
        }
    }

    /// One paragraph for people (model card, web page).
    pub fn describe(&self) -> String {
        match self {
            Self::CharNgram(m) => format!(
                "TF-IDF-weighted character 1–3-gram embeddings of {} dimensions, bag + attention \
                 pooling, one hidden layer of {}, two heads; an ensemble of {} such models. \
                 Vocabulary: {} characters and n-grams. Reads at most {} characters. Weights in f16.",
                m.d_model, m.d_hidden, m.members, m.vocab_size, m.max_chars
            ),
            Self::Encoder(e) => format!(
                "multilingual-e5-small ({} layers, {} wide, {} heads), fine-tuned on SOS-1K with a \
                 level head and a binary head on its mean-pooled output. Vocabulary pruned to {} \
                 pieces. Reads at most {} tokens. Weights block-wise quantised: {}-bit embeddings, \
                 {}-bit layers.",
                e.encoder.layers,
                e.encoder.hidden,
                e.encoder.heads,
                e.encoder.vocab_size,
                e.max_tokens,
                crate::quant::DEFAULT_POLICY.embedding_bits,
                crate::quant::DEFAULT_POLICY.other_bits
            ),
        }
    }
}

/// `config.json` of a model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    #[serde(flatten)]
    pub architecture: Architecture,
    pub levels: Vec<String>,
    pub binary: Vec<String>,
    /// A text is high risk when the binary head's probability reaches this; chosen on the
    /// validation folds to maximise F1 of the high-risk class.
    #[serde(default = "half")]
    pub binary_threshold: f32,
    /// SHA-256 of each file the model needs, by file name: checked before use.
    pub files: BTreeMap<String, String>,
    /// How the model was trained (settings, data file and its SHA-256); informational.
    #[serde(default)]
    pub training: serde_json::Value,
}

impl Manifest {
    /// A fresh model's manifest: threshold ½ and no file hashes yet (saving adds them).
    pub fn new(architecture: Architecture, training: serde_json::Value) -> Self {
        Self {
            format: FORMAT.into(),
            architecture,
            levels: labels::LEVEL_DESCRIPTIONS.iter().map(|s| s.to_string()).collect(),
            binary: vec![
                labels::binary_name(0).into(),
                labels::binary_name(HIGH_RISK).into(),
            ],
            binary_threshold: 0.5,
            files: BTreeMap::new(),
            training,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Config {
            what: CONFIG_FILE.into(),
            detail: e.to_string(),
        })?;
        if manifest.format != FORMAT {
            return Err(Error::Config {
                what: CONFIG_FILE.into(),
                detail: format!("format is {:?}, this build reads {FORMAT:?}", manifest.format),
            });
        }
        Ok(manifest)
    }

    /// Fails unless `bytes` hash to what the manifest records for `file`.
    pub fn verify(&self, file: &str, bytes: &[u8]) -> Result<(), Error> {
        let expected = self.files.get(file).ok_or_else(|| Error::Config {
            what: CONFIG_FILE.into(),
            detail: format!("no SHA-256 listed for {file}"),
        })?;
        let actual = sha256_hex(bytes);
        if &actual != expected {
            return Err(Error::Checksum {
                what: file.into(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(())
    }
}

fn half() -> f32 {
    0.5
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub use crate::prediction::Prediction;
