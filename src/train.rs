//! Training: minibatch AdamW or SGD on both heads' cross-entropy, early stopping on a
//! validation fold, ensembles of fold models, and evaluation of a classifier on labelled posts.

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::data::{AugmentedPost, Post};
use crate::infer::{Architecture, Classifier, Manifest, Network, Prediction};
use crate::labels::{HIGH_RISK, N_LEVELS};
use crate::loss::weighted_cross_entropy;
use crate::metrics::Scores;
use crate::model::{Ensemble, Logits, NgramModel, NgramModelConfig};
use crate::tokenize::{CharTokenizer, NGRAM_ORDERS, PAD_ID, UNK_ID};

/// Every setting of a training run; saved in the model's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub seed: u64,
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation result.
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Characters seen fewer times than this in training map to `[UNK]`.
    pub min_char_count: usize,
    /// Bigrams and trigrams found in fewer training texts than this are left out.
    pub min_ngram_docs: usize,
    pub d_model: usize,
    pub d_hidden: usize,
    pub dropout: f64,
    pub max_chars: usize,
    /// Weight of the binary head's loss relative to the level head's.
    pub binary_loss_weight: f64,
    /// Weigh each level's loss by the inverse of its frequency, so rare levels are not ignored
    /// (the level score is a support-weighted F1 over all eleven).
    pub balance_levels: bool,
    /// What picks the best epoch on the validation fold.
    pub select_on: Selection,
    pub optimizer: Optimizer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// AdamW with decoupled weight decay.
    AdamW,
    /// SGD with momentum 0.9 and L2 weight decay: rare n-grams move only as far as their
    /// gradients push them, as in a regularised linear model.
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Lowest validation loss (the paper's protocol).
    Loss,
    /// Highest mean of binary F1 and level weighted F1.
    Score,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            max_epochs: 60,
            patience: 15,
            batch_size: 32,
            learning_rate: 0.02,
            weight_decay: 1e-4,
            min_char_count: 1,
            min_ngram_docs: 2,
            d_model: 64,
            d_hidden: 128,
            dropout: 0.3,
            max_chars: 512,
            binary_loss_weight: 1.0,
            balance_levels: true,
            select_on: Selection::Score,
            optimizer: Optimizer::Sgd,
        }
    }
}

/// A training example: text and labels (binary may be unknown for generated posts).
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub level: usize,
    pub binary: Option<usize>,
}

impl From<&Post> for Example {
    fn from(p: &Post) -> Self {
        Self {
            text: p.text.clone(),
            level: p.level,
            binary: p.binary,
        }
    }
}

impl From<&AugmentedPost> for Example {
    fn from(p: &AugmentedPost) -> Self {
        Self {
            text: p.text.clone(),
            level: p.level,
            binary: p.binary,
        }
    }
}

/// Per-epoch record, written to `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub val_scores: Option<Scores>,
}

pub struct Trained {
    pub classifier: Classifier,
    /// Per member: the epoch kept and the log of every epoch.
    pub best_epochs: Vec<usize>,
    pub histories: Vec<Vec<EpochLog>>,
}

/// Small deterministic generator for shuffling (SplitMix64): the same seed gives the same
/// order on every platform.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

struct Encoded {
    features: Vec<[u32; NGRAM_ORDERS]>,
    level: usize,
    binary: Option<usize>,
}

fn encode_all(tokenizer: &CharTokenizer, examples: &[Example]) -> Result<Vec<Encoded>, crate::Error> {
    examples
        .iter()
        .map(|e| {
            Ok(Encoded {
                features: tokenizer.encode(&e.text)?.features,
                level: e.level,
                binary: e.binary,
            })
        })
        .collect()
}

/// How much each class counts in the loss.
pub(crate) struct LossWeights {
    level: Vec<f32>,
    binary: f64,
    /// The level head's ordinal target width ([`crate::ordinal`]); 0 is the one-hot label.
    ordinal_sigma: f64,
}

