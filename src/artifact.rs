//! Model directories on disk: the weights (`weights.bpk`, burnpack f16, for the n-gram model;
//! `weights.q8`, block-wise quantised, for the encoder), `tokenizer.json`, `config.json`
//! (architecture, labels, training settings, data source, SHA-256 of every file), plus
//! `metrics.json` and `MODEL_CARD.md` for people.

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::DType;
use thiserror::Error;

use crate::infer::{Architecture, CONFIG_FILE, Classifier, Manifest, Network, TOKENIZER_FILE, sha256_hex};
use crate::novelty::{Landmarks, NoveltySpec};

pub const METRICS_FILE: &str = "metrics.json";
pub const CARD_FILE: &str = "MODEL_CARD.md";

/// Causes are fields named `cause`, not `source`: each message already says them, and an
/// error source would make the CLI print them a second time.
#[derive(Debug, Error)]
pub enum ArtifactError {
    #[error(
        "{dir}: not a model directory (no {CONFIG_FILE}); train one with `sosrisk train --out DIR` or use models/char-ngram"
    )]
    NotAModel { dir: PathBuf },
    #[error("{path}: cannot read: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: cannot write: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("{dir}: {cause}")]
    Invalid { dir: PathBuf, cause: crate::Error },
}

fn read(path: PathBuf) -> Result<Vec<u8>, ArtifactError> {
    std::fs::read(&path).map_err(|cause| ArtifactError::Read { path, cause })
}

fn write(path: PathBuf, bytes: &[u8]) -> Result<(), ArtifactError> {
    std::fs::write(&path, bytes).map_err(|cause| ArtifactError::Write { path, cause })
}

/// Stores weights as f16: half the download for the web page, and the F1 cost was nil when
/// measured (loading casts back to the model's f32).
struct HalfPrecision;

impl ModuleMapper for HalfPrecision {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.cast(DType::F16))
    }
}

fn read_config(dir: &Path) -> Result<(Vec<u8>, Manifest), ArtifactError> {
    if !dir.join(CONFIG_FILE).is_file() {
        return Err(ArtifactError::NotAModel { dir: dir.into() });
    }
    let config = read(dir.join(CONFIG_FILE))?;
    let manifest = Manifest::parse(&config).map_err(|cause| ArtifactError::Invalid {
        dir: dir.into(),
        cause,
    })?;
    Ok((config, manifest))
}

/// A model directory's manifest alone (its threshold, labels, settings), without the weights.
pub fn read_manifest(dir: &Path) -> Result<Manifest, ArtifactError> {
    read_config(dir).map(|(_, manifest)| manifest)
}

/// Loads and verifies a model directory onto `device`.
pub fn load(dir: &Path, device: &Device) -> Result<Classifier, ArtifactError> {
    // The manifest names the weights file; `from_bytes` parses and checks it again with the rest.
    let (config, manifest) = read_config(dir)?;
    let invalid = |cause| ArtifactError::Invalid {
        dir: dir.into(),
        cause,
    };
    let tokenizer = read(dir.join(TOKENIZER_FILE))?;
    let weights = read(dir.join(manifest.architecture.weights_file()))?;
    Classifier::from_bytes(&config, &tokenizer, &weights, device).map_err(invalid)
}

/// Writes a model directory: the weights (f16 burnpack for the n-gram model, block-wise quantised
/// for the encoder) and tokenizer, then a manifest that records their hashes and `training`
/// (settings, data source).
pub fn save(dir: &Path, clf: &Classifier, training: serde_json::Value) -> Result<(), ArtifactError> {
    std::fs::create_dir_all(dir).map_err(|cause| ArtifactError::Write {
        path: dir.into(),
        cause,
    })?;
    let invalid = |cause| ArtifactError::Invalid {
        dir: dir.into(),
        cause,
    };
    let weights_file = clf.manifest.architecture.weights_file();
    let (weights, tokenizer) = match clf.network() {
        Network::Ngram { tokenizer, model, .. } => (
            model
                .clone()
                .map(&mut HalfPrecision)
                .into_record()
                .into_bytes()
                .map_err(|e| {
                    invalid(crate::Error::Weights {
                        what: weights_file.into(),
                        detail: format!("{e:?}"),
                    })
                })?
                .to_vec(),
            tokenizer.to_json().map_err(invalid)?,
        ),
        Network::Encoder {
            tokenizer,
            model,
            landmarks,
            ..
        } => (
            crate::quant::to_bytes_with(model.as_ref(), landmarks.as_ref(), crate::quant::DEFAULT_POLICY),
            tokenizer.to_json().map_err(invalid)?,
        ),
    };
    let mut manifest: Manifest = clf.manifest.clone();
    manifest.training = training;
    manifest.files.insert(weights_file.into(), sha256_hex(&weights));
    manifest
        .files
        .insert(TOKENIZER_FILE.into(), sha256_hex(tokenizer.as_bytes()));
    write(dir.join(weights_file), &weights)?;
    write(dir.join(TOKENIZER_FILE), tokenizer.as_bytes())?;
    let manifest = serde_json::to_value(&manifest).expect("manifest serialises");
    write(dir.join(CONFIG_FILE), pretty(&manifest).as_bytes())
}

