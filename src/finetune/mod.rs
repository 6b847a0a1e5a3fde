//! Fine-tuning an imported encoder (`sosrisk import`) with the two heads: AdamW with linear
//! warm-up and decay (the heads at their own, higher rate), extra pools of texts in every batch
//! (ordinary texts, generated posts), optional distillation from a teacher's probabilities,
//! early stopping on the validation fold, optionally the running mean of the late epochs'
//! weights as the model (stochastic weight averaging: [`average`]), a checkpoint after every
//! epoch (so a stopped run resumes), then temperature scaling and the binary threshold fitted on the validation fold.
//! The result is a [`Classifier`] that saves as a model directory.
//!
//! The spine is [`finetune`]: set up ([`Run::start`], which resumes), then per epoch
//! [`Run::train_epoch`], [`Run::validate`] and [`Checkpoints`], then [`pack`] (calibrate, pick
//! the threshold, build the classifier).

mod average;
mod calibration;
mod checkpoint;
pub mod distill;
mod layer_decay;
mod length_batches;
mod pools;
pub mod soup;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use calibration::{Calibration, fit_temperature, softmax_rows};
pub use checkpoint::Checkpoints;
pub use distill::{Distill, Soft};

use crate::import::{ImportError, ImportedEncoder, QUERY_PREFIX};
use crate::infer::{Architecture, Classifier, EncoderSpec, Manifest, Network, argmax};
use crate::labels::{HIGH_RISK, N_LEVELS};
use crate::metrics::Scores;
use crate::model::Logits;
use crate::model::bert::{self, BertClassifier};
use crate::tokenize::PieceTokenizer;
use crate::train::{Example, LossWeights, Rng, best_threshold, scalar};
use average::WeightMean;
use calibration::calibrate;
use checkpoint::CheckpointState;
use pools::PoolState;

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

struct Row {
    ids: Vec<u32>,
    level: usize,
    binary: Option<usize>,
    soft: Option<Soft>,
}

fn encode(
    tokenizer: &PieceTokenizer,
    examples: &[Example],
    soft: Option<&[Soft]>,
) -> Result<Vec<Row>, crate::Error> {
    examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(Row {
                ids: tokenizer.encode(&e.text)?.ids,
                level: e.level,
                binary: e.binary,
                soft: soft.map(|s| s[i].clone()),
            })
        })
        .collect()
}

fn batch(rows: &[&Row], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let ids: Vec<&[u32]> = rows.iter().map(|r| r.ids.as_slice()).collect();
    bert::batch(&ids, device)
}

/// Runs `f` on `rows` in batches of 32 of similar length (less padding) and returns each of its
/// `K` outputs row-major, in row order.
fn by_length<const K: usize>(
    rows: &[Row],
    device: &Device,
    f: impl Fn(Tensor<2, Int>, Tensor<2>) -> [Tensor<2>; K],
) -> [Vec<f32>; K] {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].ids.len());
    let mut out: [Vec<f32>; K] = std::array::from_fn(|_| Vec::new());
    for chunk in order.chunks(32) {
        let batch_rows: Vec<&Row> = chunk.iter().map(|&i| &rows[i]).collect();
        let (ids, mask) = batch(&batch_rows, device);
        for (all, tensor) in out.iter_mut().zip(f(ids, mask)) {
            let width = tensor.dims()[1];
            if all.is_empty() {
                all.resize(rows.len() * width, 0.0);
            }
            let values = tensor.into_data().try_into_vec::<f32>().expect("f32");
            for (k, &i) in chunk.iter().enumerate() {
                all[i * width..(i + 1) * width].copy_from_slice(&values[k * width..(k + 1) * width]);
            }
        }
    }
    out
}

/// Both heads' logits for every row, in row order: `(level, binary)`, row-major.
fn logits(model: &BertClassifier, rows: &[Row], device: &Device) -> (Vec<f32>, Vec<f32>) {
    let [level, binary] = by_length(rows, device, |ids, mask| {
        let out = model.forward(ids, mask);
        [out.level, out.binary]
    });
    (level, binary)
}

/// A frozen encoder's pooled outputs, computed once: training then only runs the heads, which
/// gives the same model as running the encoder at every step (it has no dropout of its own).
struct Frozen {
    hidden: usize,
    train: Vec<f32>,
    val: Vec<f32>,
    pools: Vec<Vec<f32>>,
}