impl LossWeights {
    /// `balance` weighs levels by sklearn's "balanced" rule, n / (classes × count), over the
    /// levels present in `levels`; `binary` scales the binary head's loss.
    pub(crate) fn new(levels: impl Iterator<Item = usize>, balance: bool, binary: f64) -> Self {
        let mut counts = [0usize; N_LEVELS];
        for level in levels {
            counts[level] += 1;
        }
        let n: usize = counts.iter().sum();
        let present = counts.iter().filter(|&&c| c > 0).count().max(1);
        let level = counts
            .iter()
            .map(|&c| match (balance, c) {
                (false, _) => 1.0,
                (true, 0) => 0.0,
                (true, c) => (n as f64 / (present * c) as f64) as f32,
            })
            .collect();
        Self {
            level,
            binary,
            ordinal_sigma: 0.0,
        }
    }

    /// The level head learns soft ordinal targets of width `sigma` (0: one-hot, as without).
    pub(crate) fn ordinal(self, sigma: f64) -> Self {
        Self {
            ordinal_sigma: sigma,
            ..self
        }
    }

    /// Both heads' weighted cross-entropy for rows labelled `(level, binary)`.
    pub(crate) fn loss(
        &self,
        logits: Logits,
        labels: &[(usize, Option<usize>)],
        device: &Device,
    ) -> Tensor<1> {
        let levels: Vec<Option<usize>> = labels.iter().map(|l| Some(l.0)).collect();
        let binary: Vec<Option<usize>> = labels.iter().map(|l| l.1).collect();
        let level = if self.ordinal_sigma > 0.0 {
            crate::ordinal::cross_entropy(logits.level, &levels, &self.level, self.ordinal_sigma, device)
        } else {
            weighted_cross_entropy(logits.level, &levels, &self.level, device)
        };
        level + weighted_cross_entropy(logits.binary, &binary, &[1.0, 1.0], device).mul_scalar(self.binary)
    }
}

fn loss(
    model: &NgramModel,
    cfg: &NgramModelConfig,
    rows: &[&Encoded],
    weights: &LossWeights,
    device: &Device,
) -> Tensor<1> {
    let ids: Vec<&[[u32; NGRAM_ORDERS]]> = rows.iter().map(|r| r.features.as_slice()).collect();
    batch_loss(model.forward(cfg.batch(&ids, device)), rows, weights, device)
}

fn batch_loss(logits: Logits, rows: &[&Encoded], weights: &LossWeights, device: &Device) -> Tensor<1> {
    let labels: Vec<(usize, Option<usize>)> = rows.iter().map(|r| (r.level, r.binary)).collect();
    weights.loss(logits, &labels, device)
}

pub(crate) fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().try_into_vec::<f32>().expect("f32 loss")[0] as f64
}

/// One ensemble member's data: what it trains on and the fold that picks its best epoch.
#[derive(Debug, Clone)]
pub struct Part {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
}

