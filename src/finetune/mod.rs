//! Fine-tuning an imported encoder (`sosrisk import`) with the two heads: AdamW with linear
//! warm-up and decay (the heads at their own, higher rate), extra pools of texts in every batch
//! (ordinary texts, generated posts), optional distillation from a teacher's probabilities,
//! early stopping on the validation fold, optionally the running mean of the late epochs'
//! weights as the model (stochastic weight averaging: [`average`]), a checkpoint after every
//! epoch (so a stopped run resumes), then temperature scaling and the binary threshold fitted
//! on the validation fold. The result is a [`Classifier`] that saves as a model directory.
//!
//! The spine is [`finetune`]: the texts tokenized ([`rows`]), set up ([`Run::start`], which
//! resumes), then per epoch [`Run::train_epoch`], [`Run::validate`] and [`Checkpoints`], then
//! [`pack`] (calibrate, pick the threshold, build the classifier).

mod average;
mod calibration;
mod checkpoint;
pub mod distill;
mod layer_decay;
mod length_batches;
mod pack;
mod pools;
mod rows;
mod run;
pub mod soup;
mod timing;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use calibration::{Calibration, fit_temperature, softmax_rows};
pub use checkpoint::Checkpoints;
pub use distill::{Distill, Soft};
pub use pack::{EncoderParts, assemble};
pub use timing::{EpochTiming, time_epoch};

use crate::import::{ImportError, ImportedEncoder, QUERY_PREFIX};
use crate::infer::Classifier;
use crate::metrics::Scores;
use crate::model::bert::BertClassifier;
use crate::tokenize::PieceTokenizer;
use crate::train::Example;
use pack::pack;
use rows::Rows;
use run::Run;

#[derive(Debug, Error)]
pub enum FinetuneError {
    #[error(transparent)]
    Encoder(#[from] ImportError),
    #[error(transparent)]
    Text(#[from] crate::Error),
    #[error("checkpoint {path}: {detail}")]
    Checkpoint { path: PathBuf, detail: String },
    #[error("{0}")]
    Setup(String),
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub seed: u64,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Share of all steps spent warming the learning rate up from 0.
    pub warmup: f64,
    pub weight_decay: f64,
    pub dropout: f64,
    /// Tokens per text, including `<s>` and `</s>` (posts: p99 about 100 tokens).
    pub max_tokens: usize,
    /// Train only the heads (the cheap ablation).
    pub freeze_encoder: bool,
    /// The heads' learning rate as a multiple of the encoder's (fresh heads learn slowly at an
    /// encoder's rate: the frozen-encoder runs showed them under-trained).
    #[serde(default = "one")]
    pub head_lr_scale: f64,
    /// Rows of each extra pool ([`Splits::pools`], in order) added to every batch.
    #[serde(default)]
    pub pool_per_batch: Vec<usize>,
    /// Weight of the pool rows' (unbalanced) loss relative to the posts' loss.
    #[serde(default)]
    pub pool_weight: f64,
    /// Learn from a teacher's probabilities too, where [`Splits`] gives them.
    #[serde(default)]
    pub distill: Option<Distill>,
    /// Temperatures and threshold fixed in advance (e.g. from cross-validation's out-of-fold
    /// predictions), for a run without a validation fold: it then trains all `epochs`.
    #[serde(default)]
    pub fixed_calibration: Option<FixedCalibration>,
    /// Batches of posts of similar length ([`length_batches`]): far less padding to compute.
    #[serde(default)]
    pub group_by_length: bool,
    /// Each encoder depth below the top learns at this multiple of the rate above it
    /// ([`layer_decay`]); 1 is one rate for the whole encoder. Absent from the settings at 1,
    /// so that runs from before the option compare equal.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub layer_decay: f64,
    /// The level head's soft ordinal target width ([`crate::ordinal`]); 0 is the one-hot label.
    /// Absent from the settings at 0, likewise.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ordinal_sigma: f64,
    /// From this epoch on (1-based), the model validated, kept and saved is the mean of the
    /// weights at the end of this and every later epoch so far ([`average`]); 0 is off.
    /// Absent from the settings at 0, likewise.
    #[serde(default, skip_serializing_if = "is_default")]
    pub average_from: usize,
    /// Hidden-state dropout inside the encoder
    /// ([`crate::model::bert::BertEncoder::with_dropout`]); the heads' is [`Self::dropout`].
    /// Absent from the settings at 0, likewise.
    #[serde(default, skip_serializing_if = "is_default")]
    pub encoder_dropout: f64,
    /// R-Drop: every batch runs twice (two dropout masks), and the symmetric KL divergence
    /// between the two passes' distributions, this many times, joins the mean of their losses
    /// ([`crate::loss::symmetric_kl`]); 0 is off. Twice the compute per step.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rdrop: f64,
}

impl FinetuneConfig {
    /// With weight averaging, how many epochs' weights the model validated after `epoch`
    /// (1-based) is the mean of: the one source for the run, its checkpoint and its resumption.
    pub(crate) fn averaged_epochs(&self, epoch: usize) -> Option<usize> {
        (self.average_from > 0 && epoch >= self.average_from).then(|| epoch + 1 - self.average_from)
    }
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

fn is_default<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

/// Each head's temperature (level, binary) and the binary threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixedCalibration {
    pub temperatures: [f32; 2],
    pub threshold: f32,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            epochs: 6,
            patience: 2,
            batch_size: 16,
            learning_rate: 5e-5,
            warmup: 0.1,
            weight_decay: 0.01,
            dropout: 0.1,
            max_tokens: 160,
            freeze_encoder: false,
            head_lr_scale: 1.0,
            pool_per_batch: Vec::new(),
            pool_weight: 0.5,
            distill: None,
            fixed_calibration: None,
            group_by_length: false,
            layer_decay: 1.0,
            ordinal_sigma: 0.0,
            average_from: 0,
            encoder_dropout: 0.0,
            rdrop: 0.0,
        }
    }
}