impl Frozen {
    fn new(encoder: &bert::BertEncoder, rows: &Rows, hidden: usize, device: &Device) -> Self {
        let pooled = |rows| {
            let [p] = by_length(rows, device, |ids, mask| [encoder.pooled(ids, mask)]);
            p
        };
        Self {
            hidden,
            train: pooled(&rows.train),
            val: pooled(&rows.val),
            pools: rows.pools.iter().map(|p| pooled(p)).collect(),
        }
    }

    /// The pooled outputs of `rows` (indices into `features`) as one `[rows, hidden]` tensor.
    fn gather(&self, features: &[f32], rows: &[usize], device: &Device) -> Tensor<2> {
        let h = self.hidden;
        let values: Vec<f32> = rows
            .iter()
            .flat_map(|&i| &features[i * h..(i + 1) * h])
            .copied()
            .collect();
        Tensor::from_data(TensorData::new(values, [rows.len(), h]), device)
    }

    fn val_logits(&self, model: &BertClassifier, device: &Device) -> (Vec<f32>, Vec<f32>) {
        let all: Vec<usize> = (0..self.val.len() / self.hidden).collect();
        let out = model.heads(self.gather(&self.val, &all, device));
        let values = |t: Tensor<2>| t.into_data().try_into_vec::<f32>().expect("f32");
        (values(out.level), values(out.binary))
    }
}

/// (level, binary) of each row, for the loss and the scores.
fn labels<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<(usize, Option<usize>)> {
    rows.into_iter().map(|r| (r.level, r.binary)).collect()
}

fn argmax_scores(rows: &[Row], (level, binary): &(Vec<f32>, Vec<f32>)) -> Scores {
    let preds: Vec<(usize, usize)> = level
        .chunks(N_LEVELS)
        .zip(binary.chunks(2))
        .map(|(l, b)| (argmax(l), argmax(b)))
        .collect();
    Scores::of_predictions(&labels(rows), &preds)
}

/// Share of rows the argmax calls flag: high risk, or a level of 4 or more (a suicidal wish).
fn flagged_share((level, binary): &(Vec<f32>, Vec<f32>)) -> f64 {
    let n = binary.len() / 2;
    let flagged = level
        .chunks(N_LEVELS)
        .zip(binary.chunks(2))
        .filter(|(l, b)| argmax(l) >= 4 || argmax(b) == HIGH_RISK)
        .count();
    flagged as f64 / n.max(1) as f64
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

/// Every split, tokenized.
struct Rows {
    train: Vec<Row>,
    val: Vec<Row>,
    test: Vec<Row>,
    pools: Vec<Vec<Row>>,
    watch: Vec<Row>,
}

impl Rows {
    fn new(tokenizer: &PieceTokenizer, s: &Splits) -> Result<Self, crate::Error> {
        Ok(Self {
            train: encode(tokenizer, s.train, s.train_soft)?,
            val: encode(tokenizer, s.val, None)?,
            test: encode(tokenizer, s.test, None)?,
            pools: s
                .pools
                .iter()
                .map(|(examples, soft)| encode(tokenizer, examples, *soft))
                .collect::<Result<_, _>>()?,
            watch: encode(tokenizer, s.watch, None)?,
        })
    }
}

/// A run in progress: the model, the optimiser, where the run is, and the best epoch so far.
struct Run<'a> {
    cfg: &'a FinetuneConfig,
    rows: &'a Rows,
    frozen: Option<Frozen>,
    model: BertClassifier,
    optim: ModuleOptimizer,
    /// Class-balanced for the posts; every pool row counts the same.
    weights: LossWeights,
    pool_weights: LossWeights,
    state: CheckpointState,
    best: Option<BertClassifier>,
    /// The epochs' weights from `average_from` on.
    average: WeightMean,
    total_steps: usize,
    ad: Device,
    device: &'a Device,
}