/// Trains one member per part over a shared vocabulary (built from the distinct training texts
/// of all parts) and returns them as one averaging ensemble. Each member's feature weights and
/// best epoch come only from its own part, so no member sees its validation fold; the binary
/// threshold is chosen on the members' validation folds (out of fold).
/// `device` is a plain device; gradients run on its autodiff twin.
pub fn train(
    parts: &[Part],
    cfg: &TrainConfig,
    device: &Device,
    progress: bool,
) -> Result<Trained, crate::Error> {
    assert!(!parts.is_empty(), "training needs at least one part");
    let mut seen = std::collections::HashSet::new();
    let texts = parts
        .iter()
        .flat_map(|p| &p.train)
        .map(|e| e.text.as_str())
        .filter(|t| seen.insert(*t));
    let tokenizer = CharTokenizer::build(texts, cfg.min_char_count, cfg.min_ngram_docs)?;
    let model_cfg = NgramModelConfig::new(tokenizer.vocab_size())
        .with_d_model(cfg.d_model)
        .with_d_hidden(cfg.d_hidden)
        .with_dropout(cfg.dropout)
        .with_max_chars(cfg.max_chars)
        .with_members(parts.len());
    let bar = if progress {
        ProgressBar::new((cfg.max_epochs * parts.len()) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed}]")
            .expect("valid template"),
    );
    let mut members = Vec::new();
    let mut best_epochs = Vec::new();
    let mut histories = Vec::new();
    // (P(high), label) of each member on its own validation fold, to pick the threshold.
    let mut out_of_fold = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let train_enc = encode_all(&tokenizer, &part.train)?;
        let val_enc = encode_all(&tokenizer, &part.val)?;
        let prefix = if parts.len() > 1 {
            format!("member {}/{}: ", i + 1, parts.len())
        } else {
            String::new()
        };
        let run = MemberRun {
            model_cfg: &model_cfg,
            cfg,
            seed: cfg.seed + i as u64,
            device,
            bar: &bar,
            prefix: &prefix,
        };
        let (model, best, history) = run.fit(&train_enc, &val_enc);
        bar.set_position(((i + 1) * cfg.max_epochs) as u64);
        out_of_fold.extend(binary_probabilities(&model, &model_cfg, &val_enc, device));
        members.push(model);
        best_epochs.push(best);
        histories.push(history);
    }
    bar.finish();
    let mut manifest = manifest(&model_cfg, cfg);
    manifest.binary_threshold = best_threshold(&out_of_fold);
    let network = Network::Ngram {
        tokenizer,
        model: Ensemble { members },
        cfg: model_cfg.clone(),
    };
    let classifier = Classifier::from_parts(manifest, network, device);
    Ok(Trained {
        classifier,
        best_epochs,
        histories,
    })
}

/// What training one member needs besides its data.
struct MemberRun<'a> {
    model_cfg: &'a NgramModelConfig,
    cfg: &'a TrainConfig,
    seed: u64,
    device: &'a Device,
    bar: &'a ProgressBar,
    prefix: &'a str,
}

impl MemberRun<'_> {
    /// Trains one model with early stopping on `val_enc` (the last epoch wins when it is
    /// empty); returns it on the plain device with its best epoch and per-epoch log.
    fn fit(&self, train_enc: &[Encoded], val_enc: &[Encoded]) -> (NgramModel, usize, Vec<EpochLog>) {
        let (cfg, model_cfg, device) = (self.cfg, self.model_cfg, self.device);
        let ad = device.clone().autodiff();
        ad.seed(self.seed);
        let idf = inverse_document_frequency(train_enc, model_cfg.vocab_size);
        let mut model = model_cfg.init(&ad).with_feature_weights(idf, &ad);
        let mut optim = match cfg.optimizer {
            Optimizer::AdamW => AdamWConfig::new()
                .with_weight_decay(cfg.weight_decay as f32)
                .init(),
            Optimizer::Sgd => SgdConfig::new()
                .with_momentum(Some(MomentumConfig::new().with_dampening(0.0)))
                .with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)))
                .init(),
        };
        let weights = LossWeights::new(
            train_enc.iter().map(|e| e.level),
            cfg.balance_levels,
            cfg.binary_loss_weight,
        );
        let mut rng = Rng(self.seed);
        let mut order: Vec<usize> = (0..train_enc.len()).collect();
        let mut history = Vec::new();
        let mut best: Option<(f64, usize, NgramModel)> = None;
        for epoch in 1..=cfg.max_epochs {
            rng.shuffle(&mut order);
            let mut total = 0.0;
            for chunk in order.chunks(cfg.batch_size) {
                let rows: Vec<&Encoded> = chunk.iter().map(|&i| &train_enc[i]).collect();
                let l = loss(&model, model_cfg, &rows, &weights, &ad);
                total += scalar(l.clone()) * rows.len() as f64;
                let grads = GradientsParams::from_grads(l.backward(), &model);
                model = optim.step(cfg.learning_rate, model, grads);
            }
            let train_loss = total / train_enc.len().max(1) as f64;
            let (val_loss, val_scores) = if val_enc.is_empty() {
                (None, None)
            } else {
                let (vl, scores) = validate(&model.valid(), model_cfg, val_enc, &weights, device);
                (Some(vl), Some(scores))
            };
            self.bar.set_message(match (&val_loss, &val_scores) {
                (Some(vl), Some(s)) => format!(
                    "{}loss {train_loss:.3} val_loss {vl:.3} val binary_f1 {:.3} level_wf1 {:.3}",
                    self.prefix,
                    s.binary_f1.unwrap_or(f64::NAN),
                    s.level_weighted_f1
                ),
                _ => format!("{}loss {train_loss:.3}", self.prefix),
            });
            self.bar.inc(1);
            // Lower is better; without validation the last epoch wins.
            let key = match (cfg.select_on, &val_loss, &val_scores) {
                (Selection::Loss, Some(vl), _) => *vl,
                (Selection::Score, _, Some(s)) => -(s.binary_f1.unwrap_or(0.0) + s.level_weighted_f1) / 2.0,
                _ => -(epoch as f64),
            };
            history.push(EpochLog {
                epoch,
                train_loss,
                val_loss,
                val_scores,
            });
            if best.as_ref().is_none_or(|(b, _, _)| key < *b) {
                best = Some((key, epoch, model.clone()));
            } else if !val_enc.is_empty() && epoch - best.as_ref().map_or(0, |b| b.1) >= cfg.patience {
                break;
            }
        }
        let (_, best_epoch, model) = best.expect("at least one epoch");
        (model.valid(), best_epoch, history)
    }
}