/// Appends landmarks to an encoder model's weight file (the weights already there are kept
/// byte for byte, not quantised again) and records them in its `config.json`.
pub fn add_landmarks(dir: &Path, landmarks: &Landmarks, spec: NoveltySpec) -> Result<(), ArtifactError> {
    let (_, mut manifest) = read_config(dir)?;
    let invalid = |detail: String| ArtifactError::Invalid {
        dir: dir.into(),
        cause: crate::Error::Config {
            what: CONFIG_FILE.into(),
            detail,
        },
    };
    let weights_file = manifest.architecture.weights_file();
    let Architecture::Encoder(encoder) = &mut manifest.architecture else {
        return Err(invalid(
            "landmarks need an encoder model (e5); this is the n-gram model".into(),
        ));
    };
    if encoder.novelty.is_some() {
        return Err(invalid(
            "the model has landmarks already; fit them on a copy of the model made without".into(),
        ));
    }
    encoder.novelty = Some(spec);
    let weights = read(dir.join(weights_file))?;
    let weights = crate::quant::append(&weights, landmarks, crate::quant::DEFAULT_POLICY, weights_file)
        .map_err(|cause| ArtifactError::Invalid {
            dir: dir.into(),
            cause,
        })?;
    manifest.files.insert(weights_file.into(), sha256_hex(&weights));
    write(dir.join(weights_file), &weights)?;
    let manifest = serde_json::to_value(&manifest).expect("manifest serialises");
    write(dir.join(CONFIG_FILE), pretty(&manifest).as_bytes())
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON values serialise") + "\n"
}

/// Writes `metrics.json` and `MODEL_CARD.md` beside a saved model.
pub fn write_reports(dir: &Path, metrics: &serde_json::Value, card: &str) -> Result<(), ArtifactError> {
    write(dir.join(METRICS_FILE), pretty(metrics).as_bytes())?;
    write(dir.join(CARD_FILE), card.as_bytes())
}

/// A short human-readable description of a trained model.
pub fn model_card(
    manifest: &Manifest,
    training: &serde_json::Value,
    (validation_label, validation): (&str, &crate::metrics::Scores),
    test: Option<&crate::metrics::Scores>,
) -> String {
    let row = |name: &str, s: &crate::metrics::Scores| {
        format!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} |\n",
            s.binary_f1.map_or("n/a".into(), |v| format!("{:.2}", 100.0 * v)),
            100.0 * s.level_weighted_f1,
            100.0 * s.level_macro_f1,
            100.0 * s.level_accuracy,
            100.0 * s.level_within1_accuracy,
            s.level_mae
        )
    };
    let mut card = format!(
        "# sosrisk model: {arch}\n\n\
         Estimates the suicide risk of a short Chinese social-media post: a level 0–10 (SOS-1K scale) \
         and a separate high/low call. **A screening aid for trained people, not a diagnosis.** \
         Trained on SOS-1K (Weibo posts from one \"tree hole\", 2024) and, where the settings below name \
         pools, on ordinary texts and generated posts as a counterweight; expect it to be wrong on \
         other kinds of text.\n\n\
         ## Architecture\n\n{describe}\n\n\
         ## Training\n\n```json\n{settings}\n```\n\n\
         ## Scores (percent; MAE in levels)\n\n\
         | split | binary F1 (high) | level weighted F1 | level macro F1 | level accuracy | within-1 | MAE |\n\
         |---|---|---|---|---|---|---|\n",
        arch = manifest.architecture.name(),
        describe = manifest.architecture.describe(),
        settings = serde_json::to_string_pretty(training).unwrap_or_default(),
    );
    card += &row(validation_label, validation);
    if let Some(t) = test {
        card += &row("test (250 posts)", t);
    }
    card
}
