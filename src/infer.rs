//! Text → risk prediction, from a model's bytes. No file or network I/O here: the CLI reads the
//! files from disk, the web worker fetches them, and both hand the bytes to [`Classifier`].

use std::collections::BTreeMap;

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::labels::{self, HIGH_RISK, N_LEVELS};
use crate::model::{Ensemble, NgramModelConfig};
use crate::tokenize::{CharTokenizer, Encoded, NGRAM_ORDERS};

/// Identifies the model-directory layout this code reads.
pub const FORMAT: &str = "sosrisk-model/1";
pub const WEIGHTS_FILE: &str = "weights.bpk";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const CONFIG_FILE: &str = "config.json";

/// `config.json` of a model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub architecture: String,
    pub model: NgramModelConfig,
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
}

/// A loaded model with its tokenizer, ready to classify.
pub struct Classifier {
    pub manifest: Manifest,
    tokenizer: CharTokenizer,
    model: Ensemble,
    device: Device,
}

impl Classifier {
    /// Builds a classifier from the three files of a model directory, verifying each file's
    /// SHA-256 against `config.json` first.
    pub fn from_bytes(
        config: &[u8],
        tokenizer: &[u8],
        weights: &[u8],
        device: &Device,
    ) -> Result<Self, Error> {
        let manifest = Manifest::parse(config)?;
        manifest.verify(TOKENIZER_FILE, tokenizer)?;
        manifest.verify(WEIGHTS_FILE, weights)?;
        let tokenizer = CharTokenizer::from_json(tokenizer)?;
        if tokenizer.vocab_size() != manifest.model.vocab_size {
            return Err(Error::Config {
                what: CONFIG_FILE.into(),
                detail: format!(
                    "model.vocab_size is {} but {TOKENIZER_FILE} has {} entries",
                    manifest.model.vocab_size,
                    tokenizer.vocab_size()
                ),
            });
        }
        let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(weights.to_vec()))
            .map(ModuleRecord::cast_to_module_dtype)
            .map_err(|e| Error::Weights {
                what: WEIGHTS_FILE.into(),
                detail: format!("{e:?}"),
            })?;
        let model = manifest
            .model
            .init_ensemble(device)
            .try_load_record(record)
            .map_err(|e| Error::Weights {
                what: WEIGHTS_FILE.into(),
                detail: format!("does not fit the architecture in {CONFIG_FILE}: {e:?}"),
            })?;
        Ok(Self {
            manifest,
            tokenizer,
            model,
            device: device.clone(),
        })
    }

    /// Wraps an in-memory model (training and tests); the manifest describes it.
    pub fn from_parts(
        manifest: Manifest,
        tokenizer: CharTokenizer,
        model: Ensemble,
        device: &Device,
    ) -> Self {
        Self {
            manifest,
            tokenizer,
            model,
            device: device.clone(),
        }
    }

    pub fn tokenizer(&self) -> &CharTokenizer {
        &self.tokenizer
    }

    pub fn model(&self) -> &Ensemble {
        &self.model
    }

    /// Classifies a batch of texts. Any empty text fails the whole call with its index, so a
    /// caller never gets predictions that silently skip rows.
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<Prediction>, (usize, Error)> {
        let encoded: Vec<Encoded> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.tokenizer.encode(t).map_err(|e| (i, e)))
            .collect::<Result<_, _>>()?;
        if encoded.is_empty() {
            return Ok(Vec::new());
        }
        let cfg = &self.manifest.model;
        let refs: Vec<&[[u32; NGRAM_ORDERS]]> = encoded.iter().map(|e| e.features.as_slice()).collect();
        let (level, binary) = self.model.probabilities(cfg.batch(&refs, &self.device));
        let level = level.into_data().try_into_vec::<f32>().expect("f32 logits");
        let binary = binary.into_data().try_into_vec::<f32>().expect("f32 logits");
        Ok(encoded
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let level_probs = level[i * N_LEVELS..(i + 1) * N_LEVELS].to_vec();
                let best = argmax(&level_probs);
                let high_risk_prob = binary[i * 2 + HIGH_RISK];
                Prediction {
                    level: best,
                    band: labels::band(best).into(),
                    level_probs,
                    high_risk: high_risk_prob >= self.manifest.binary_threshold,
                    high_risk_prob,
                    chars_used: e.ids.len().min(cfg.max_chars),
                    truncated: e.ids.len() > cfg.max_chars,
                }
            })
            .collect())
    }
}

pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