/// Validation loss and scores of one model.
fn validate(
    model: &NgramModel,
    model_cfg: &NgramModelConfig,
    val_enc: &[Encoded],
    weights: &LossWeights,
    device: &Device,
) -> (f64, Scores) {
    let mut total = 0.0;
    let (mut level_pred, mut binary_pred) = (Vec::new(), Vec::new());
    for chunk in val_enc.chunks(64) {
        let rows: Vec<&Encoded> = chunk.iter().collect();
        let ids: Vec<&[[u32; NGRAM_ORDERS]]> = rows.iter().map(|r| r.features.as_slice()).collect();
        let logits = model.forward(model_cfg.batch(&ids, device));
        total += scalar(batch_loss(logits.clone(), &rows, weights, device)) * rows.len() as f64;
        level_pred.extend(argmax_rows(logits.level));
        binary_pred.extend(argmax_rows(logits.binary));
    }
    let labels: Vec<(usize, Option<usize>)> = val_enc.iter().map(|e| (e.level, e.binary)).collect();
    let preds: Vec<(usize, usize)> = level_pred.into_iter().zip(binary_pred).collect();
    let scores = Scores::of_predictions(&labels, &preds);
    (total / val_enc.len() as f64, scores)
}

/// The binary head's P(high) for each example that has a binary label, with that label.
fn binary_probabilities(
    model: &NgramModel,
    model_cfg: &NgramModelConfig,
    encoded: &[Encoded],
    device: &Device,
) -> Vec<(f32, usize)> {
    let mut out = Vec::new();
    for chunk in encoded.chunks(64) {
        let ids: Vec<&[[u32; NGRAM_ORDERS]]> = chunk.iter().map(|r| r.features.as_slice()).collect();
        let probs = softmax(model.forward(model_cfg.batch(&ids, device)).binary, 1);
        let probs = probs
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 probabilities");
        for (e, p) in chunk.iter().zip(probs.chunks(2)) {
            if let Some(b) = e.binary {
                out.push((p[HIGH_RISK], b));
            }
        }
    }
    out
}