impl<'a> Run<'a> {
    /// Builds the model from the imported encoder and resumes from the checkpoint, if asked.
    fn start(
        (bert, record): (&bert::BertConfig, burn::store::ModuleRecord),
        rows: &'a Rows,
        cfg: &'a FinetuneConfig,
        device: &'a Device,
        checkpoints: Option<&Checkpoints>,
    ) -> Result<Self, FinetuneError> {
        if cfg.pool_per_batch.len() != rows.pools.len() {
            return Err(FinetuneError::Setup(format!(
                "{} extra pools but {} per-batch counts",
                rows.pools.len(),
                cfg.pool_per_batch.len()
            )));
        }
        if cfg.average_from > cfg.epochs {
            return Err(FinetuneError::Setup(format!(
                "averaging from epoch {} of a run of {} epochs would never average",
                cfg.average_from, cfg.epochs
            )));
        }
        let ad = device.clone().autodiff();
        ad.seed(cfg.seed);
        let encoder = bert.init(&ad).load_record(record);
        let encoder = if cfg.freeze_encoder {
            encoder.no_grad()
        } else {
            encoder
        };
        // Before the heads exist: their parameters are initialised on first use, and using them
        // here (through the whole model's `valid()`) would draw their weights from another stream.
        let frozen = cfg
            .freeze_encoder
            .then(|| Frozen::new(&encoder.valid(), rows, bert.hidden, device));
        let model = BertClassifier::new(encoder, bert.hidden, cfg.dropout, &ad);
        let optim = AdamWConfig::new()
            .with_weight_decay(cfg.weight_decay as f32)
            .init();
        let steps_per_epoch = rows.train.len().div_ceil(cfg.batch_size);
        let mut run = Self {
            cfg,
            rows,
            frozen,
            model,
            optim,
            weights: LossWeights::new(rows.train.iter().map(|r| r.level), true, 1.0)
                .ordinal(cfg.ordinal_sigma),
            pool_weights: LossWeights::new(std::iter::empty(), false, 1.0).ordinal(cfg.ordinal_sigma),
            state: CheckpointState {
                settings: cfg.clone(),
                epoch: 0,
                step: 0,
                rng: cfg.seed,
                order: (0..rows.train.len()).collect(),
                best_key: f64::NEG_INFINITY,
                best_epoch: 0,
                epochs: Vec::new(),
                pools: rows
                    .pools
                    .iter()
                    .enumerate()
                    .map(|(k, p)| PoolState::new(p.len(), cfg.seed, k as u64 + 1))
                    .collect(),
                averaged: 0,
            },
            best: None,
            average: WeightMean::default(),
            total_steps: (steps_per_epoch * cfg.epochs).max(1),
            ad,
            device,
        };
        if let Some(ck) = checkpoints
            && let Some(saved) = ck.saved_state(cfg, rows.train.len())?
        {
            run.model = checkpoint::load_module(ck.dir.join("last.bpk"), run.model)?;
            run.best =
                Some(checkpoint::load_module(Checkpoints::best_in(ck.dir), run.model.clone())?.valid());
            if saved.averaged > 0 {
                let mean = checkpoint::load_module(ck.average(), run.model.clone())?.valid();
                run.average = WeightMean::resume(&mean, saved.averaged);
            }
            run.state = saved;
            eprintln!(
                "resuming after epoch {} (best so far: epoch {})",
                run.state.epoch, run.state.best_epoch
            );
        }
        Ok(run)
    }

    fn lr_at(&self, step: usize) -> f64 {
        let warmup_steps = ((self.total_steps as f64 * self.cfg.warmup) as usize).max(1);
        let lr = self.cfg.learning_rate;
        if step < warmup_steps {
            lr * (step + 1) as f64 / warmup_steps as f64
        } else {
            lr * (self.total_steps - step) as f64 / (self.total_steps - warmup_steps).max(1) as f64
        }
    }

    /// Early stopping: at most `epochs`, and no more than `patience` epochs past the best.
    fn should_continue(&self) -> bool {
        let s = &self.state;
        s.epoch < self.cfg.epochs && (s.epoch == 0 || s.epoch - s.best_epoch < self.cfg.patience)
    }

    /// Both heads' logits for `rows` of `split` (indices), through the frozen features if any.
    fn forward(&self, split: Split, indices: &[usize]) -> Logits {
        match &self.frozen {
            Some(f) => {
                let features = match split {
                    Split::Train => &f.train,
                    Split::Pool(k) => &f.pools[k],
                };
                self.model.heads(f.gather(features, indices, &self.ad))
            }
            None => {
                let rows: Vec<&Row> = indices.iter().map(|&i| split.row(self.rows, i)).collect();
                let (ids, mask) = batch(&rows, &self.ad);
                self.model.forward(ids, mask)
            }
        }
    }

