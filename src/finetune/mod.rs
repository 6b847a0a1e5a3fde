//! Fine-tuning an imported encoder (`sosrisk import`) with the two heads: AdamW with linear
//! warm-up and decay, early stopping on the validation fold, a checkpoint after every epoch
//! (so a stopped run resumes), then temperature scaling and the binary threshold fitted on the
//! validation fold. The result is a [`Classifier`] that saves as a model directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::import::{ImportError, ImportedEncoder, QUERY_PREFIX};
use crate::infer::{Architecture, Classifier, EncoderSpec, Manifest, Network, argmax};
use crate::labels::{HIGH_RISK, N_LEVELS};
use crate::metrics::{Scores, expected_calibration_error};
use crate::model::bert::{self, BertClassifier};
use crate::tokenize::PieceTokenizer;
use crate::train::{Example, LossWeights, Rng, best_threshold, scalar};

#[derive(Debug, Error)]
pub enum FinetuneError {
    #[error(transparent)]
    Encoder(#[from] ImportError),
    #[error(transparent)]
    Text(#[from] crate::Error),
    #[error("checkpoint {path}: {detail}")]
    Checkpoint { path: PathBuf, detail: String },
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
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneReport {
    pub settings: FinetuneConfig,
    pub best_epoch: usize,
    /// Scores of the heads' argmax calls (threshold ½) of the best epoch.
    pub validation: Scores,
    pub test: Option<Scores>,
    /// Per epoch: mean training loss, validation scores, seconds.
    pub epochs: Vec<(f64, Scores, f64)>,
    /// Level head, binary head.
    pub calibration: [Calibration; 2],
    /// Chosen on the validation fold, on calibrated probabilities.
    pub binary_threshold: f32,
}

struct Row {
    ids: Vec<u32>,
    level: usize,
    binary: Option<usize>,
}

fn encode(tokenizer: &PieceTokenizer, examples: &[Example]) -> Result<Vec<Row>, crate::Error> {
    examples
        .iter()
        .map(|e| {
            Ok(Row {
                ids: tokenizer.encode(&e.text)?.ids,
                level: e.level,
                binary: e.binary,
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
}

impl Frozen {
    fn new(encoder: &bert::BertEncoder, train: &[Row], val: &[Row], hidden: usize, device: &Device) -> Self {
        let pooled = |rows| by_length(rows, device, |ids, mask| [encoder.pooled(ids, mask)]);
        let ([train], [val]) = (pooled(train), pooled(val));
        Self { hidden, train, val }
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

fn softmax_rows(logits: &[f32], width: usize, temperature: f32) -> Vec<f32> {
    logits
        .chunks(width)
        .flat_map(|row| {
            let max = row.iter().fold(f32::MIN, |m, &v| m.max(v));
            let exp: Vec<f32> = row.iter().map(|v| ((v - max) / temperature).exp()).collect();
            let sum: f32 = exp.iter().sum();
            exp.into_iter().map(move |e| e / sum)
        })
        .collect()
}

/// Mean negative log-likelihood of `targets` under softmax(logits / t).
fn nll(logits: &[f32], width: usize, targets: &[Option<usize>], t: f32) -> f64 {
    let probs = softmax_rows(logits, width, t);
    let (sum, n) = targets
        .iter()
        .enumerate()
        .filter_map(|(i, y)| y.map(|y| -(f64::from(probs[i * width + y]).max(1e-12)).ln()))
        .fold((0.0, 0), |(s, n), v| (s + v, n + 1));
    sum / f64::from(n.max(1))
}

/// The temperature in 0.25–5 (steps of 0.05) with the lowest validation NLL.
pub fn fit_temperature(logits: &[f32], width: usize, targets: &[Option<usize>]) -> f32 {
    (5..=100)
        .map(|k| k as f32 * 0.05)
        .min_by(|&a, &b| nll(logits, width, targets, a).total_cmp(&nll(logits, width, targets, b)))
        .expect("non-empty range")
}

/// Expected calibration error (15 bins) of the most probable class.
fn ece(logits: &[f32], width: usize, targets: &[Option<usize>], t: f32) -> f64 {
    let probs = softmax_rows(logits, width, t);
    let (conf, correct): (Vec<f64>, Vec<bool>) = targets
        .iter()
        .enumerate()
        .filter_map(|(i, y)| {
            let row = &probs[i * width..(i + 1) * width];
            let best = argmax(row);
            y.map(|y| (f64::from(row[best]), best == y))
        })
        .unzip();
    expected_calibration_error(&conf, &correct, 15)
}

/// Calibration of one head on one split: ECE before and after temperature scaling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub temperature: f32,
    pub validation_ece: (f64, f64),
    pub test_ece: Option<(f64, f64)>,
}

/// Fits one head's temperature on the validation logits and measures ECE before and after.
fn calibrate(
    width: usize,
    val: (&[f32], &[Option<usize>]),
    test: Option<(&[f32], Vec<Option<usize>>)>,
) -> Calibration {
    let t = fit_temperature(val.0, width, val.1);
    let both = |l: &[f32], y: &[Option<usize>]| (ece(l, width, y, 1.0), ece(l, width, y, t));
    Calibration {
        temperature: t,
        validation_ece: both(val.0, val.1),
        test_ece: test.map(|(l, y)| both(l, &y)),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    settings: FinetuneConfig,
    epoch: usize,
    step: usize,
    rng: u64,
    order: Vec<usize>,
    best_key: f64,
    best_epoch: usize,
    epochs: Vec<(f64, Scores, f64)>,
}

/// Where a run keeps its per-epoch checkpoint: `state.json`, `last.bpk` (the model being
/// trained) and `best.bpk` (the best epoch so far). Adam's moment estimates are not kept: a
/// resumed run re-estimates them, which costs a few steps of a slightly noisier update.
pub struct Checkpoints<'a> {
    pub dir: &'a Path,
    pub resume: bool,
}

fn checkpoint_error(path: PathBuf, detail: String) -> FinetuneError {
    FinetuneError::Checkpoint { path, detail }
}

fn save_module(path: PathBuf, model: &BertClassifier) -> Result<(), FinetuneError> {
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| checkpoint_error(path.clone(), format!("{e:?}")))?;
    std::fs::write(&path, &bytes[..]).map_err(|e| checkpoint_error(path, e.to_string()))
}

fn load_module(path: PathBuf, model: BertClassifier) -> Result<BertClassifier, FinetuneError> {
    let record = burn::store::ModuleRecord::load(&path)
        .map_err(|e| checkpoint_error(path.clone(), format!("{e:?}")))?;
    model
        .try_load_record(record)
        .map_err(|e| checkpoint_error(path, format!("does not fit this encoder: {e:?}")))
}

/// Training rows, the validation fold (selection, calibration, threshold), and the test rows
/// (scored only).
pub struct Splits<'a> {
    pub train: &'a [Example],
    pub val: &'a [Example],
    pub test: &'a [Example],
}

/// The fine-tuned model and how it got there.
pub struct Finetuned {
    pub classifier: Classifier,
    pub report: FinetuneReport,
}

/// Fine-tunes the encoder in `encoder_dir` on `train`, keeps the epoch with the best mean of
/// binary F1 and level weighted F1 on `val`, fits each head's temperature and the binary
/// threshold on `val`, and scores the argmax calls on `test`.
pub fn finetune(
    encoder_dir: &Path,
    Splits { train, val, test }: Splits,
    cfg: &FinetuneConfig,
    device: &Device,
    checkpoints: Option<Checkpoints>,
    progress: bool,
) -> Result<Finetuned, FinetuneError> {
    let ImportedEncoder {
        config: bert,
        tokenizer,
        weights: record,
        source,
        ..
    } = ImportedEncoder::read(encoder_dir)?;
    let tokenizer = PieceTokenizer::new(tokenizer, QUERY_PREFIX, cfg.max_tokens);
    let (train_rows, val_rows, test_rows) = (
        encode(&tokenizer, train)?,
        encode(&tokenizer, val)?,
        encode(&tokenizer, test)?,
    );

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
        .then(|| Frozen::new(&encoder.valid(), &train_rows, &val_rows, bert.hidden, device));
    let mut model = BertClassifier::new(encoder, bert.hidden, cfg.dropout, &ad);
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .init();
    let weights = LossWeights::new(train_rows.iter().map(|r| r.level), true, 1.0);
    let steps_per_epoch = train_rows.len().div_ceil(cfg.batch_size);
    let total_steps = (steps_per_epoch * cfg.epochs).max(1);
    let warmup_steps = ((total_steps as f64 * cfg.warmup) as usize).max(1);
    let lr_at = |step: usize| {
        if step < warmup_steps {
            cfg.learning_rate * (step + 1) as f64 / warmup_steps as f64
        } else {
            cfg.learning_rate * (total_steps - step) as f64 / (total_steps - warmup_steps).max(1) as f64
        }
    };

    let mut state = CheckpointState {
        settings: cfg.clone(),
        epoch: 0,
        step: 0,
        rng: cfg.seed,
        order: (0..train_rows.len()).collect(),
        best_key: f64::NEG_INFINITY,
        best_epoch: 0,
        epochs: Vec::new(),
    };
    let mut best: Option<BertClassifier> = None;
    if let Some(ck) = checkpoints
        .as_ref()
        .filter(|c| c.resume && c.dir.join("state.json").is_file())
    {
        let path = ck.dir.join("state.json");
        let bytes = std::fs::read(&path).map_err(|e| checkpoint_error(path.clone(), e.to_string()))?;
        let saved: CheckpointState =
            serde_json::from_slice(&bytes).map_err(|e| checkpoint_error(path.clone(), e.to_string()))?;
        if saved.settings != *cfg || saved.order.len() != train_rows.len() {
            return Err(checkpoint_error(
                path,
                "was written with other settings or data; resume with the same ones, or start afresh without --resume".into(),
            ));
        }
        model = load_module(ck.dir.join("last.bpk"), model)?;
        best = Some(load_module(ck.dir.join("best.bpk"), model.clone())?.valid());
        state = saved;
        eprintln!(
            "resuming after epoch {} (best so far: epoch {})",
            state.epoch, state.best_epoch
        );
    }

    let bar = if progress {
        ProgressBar::new(total_steps as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed}<{eta}]").expect("template"),
    );
    bar.set_position(state.step as u64);
    let mut rng = Rng(state.rng);
    while state.epoch < cfg.epochs && (state.epoch == 0 || state.epoch - state.best_epoch < cfg.patience) {
        let epoch = state.epoch + 1;
        let started = Instant::now();
        rng.shuffle(&mut state.order);
        let mut total = 0.0;
        let mut seen = 0;
        for chunk in state.order.chunks(cfg.batch_size) {
            let rows: Vec<&Row> = chunk.iter().map(|&i| &train_rows[i]).collect();
            let out = match &frozen {
                Some(f) => model.heads(f.gather(&f.train, chunk, &ad)),
                None => {
                    let (ids, mask) = batch(&rows, &ad);
                    model.forward(ids, mask)
                }
            };
            let loss = weights.loss(out, &labels(rows.iter().copied()), &ad);
            total += scalar(loss.clone()) * rows.len() as f64;
            seen += rows.len();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr_at(state.step), model, grads);
            state.step += 1;
            bar.inc(1);
            if bar.is_hidden() && state.step.is_multiple_of(10) {
                eprintln!(
                    "step {}/{total_steps} ({:.0} s into epoch {epoch})",
                    state.step,
                    started.elapsed().as_secs_f64()
                );
            }
            bar.set_message(format!("epoch {epoch} loss {:.3}", total / seen as f64));
        }
        let valid = model.valid();
        let val_logits = match &frozen {
            Some(f) => f.val_logits(&valid, device),
            None => logits(&valid, &val_rows, device),
        };
        let val_scores = argmax_scores(&val_rows, &val_logits);
        let key = (val_scores.binary_f1.unwrap_or(0.0) + val_scores.level_weighted_f1) / 2.0;
        let seconds = started.elapsed().as_secs_f64();
        state
            .epochs
            .push((total / seen.max(1) as f64, val_scores.clone(), seconds));
        // Printed even without a terminal (the bar is then hidden): a long run's only sign of life.
        bar.suspend(|| {
            eprintln!(
                "epoch {epoch}: loss {:.3}, validation binary F1 {:.4}, level weighted F1 {:.4} ({seconds:.0} s)",
                total / seen.max(1) as f64,
                val_scores.binary_f1.unwrap_or(f64::NAN),
                val_scores.level_weighted_f1,
            )
        });
        state.epoch = epoch;
        state.rng = rng.0;
        if key > state.best_key {
            state.best_key = key;
            state.best_epoch = epoch;
            best = Some(valid.clone());
        }
        if let Some(ck) = &checkpoints {
            std::fs::create_dir_all(ck.dir).map_err(|e| checkpoint_error(ck.dir.into(), e.to_string()))?;
            save_module(ck.dir.join("last.bpk"), &valid)?;
            if state.best_epoch == epoch {
                save_module(ck.dir.join("best.bpk"), &valid)?;
            }
            let path = ck.dir.join("state.json");
            let json = serde_json::to_vec_pretty(&state).expect("state serialises");
            std::fs::write(&path, json).map_err(|e| checkpoint_error(path, e.to_string()))?;
        }
    }
    bar.finish_and_clear();
    let model = best.unwrap_or_else(|| model.valid());

    // Calibration and the threshold come from the validation fold only.
    let val_logits = logits(&model, &val_rows, device);
    let test_logits = (!test_rows.is_empty()).then(|| logits(&model, &test_rows, device));
    let level_targets = |rows: &[Row]| rows.iter().map(|r| Some(r.level)).collect::<Vec<_>>();
    let binary_targets = |rows: &[Row]| rows.iter().map(|r| r.binary).collect::<Vec<_>>();
    let level_cal = calibrate(
        N_LEVELS,
        (&val_logits.0, &level_targets(&val_rows)),
        test_logits
            .as_ref()
            .map(|l| (l.0.as_slice(), level_targets(&test_rows))),
    );
    let binary_cal = calibrate(
        2,
        (&val_logits.1, &binary_targets(&val_rows)),
        test_logits
            .as_ref()
            .map(|l| (l.1.as_slice(), binary_targets(&test_rows))),
    );
    let val_high: Vec<(f32, usize)> = softmax_rows(&val_logits.1, 2, binary_cal.temperature)
        .chunks(2)
        .zip(&val_rows)
        .filter_map(|(p, r)| r.binary.map(|b| (p[HIGH_RISK], b)))
        .collect();

    let spec = EncoderSpec {
        encoder: bert,
        max_tokens: cfg.max_tokens,
        query_prefix: QUERY_PREFIX.into(),
        temperatures: [level_cal.temperature, binary_cal.temperature],
    };
    let mut manifest = Manifest::new(
        Architecture::Encoder(spec),
        serde_json::json!({ "encoder_source": source }),
    );
    manifest.binary_threshold = best_threshold(&val_high);
    let report = FinetuneReport {
        settings: cfg.clone(),
        best_epoch: state.best_epoch,
        validation: argmax_scores(&val_rows, &val_logits),
        test: test_logits.as_ref().map(|l| argmax_scores(&test_rows, l)),
        epochs: state.epochs,
        calibration: [level_cal, binary_cal],
        binary_threshold: manifest.binary_threshold,
    };
    let network = Network::Encoder {
        tokenizer,
        model: Box::new(model),
    };
    Ok(Finetuned {
        classifier: Classifier::from_parts(manifest, network, device),
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
    let rows = encode(tokenizer, examples)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_scaling_recovers_an_overconfidence_of_two() {
        // Logits [2, 0] everywhere, but class 0 is right only as often as softmax([1, 0]) says.
        let p0 = 1.0 / (1.0 + (-1.0f64).exp());
        let n = 1000;
        let right = (p0 * n as f64).round() as usize;
        let logits: Vec<f32> = (0..n).flat_map(|_| [2.0, 0.0]).collect();
        let targets: Vec<Option<usize>> = (0..n).map(|i| Some(usize::from(i >= right))).collect();
        let t = fit_temperature(&logits, 2, &targets);
        assert!((t - 2.0).abs() < 0.051, "temperature {t}");
        let cal = calibrate(2, (&logits, &targets), None);
        assert!(
            cal.validation_ece.1 < 0.01 && cal.validation_ece.0 > 0.1,
            "{:?}",
            cal.validation_ece
        );
    }
}