/// The threshold on P(high) that maximises F1 of the high-risk class over `scored`; ties go to
/// the threshold nearest 0.5, and without labels it is 0.5.
pub fn best_threshold(scored: &[(f32, usize)]) -> f32 {
    if scored.is_empty() {
        return 0.5;
    }
    let truth: Vec<usize> = scored.iter().map(|s| s.1).collect();
    let mut best = (f64::NEG_INFINITY, 0.5f32);
    for step in 5..=95 {
        let t = step as f32 / 100.0;
        let pred: Vec<usize> = scored.iter().map(|s| usize::from(s.0 >= t)).collect();
        let f1 = crate::metrics::f1_for(&truth, &pred, HIGH_RISK);
        let nearer = (t - 0.5).abs() < (best.1 - 0.5).abs();
        if f1 > best.0 + 1e-12 || (f1 > best.0 - 1e-12 && nearer) {
            best = (f1, t);
        }
    }
    best.1
}

pub(crate) fn argmax_rows(t: Tensor<2>) -> Vec<usize> {
    let [_, k] = t.dims();
    let values = t.into_data().try_into_vec::<f32>().expect("f32 logits");
    values.chunks(k).map(crate::infer::argmax).collect()
}

/// scikit-learn's smooth IDF, `ln((1 + n) / (1 + df)) + 1`, for ids found in the training
/// texts; 0 for `[PAD]`, `[UNK]` and ids never seen, so they add nothing to a text's vector.
fn inverse_document_frequency(docs: &[Encoded], vocab_size: usize) -> Vec<f32> {
    let mut df = vec![0usize; vocab_size];
    for doc in docs {
        let mut ids: Vec<u32> = doc.features.iter().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            df[id as usize] += 1;
        }
    }
    let n = docs.len() as f64;
    df.iter()
        .enumerate()
        .map(|(id, &d)| {
            if d == 0 || id == PAD_ID as usize || id == UNK_ID as usize {
                0.0
            } else {
                (((1.0 + n) / (1.0 + d as f64)).ln() + 1.0) as f32
            }
        })
        .collect()
}

/// The manifest of a freshly trained model; file hashes are filled in when it is saved.
fn manifest(model: &NgramModelConfig, cfg: &TrainConfig) -> Manifest {
    Manifest::new(
        Architecture::CharNgram(model.clone()),
        serde_json::json!({ "settings": cfg }),
    )
}

/// Predicts every example (in batches) and scores the predictions; binary scores use the
/// examples that have a binary label. An error carries the index of the failing example.
pub fn evaluate(
    clf: &Classifier,
    examples: &[Example],
) -> Result<(Scores, Vec<Prediction>), crate::TextError> {
    const CHUNK: usize = 64;
    let mut preds = Vec::with_capacity(examples.len());
    for (c, chunk) in examples.chunks(CHUNK).enumerate() {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        preds.extend(clf.predict(&texts).map_err(|e| e.offset(c * CHUNK))?);
    }
    Ok((score(examples, &preds), preds))
}

/// Scores of predictions against the examples' labels (one prediction per example, in order).
pub fn score(examples: &[Example], preds: &[Prediction]) -> Scores {
    let labels: Vec<(usize, Option<usize>)> = examples.iter().map(|e| (e.level, e.binary)).collect();
    let calls: Vec<(usize, usize)> = preds
        .iter()
        .map(|p| (p.level, usize::from(p.high_risk)))
        .collect();
    Scores::of_predictions(&labels, &calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_separates_the_classes_and_defaults_to_half() {
        let scored = [(0.1, 0), (0.2, 0), (0.3, 1), (0.35, 1), (0.9, 1)];
        let t = best_threshold(&scored);
        assert!(t > 0.2 && t <= 0.3, "threshold {t}");
        assert_eq!(best_threshold(&[]), 0.5);
    }

    #[test]
    fn balanced_weights_favour_rare_levels() {
        let w = LossWeights::new([0, 0, 0, 1].into_iter(), true, 1.0);
        assert!(w.level[1] > w.level[0]);
        assert_eq!(w.level[5], 0.0, "absent levels get no weight");
        let flat = LossWeights::new([0, 0, 0, 1].into_iter(), false, 1.0);
        assert!(flat.level.iter().all(|&x| x == 1.0));
    }
}