    /// Hard-label loss (with `weights`), mixed with the teacher's soft loss where rows have one.
    fn loss(&self, logits: Logits, rows: &[&Row], weights: &LossWeights) -> Tensor<1> {
        let hard = weights.loss(logits.clone(), &labels(rows.iter().copied()), &self.ad);
        let Some(d) = &self.cfg.distill else { return hard };
        if rows.iter().all(|r| r.soft.is_none()) {
            return hard;
        }
        let level: Vec<Option<&[f32]>> = rows
            .iter()
            .map(|r| r.soft.as_ref().map(|s| s.level.as_slice()))
            .collect();
        let binary: Vec<Option<&[f32]>> = rows
            .iter()
            .map(|r| r.soft.as_ref().map(|s| &s.binary[..]))
            .collect();
        let soft = distill::soft_cross_entropy(logits.level, &level, d.temperature, &self.ad)
            + distill::soft_cross_entropy(logits.binary, &binary, d.temperature, &self.ad);
        hard.mul_scalar(1.0 - d.alpha) + soft.mul_scalar(d.alpha)
    }

    /// One optimiser step on a batch of posts (plus each pool's share); returns the posts' loss.
    fn step(&mut self, chunk: &[usize]) -> f64 {
        let rows: Vec<&Row> = chunk.iter().map(|&i| &self.rows.train[i]).collect();
        let posts = self.loss(self.forward(Split::Train, chunk), &rows, &self.weights);
        let posts_value = scalar(posts.clone());
        let mut loss = posts;
        for k in 0..self.rows.pools.len() {
            let picked = self.state.pools[k].take(self.cfg.pool_per_batch[k]);
            if picked.is_empty() {
                continue;
            }
            let pool_rows: Vec<&Row> = picked.iter().map(|&i| &self.rows.pools[k][i]).collect();
            let pool_loss = self.loss(
                self.forward(Split::Pool(k), &picked),
                &pool_rows,
                &self.pool_weights,
            );
            loss = loss + pool_loss.mul_scalar(self.cfg.pool_weight);
        }
        let mut grads = loss.backward();
        // The encoder and the heads at their own rates: one optimiser, a step per group of
        // disjoint parameters (a parameter without a gradient in a step is left as it is); with
        // layer-wise decay each encoder depth is a group of its own.
        let encoder_grads = if self.cfg.layer_decay == 1.0 {
            vec![(1.0, GradientsParams::from_module(&mut grads, &self.model.encoder))]
        } else {
            layer_decay::grads_by_depth(&self.model.encoder, &mut grads, self.cfg.layer_decay)
        };
        let head_grads = GradientsParams::from_grads(grads, &self.model);
        let lr = self.lr_at(self.state.step);
        let mut model = self.model.clone();
        for (scale, g) in encoder_grads {
            model = self.optim.step(lr * scale, model, g);
        }
        self.model = self.optim.step(lr * self.cfg.head_lr_scale, model, head_grads);
        self.state.step += 1;
        posts_value
    }

    /// One pass over the posts in a fresh order; returns the mean loss.
    fn train_epoch(&mut self, bar: &ProgressBar) -> f64 {
        let epoch = self.state.epoch + 1;
        let started = Instant::now();
        let mut rng = Rng(self.state.rng);
        rng.shuffle(&mut self.state.order);
        let order = if self.cfg.group_by_length {
            let rows = &self.rows.train;
            length_batches::grouped(
                &self.state.order,
                |i| rows[i].ids.len(),
                self.cfg.batch_size,
                &mut rng,
            )
        } else {
            self.state.order.clone()
        };
        self.state.rng = rng.0;
        let (mut total, mut seen) = (0.0, 0);
        for chunk in order.chunks(self.cfg.batch_size) {
            total += self.step(chunk) * chunk.len() as f64;
            seen += chunk.len();
            bar.inc(1);
            if bar.is_hidden() && self.state.step.is_multiple_of(10) {
                eprintln!(
                    "step {}/{} ({:.0} s into epoch {epoch})",
                    self.state.step,
                    self.total_steps,
                    started.elapsed().as_secs_f64()
                );
            }
            bar.set_message(format!("epoch {epoch} loss {:.3}", total / seen as f64));
        }
        total / seen.max(1) as f64
    }