/// One epoch of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    /// Argmax calls (threshold ½) on the validation fold, if there is one.
    pub validation: Option<Scores>,
    /// Share of [`Splits::watch`] flagged (high risk or level ≥ 4), if there is a watch set.
    pub watch_flagged: Option<f64>,
    pub seconds: f64,
    /// How many epochs' weights the validated model is the mean of, when averaging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub averaged: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneReport {
    pub settings: FinetuneConfig,
    pub best_epoch: usize,
    /// Scores of the heads' argmax calls (threshold ½) of the best epoch.
    pub validation: Option<Scores>,
    pub test: Option<Scores>,
    pub epochs: Vec<EpochLog>,
    /// Level head, binary head (none when fixed in advance).
    pub calibration: Option<[Calibration; 2]>,
    /// Chosen on the validation fold, on calibrated probabilities.
    pub binary_threshold: f32,
}

/// Training rows, the validation fold (selection, calibration, threshold), and the test rows
/// (scored only); optionally extra pools that join every batch, a teacher's targets, and a watch
/// set of texts that are all low risk (its flagged share is logged every epoch).
#[derive(Default, Clone)]
pub struct Splits<'a> {
    pub train: &'a [Example],
    /// A teacher's softened probabilities for each training row (with [`FinetuneConfig::distill`]).
    pub train_soft: Option<&'a [Soft]>,
    pub val: &'a [Example],
    pub test: &'a [Example],
    /// Each pool with its teacher targets, if any; [`FinetuneConfig::pool_per_batch`] says how
    /// many rows of each join a batch.
    pub pools: Vec<(&'a [Example], Option<&'a [Soft]>)>,
    pub watch: &'a [Example],
}

/// The fine-tuned model and how it got there.
pub struct Finetuned {
    pub classifier: Classifier,
    pub report: FinetuneReport,
}

/// Fine-tunes the encoder in `encoder_dir` on `train` (and the pools), keeps the epoch with the
/// best mean of binary F1 and level weighted F1 on `val`, fits each head's temperature and the
/// binary threshold on `val`, and scores the argmax calls on `test`.
pub fn finetune(
    encoder_dir: &Path,
    splits: Splits,
    cfg: &FinetuneConfig,
    device: &Device,
    checkpoints: Option<Checkpoints>,
    progress: bool,
) -> Result<Finetuned, FinetuneError> {
    let ImportedEncoder {
        config: bert,
        tokenizer,
        weights,
        source,
        ..
    } = ImportedEncoder::read(encoder_dir)?;
    let tokenizer = PieceTokenizer::new(tokenizer, QUERY_PREFIX, cfg.max_tokens);
    let rows = Rows::new(&tokenizer, &splits)?;
    let mut run = Run::start((&bert, weights), &rows, cfg, device, checkpoints.as_ref())?;

    let bar = if progress {
        ProgressBar::new(run.total_steps as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed}<{eta}]").expect("template"),
    );
    bar.set_position(run.state.step as u64);
    while run.should_continue() {
        let started = Instant::now();
        let train_loss = run.train_epoch(&bar);
        let (trained, valid) = run.validate(train_loss, started.elapsed().as_secs_f64(), &bar);
        if let Some(ck) = &checkpoints {
            ck.write(&run.state, &trained, &valid)?;
        }
    }
    bar.finish_and_clear();
    let best_epoch = run.state.best_epoch;
    let epochs = std::mem::take(&mut run.state.epochs);
    let model = run.best.take().unwrap_or_else(|| run.model.valid());
    let parts = EncoderParts {
        bert,
        source,
        tokenizer,
        max_tokens: cfg.max_tokens,
    };
    pack(model, &rows, cfg, parts, (best_epoch, epochs), device)
}

/// Instead of training: the uniform weight soup of `members` (checkpoints of models fine-tuned
/// from this encoder, or saved model directories such as a shipped model: [`soup::member`];
/// [`soup::soup`]), calibrated and thresholded on `splits.val` as a trained model is. Members
/// validated on the same fold never saw it, so the soup is fairly validated there too (the
/// recipe soups of Wortsman et al.: one start, different settings).
pub fn soup_of(
    encoder_dir: &Path,
    splits: Splits,
    cfg: &FinetuneConfig,
    members: &[PathBuf],
    device: &Device,
) -> Result<Finetuned, FinetuneError> {
    let ImportedEncoder {
        config: bert,
        tokenizer,
        source,
        ..
    } = ImportedEncoder::read(encoder_dir)?;
    let tokenizer = PieceTokenizer::new(tokenizer, QUERY_PREFIX, cfg.max_tokens);
    let rows = Rows::new(&tokenizer, &splits)?;
    let template = BertClassifier::new(bert.init(device), bert.hidden, 0.0, device);
    let models = members
        .iter()
        .map(|m| soup::member(m, template.clone(), &bert, device))
        .collect::<Result<Vec<_>, _>>()?;
    if models.is_empty() {
        return Err(FinetuneError::Setup("a soup needs at least one member".into()));
    }
    let parts = EncoderParts {
        bert,
        source,
        tokenizer,
        max_tokens: cfg.max_tokens,
    };
    pack(soup::soup(&models), &rows, cfg, parts, (0, Vec::new()), device)
}

/// A model saved by a run's checkpoint (`best.bpk`, `last.bpk`), read into `template`'s structure.
pub fn load_checkpoint(path: &Path, template: BertClassifier) -> Result<BertClassifier, FinetuneError> {
    checkpoint::load_module(path.into(), template)
}