    /// Scores the epoch's model on the validation fold (and the watch set), and keeps it if it
    /// is the best: the highest mean of binary F1 and level weighted F1. Without a validation
    /// fold every epoch is the best so far (the run trains all its epochs). The epoch's model is
    /// the weights being trained, or from `average_from` on their mean over the epochs since;
    /// returns both (the first is what training resumes from).
    fn validate(
        &mut self,
        train_loss: f64,
        seconds: f64,
        bar: &ProgressBar,
    ) -> (BertClassifier, BertClassifier) {
        let trained = self.model.valid();
        let epoch = self.state.epoch + 1;
        let averaging = self.cfg.average_from > 0 && epoch >= self.cfg.average_from;
        let valid = if averaging {
            self.average.add(&trained);
            self.state.averaged = self.average.count();
            self.average.model(trained.clone())
        } else {
            trained.clone()
        };
        let averaged = averaging.then_some(self.state.averaged);
        let validation = (!self.rows.val.is_empty()).then(|| {
            let val_logits = match &self.frozen {
                Some(f) => f.val_logits(&valid, self.device),
                None => logits(&valid, &self.rows.val, self.device),
            };
            argmax_scores(&self.rows.val, &val_logits)
        });
        let watch_flagged = (!self.rows.watch.is_empty())
            .then(|| flagged_share(&logits(&valid, &self.rows.watch, self.device)));
        let key = validation.as_ref().map_or(epoch as f64, |v| {
            (v.binary_f1.unwrap_or(0.0) + v.level_weighted_f1) / 2.0
        });
        // Printed even without a terminal (the bar is then hidden): a long run's only sign of life.
        bar.suspend(|| {
            eprintln!(
                "epoch {epoch}{}: loss {train_loss:.3}{}{} ({seconds:.0} s)",
                averaged.map_or(String::new(), |n| format!(" (mean of the last {n} epochs)")),
                validation.as_ref().map_or(String::new(), |v| format!(
                    ", validation binary F1 {:.4}, level weighted F1 {:.4}",
                    v.binary_f1.unwrap_or(f64::NAN),
                    v.level_weighted_f1
                )),
                watch_flagged.map_or(String::new(), |w| format!(
                    ", watch set flagged {:.1} %",
                    w * 100.0
                )),
            )
        });
        self.state.epochs.push(EpochLog {
            epoch,
            train_loss,
            validation,
            watch_flagged,
            seconds,
            averaged,
        });
        self.state.epoch = epoch;
        if key > self.state.best_key {
            self.state.best_key = key;
            self.state.best_epoch = epoch;
            self.best = Some(valid.clone());
        }
        (trained, valid)
    }
}

/// Which rows a batch comes from.
#[derive(Clone, Copy)]
enum Split {
    Train,
    Pool(usize),
}

impl Split {
    fn row(self, rows: &Rows, i: usize) -> &Row {
        match self {
            Split::Train => &rows.train[i],
            Split::Pool(k) => &rows.pools[k][i],
        }
    }
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

/// What a fine-tuned encoder's classifier is made of besides its weights.
pub struct EncoderParts {
    pub bert: bert::BertConfig,
    pub source: serde_json::Value,
    pub tokenizer: PieceTokenizer,
    pub max_tokens: usize,
}

/// The classifier for `model` with these temperatures and this threshold.
pub fn assemble(
    model: BertClassifier,
    parts: EncoderParts,
    calibration: FixedCalibration,
    device: &Device,
) -> Classifier {
    let spec = EncoderSpec {
        encoder: parts.bert,
        max_tokens: parts.max_tokens,
        query_prefix: QUERY_PREFIX.into(),
        temperatures: calibration.temperatures,
        novelty: None,
    };
    let mut manifest = Manifest::new(
        Architecture::Encoder(spec.clone()),
        serde_json::json!({ "encoder_source": parts.source }),
    );
    manifest.binary_threshold = calibration.threshold;
    let network = Network::Encoder {
        tokenizer: parts.tokenizer,
        model: Box::new(model),
        spec,
        landmarks: None,
    };
    Classifier::from_parts(manifest, network, device)
}

/// Calibration and the threshold from the validation fold only (or as fixed in advance when
/// there is none); then the classifier.
fn pack(
    model: BertClassifier,
    rows: &Rows,
    cfg: &FinetuneConfig,
    parts: EncoderParts,
    (best_epoch, epochs): (usize, Vec<EpochLog>),
    device: &Device,
) -> Result<Finetuned, FinetuneError> {
    let test_logits = (!rows.test.is_empty()).then(|| logits(&model, &rows.test, device));
    let level_targets = |rows: &[Row]| rows.iter().map(|r| Some(r.level)).collect::<Vec<_>>();
    let binary_targets = |rows: &[Row]| rows.iter().map(|r| r.binary).collect::<Vec<_>>();
    let (fixed, calibration, validation) = if rows.val.is_empty() {
        let fixed = cfg.fixed_calibration.ok_or_else(|| {
            FinetuneError::Setup(
                "a run without a validation fold needs its calibration fixed in advance".into(),
            )
        })?;
        (fixed, None, None)
    } else {
        let val_logits = logits(&model, &rows.val, device);
        let level_cal = calibrate(
            N_LEVELS,
            (&val_logits.0, &level_targets(&rows.val)),
            test_logits
                .as_ref()
                .map(|l| (l.0.as_slice(), level_targets(&rows.test))),
        );
        let binary_cal = calibrate(
            2,
            (&val_logits.1, &binary_targets(&rows.val)),
            test_logits
                .as_ref()
                .map(|l| (l.1.as_slice(), binary_targets(&rows.test))),
        );
        let val_high: Vec<(f32, usize)> = softmax_rows(&val_logits.1, 2, binary_cal.temperature)
            .chunks(2)
            .zip(&rows.val)
            .filter_map(|(p, r)| r.binary.map(|b| (p[HIGH_RISK], b)))
            .collect();
        let fixed = FixedCalibration {
            temperatures: [level_cal.temperature, binary_cal.temperature],
            threshold: best_threshold(&val_high),
        };
        (
            fixed,
            Some([level_cal, binary_cal]),
            Some(argmax_scores(&rows.val, &val_logits)),
        )
    };
    let report = FinetuneReport {
        settings: cfg.clone(),
        best_epoch,
        validation,
        test: test_logits.as_ref().map(|l| argmax_scores(&rows.test, l)),
        epochs,
        calibration,
        binary_threshold: fixed.threshold,
    };
    Ok(Finetuned {
        classifier: assemble(model, parts, fixed, device),
        report,
    })
}

/// One timed training epoch (see [`time_epoch`]).
#[derive(Debug, Clone, Serialize)]
pub struct EpochTiming {
    pub rows: usize,
    pub steps: usize,
    pub seconds: f64,
    pub mean_loss: f64,
}

/// One epoch of full fine-tuning from `start` over `examples` in their order, without shuffling,
/// so that a peer framework can replay exactly the same batches: forward, both heads' loss,
/// backward and an AdamW step per batch, at a constant learning rate. What `sosrisk bench
/// --train` times against PyTorch.
pub fn time_epoch(
    start: &BertClassifier,
    config: &bert::BertConfig,
    tokenizer: &PieceTokenizer,
    examples: &[Example],
    cfg: &FinetuneConfig,
    device: &Device,
) -> Result<EpochTiming, crate::Error> {
    let rows = encode(tokenizer, examples, None)?;
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    // Loading the record (not moving the module) is what puts the weights on the training device.
    let mut model = BertClassifier::new(config.init(&ad), config.hidden, cfg.dropout, &ad)
        .load_record(start.clone().into_record());
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .init();
    let weights = LossWeights::new(rows.iter().map(|r| r.level), true, 1.0);
    let started = Instant::now();
    let mut total = 0.0;
    let mut steps = 0;
    for chunk in rows.chunks(cfg.batch_size) {
        let refs: Vec<&Row> = chunk.iter().collect();
        let (ids, mask) = batch(&refs, &ad);
        let loss = weights.loss(model.forward(ids, mask), &labels(chunk), &ad);
        // Reading the loss each step, as the training loop does, also waits for the step to finish.
        total += scalar(loss.clone()) * chunk.len() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(cfg.learning_rate, model, grads);
        steps += 1;
    }
    Ok(EpochTiming {
        rows: rows.len(),
        steps,
        seconds: started.elapsed().as_secs_f64(),
        mean_loss: total / rows.len().max(1) as f64,
    })
}
