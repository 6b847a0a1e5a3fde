//! `sosrisk finetune`: one encoder model, on four folds with the fifth for selection and
//! calibration, or on all five with everything fixed from a cross-validation (`--final-from`).
//! Also the recipe options and the one-fold training that `cv --encoder` repeats per fold.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use sosrisk::artifact;
use sosrisk::data::{self, Post};
use sosrisk::finetune::{Checkpoints, Distill, FinetuneConfig, FixedCalibration, Soft, Splits};
use sosrisk::infer::{Classifier, Prediction};
use sosrisk::metrics::Scores;
use sosrisk::train::{Example, Rng};

use super::shared::{examples, fold_number, one_line, test_posts, test_scores};
use super::train::Common;

pub const DEFAULT_EVERYDAY: &str = "../shared/data/everyday/everyday.csv";

/// The encoder's own training options.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Encoder fine-tuning")]
pub struct Recipe {
    /// Tokens read per text (posts: p99 about 100).
    #[arg(long, default_value_t = 160)]
    pub max_tokens: usize,
    /// Train the heads only.
    #[arg(long)]
    pub freeze_encoder: bool,
    /// The heads' learning rate as a multiple of --lr.
    #[arg(long, default_value_t = 1.0)]
    pub head_lr_scale: f64,
    /// Batches of posts of similar length (sorted within windows of 20 batches, the batches
    /// shuffled): on SOS-1K's posts 2.5 times fewer cells to compute than random batches.
    #[arg(long)]
    pub group_by_length: bool,
    /// Layer-wise learning-rate decay: each encoder layer below the top learns at this multiple
    /// of the rate of the layer above (the embeddings last); 1 is off. Typical: 0.9–0.95.
    #[arg(long, default_value_t = 1.0, value_parser = decay_factor)]
    pub layer_decay: f64,
    /// Soft ordinal targets for the level head: a Gaussian of this width (in levels) around the
    /// label, so that a level off by one is a near miss; 0 is off (one-hot). Typical: 0.5–1.
    #[arg(long, default_value_t = 0.0, value_parser = width)]
    pub ordinal_sigma: f64,
    /// Stochastic weight averaging: from this epoch on (1-based) the model validated, kept and
    /// saved is the mean of the weights at the end of this and every later epoch so far; 0 is
    /// off. E.g. 6 of 10 epochs averages the last five.
    #[arg(long, default_value_t = 0)]
    pub average_from: usize,
    /// Hidden-state dropout inside the encoder (BERT's usual 0.1; the imported encoder trains
    /// without it by default). --dropout is the heads'.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub encoder_dropout: f64,
    /// R-Drop: each batch runs twice under different dropout masks, and the two passes'
    /// symmetric KL divergence, weighted this much, joins their mean loss (typical: 0.5–5; needs
    /// dropout; doubles the compute per step); 0 is off.
    #[arg(long, default_value_t = 0.0)]
    pub rdrop: f64,
    /// Ordinary texts (level 0, low risk) to learn from: the train split of this CSV.
    #[arg(long, default_value = DEFAULT_EVERYDAY)]
    pub everyday: PathBuf,
    /// Rows of ordinary texts in every batch (0: none).
    #[arg(long, default_value_t = 0)]
    pub everyday_per_batch: usize,
    /// How many ordinary texts the pool holds (a fixed sample of the train split).
    #[arg(long, default_value_t = 3000)]
    pub everyday_rows: usize,
    /// Rows in every batch of the hard ordinary texts: those of the train split with words the
    /// tree hole taught the model to read as risk (death words in hyperbole, sadness, and the
    /// places and things of methods in ordinary use; see `HARD_ORDINARY_CUES`).
    #[arg(long, default_value_t = 0)]
    pub everyday_hard_per_batch: usize,
    /// Ordinary texts held out of the pool whose flagged share is reported every epoch.
    #[arg(long, default_value_t = 500)]
    pub watch: usize,
    /// Posts written by GPT-4 to the level definitions (the augmentation pool) in every batch;
    /// rows prompted with validation posts are left out.
    #[arg(long, default_value_t = 0)]
    pub generated_per_batch: usize,
    /// Rows in every batch of the generated posts with no suicidal wish (levels 0–3): sadness
    /// and strain in everyday words, low risk, the counterweight to the tree hole's style.
    #[arg(long, default_value_t = 0)]
    pub generated_low_per_batch: usize,
    /// Weight of the pools' loss relative to the posts'.
    #[arg(long, default_value_t = 0.5)]
    pub pool_weight: f64,
    /// Distil from the fold models of this `cv --encoder` run directory: each validated run
    /// learns from the fold model that never saw its validation fold, a final run from all five.
    /// The teacher's targets go to the posts and the LLM-written pools; ordinary texts keep
    /// their hard label.
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Share of the loss from the teacher's probabilities.
    #[arg(long, default_value_t = 0.5)]
    pub distill_alpha: f64,
    #[arg(long, default_value_t = 2.0)]
    pub distill_temperature: f64,
    /// LLM-written pools that keep their hard label only, untaught (e.g. `generated`: a teacher
    /// trained on the tree hole may read plainly written posts as low risk), or with
    /// `generated-high` only that pool's posts labelled high (their label is their target).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub untaught: Vec<LlmPool>,
}

/// The LLM-written pools, by their flags' names.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmPool {
    /// `--generated-per-batch`'s pool.
    Generated,
    /// `--generated-low-per-batch`'s pool.
    GeneratedLow,
    /// The posts of `--generated-per-batch`'s pool at levels 7–10 (labelled high): the teacher
    /// still teaches the others, but may not lower a post written as high risk.
    GeneratedHigh,
}

impl LlmPool {
    /// The pool's place in [`Recipe::per_batch`]'s order.
    fn index(self) -> usize {
        match self {
            LlmPool::Generated | LlmPool::GeneratedHigh => 2,
            LlmPool::GeneratedLow => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            LlmPool::Generated => "generated",
            LlmPool::GeneratedLow => "generated-low",
            LlmPool::GeneratedHigh => "generated-high",
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Encoder directory written by `sosrisk import`.
    #[arg(long, default_value = "runs/e5")]
    pub encoder: PathBuf,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub recipe: Recipe,
    #[arg(long, default_value_t = 3, conflicts_with = "final_from", value_parser = fold_number)]
    pub val_fold: usize,
    /// Train on all five folds, with the epoch count, temperatures and threshold that this
    /// `cv --encoder` run directory's out-of-fold predictions fixed (its summary.json).
    #[arg(long)]
    pub final_from: Option<PathBuf>,
    /// Output model directory.
    #[arg(long, default_value = "runs/e5-model")]
    pub out: PathBuf,
    /// Keep a checkpoint here after every epoch (default: OUT/../NAME.checkpoint).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint, if there is one.
    #[arg(long)]
    pub resume: bool,
    /// Train nothing: average these checkpoints (`best.bpk` of runs fine-tuned from --encoder) or
    /// saved model directories (e.g. models/e5) into one model, calibrated and scored on
    /// --val-fold like a trained one.
    #[arg(long, conflicts_with_all = ["final_from", "resume"])]
    pub soup_of: Vec<PathBuf>,
}

fn decay_factor(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(format!("expected a number above 0 and at most 1, got {s:?}")),
    }
}

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        _ => Err(format!("expected a probability from 0 to below 1, got {s:?}")),
    }
}

fn width(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=10.0).contains(&x) => Ok(x),
        _ => Err(format!("expected a width in levels from 0 to 10, got {s:?}")),
    }
}

/// The settings of a run from the command line (encoder defaults where a flag is absent).
pub fn config(common: &Common, recipe: &Recipe) -> FinetuneConfig {
    let d = FinetuneConfig::default();
    let pools = recipe.per_batch().into_iter().filter(|&n| n > 0).collect();
    FinetuneConfig {
        seed: common.seed.unwrap_or(d.seed),
        epochs: common.epochs.unwrap_or(d.epochs),
        patience: common.patience.unwrap_or(4),
        batch_size: common.batch_size.unwrap_or(d.batch_size),
        learning_rate: common.lr.unwrap_or(d.learning_rate),
        weight_decay: common.weight_decay.unwrap_or(d.weight_decay),
        dropout: common.dropout.unwrap_or(d.dropout),
        max_tokens: recipe.max_tokens,
        freeze_encoder: recipe.freeze_encoder,
        head_lr_scale: recipe.head_lr_scale,
        group_by_length: recipe.group_by_length,
        layer_decay: recipe.layer_decay,
        ordinal_sigma: recipe.ordinal_sigma,
        average_from: recipe.average_from,
        encoder_dropout: recipe.encoder_dropout,
        rdrop: recipe.rdrop,
        pool_per_batch: pools,
        pool_weight: recipe.pool_weight,
        distill: recipe.teacher.as_ref().map(|_| Distill {
            alpha: recipe.distill_alpha,
            temperature: recipe.distill_temperature,
            untaught: recipe.untaught.iter().map(|p| p.name().to_owned()).collect(),
        }),
        ..d
    }
}

/// Which of its levels a generated post's binary label can be read from: where SOS-1K's own
/// labels agree with the level at least 89 % of the time (levels 0–2 and 4 low, 7–10 high);
/// levels 3, 5 and 6 stay unlabelled.
fn generated_binary(level: usize) -> Option<usize> {
    match level {
        0..=2 | 4 => Some(0),
        7..=10 => Some(1),
        _ => None,
    }
}

/// Words that, in a tree hole, go with risk, and in ordinary text mostly do not: death words of
/// everyday hyperbole (累死, 笑死, 气死), sadness and strain, and the places and things of
/// methods in ordinary use (a building's floors, a river, a knife, medicine, rope, charcoal). An
/// ordinary text with one of them is the kind the tree-hole model flags; these are taken from the
/// everyday pool's train split, so the model sees them as what they are. Chosen from what the
/// words mean, not from any test set.
pub const HARD_ORDINARY_CUES: &[&str] = &[
    "死", "活", "累", "烦", "哭", "难过", "伤心", "绝望", "崩溃", "要命", "郁闷", "失望", "痛苦", "跳", "楼",
    "刀", "药", "绳", "河", "桥", "炭", "再见", "最后", "离开",
];

impl Recipe {
    /// Rows per batch of each extra pool, in [`Pools::read`]'s order: ordinary texts, hard
    /// ordinary texts, generated posts, generated posts without a suicidal wish.
    fn per_batch(&self) -> [usize; 4] {
        [
            self.everyday_per_batch,
            self.everyday_hard_per_batch,
            self.generated_per_batch,
            self.generated_low_per_batch,
        ]
    }
}

/// The train split of the ordinary texts in a fixed order, whatever the seed: the watch set
/// is its first rows and the pool the next, so neither changes between runs (and `novelty`
/// finds the texts a model learned from).
pub fn ordinary_train_split(path: &Path) -> Result<Vec<Post>> {
    let ds = data::read_labelled(path).context("the ordinary texts (--everyday)")?;
    let mut train: Vec<Post> = (ds.posts.into_iter())
        .filter(|p| p.split.as_deref() == Some("train"))
        .collect();
    Rng(0x5eed_e7e2).shuffle(&mut train);
    Ok(train)
}

/// The augmentation pool's posts written by GPT-4 that a model validated on `val_fold` may learn
/// from: rows prompted with that fold's posts would leak it.
pub fn gpt4_rows(path: &Path, val_fold: Option<usize>) -> Result<Vec<data::AugmentedPost>> {
    Ok(data::read_augmentation(path)?
        .into_iter()
        .filter(|r| r.method == "llm_generation_gpt4" && r.source_fold.is_some_and(|f| Some(f) != val_fold))
        .collect())
}

/// The extra texts of a run: the pools (ordinary texts, hard ordinary texts, generated posts;
/// empty where the recipe takes none) and the held-out watch set of ordinary texts.
pub struct Pools {
    pub pools: [Vec<Example>; 4],
    pub watch: Vec<Example>,
}

impl Pools {
    pub fn read(recipe: &Recipe, common: &Common, val_fold: Option<usize>) -> Result<Self> {
        let [everyday_n, hard_n, generated_n, low_n] = recipe.per_batch();
        let (mut everyday, mut hard, mut watch) = (Vec::new(), Vec::new(), Vec::new());
        if everyday_n > 0 || hard_n > 0 || recipe.watch > 0 {
            let train = ordinary_train_split(&recipe.everyday)?;
            let as_low = |p: &Post| Example {
                text: p.text.clone(),
                level: 0,
                binary: Some(0),
            };
            watch = train.iter().take(recipe.watch).map(as_low).collect();
            let rest = &train[recipe.watch.min(train.len())..];
            if everyday_n > 0 {
                everyday = rest.iter().take(recipe.everyday_rows).map(as_low).collect();
            }
            if hard_n > 0 {
                hard = rest
                    .iter()
                    .filter(|p| HARD_ORDINARY_CUES.iter().any(|c| p.text.contains(c)))
                    .map(as_low)
                    .collect();
            }
        }
        let mut generated = Vec::new();
        if generated_n > 0 || low_n > 0 {
            let path = common.input.augmentation_path();
            generated = gpt4_rows(&path, val_fold)?
                .into_iter()
                .map(|r| Example {
                    binary: generated_binary(r.level),
                    text: r.text,
                    level: r.level,
                })
                .collect();
        }
        let low = if low_n > 0 {
            generated.iter().filter(|e| e.level <= 3).cloned().collect()
        } else {
            Vec::new()
        };
        if generated_n == 0 {
            generated.clear();
        }
        Ok(Self {
            pools: [everyday, hard, generated, low],
            watch,
        })
    }

    /// The pools the recipe takes rows of, in [`config`]'s order, each with its teacher targets.
    fn in_order<'a>(
        &'a self,
        recipe: &Recipe,
        soft: &'a PoolTargets,
    ) -> Vec<(&'a [Example], Option<&'a [Soft]>)> {
        recipe
            .per_batch()
            .iter()
            .zip(self.pools.iter().zip(soft))
            .filter(|(n, _)| **n > 0)
            .map(|(_, (pool, soft))| (pool.as_slice(), soft.as_deref()))
            .collect()
    }
}

/// The fold models of a `cv --encoder` run, as a teacher.
pub struct Teacher {
    models: Vec<Classifier>,
    thresholds: Vec<f32>,
}

impl Teacher {
    /// Fold `val_fold`'s model alone (it never saw that fold), or all five for a final run.
    pub fn load(dir: &Path, val_fold: Option<usize>, device: &burn::prelude::Device) -> Result<Self> {
        let folds: Vec<usize> = match val_fold {
            Some(f) => vec![f],
            None => (0..data::FOLDS).collect(),
        };
        let mut models = Vec::new();
        for f in folds {
            let path = super::cv::fold_model_dir(dir, f);
            models.push(artifact::load(&path, device).with_context(|| format!("teacher fold {f}"))?);
        }
        let thresholds = models.iter().map(|m| m.manifest.binary_threshold).collect();
        Ok(Self { models, thresholds })
    }

    /// The teacher's mean probabilities for each text, softened at `temperature`.
    pub fn targets(&self, examples: &[Example], temperature: f64) -> Result<Vec<Soft>> {
        let per_model: Vec<Vec<Prediction>> = self
            .models
            .iter()
            .map(|m| predict_all(m, examples))
            .collect::<Result<_>>()?;
        Ok((0..examples.len())
            .map(|i| {
                let members: Vec<(&Prediction, f32)> = per_model
                    .iter()
                    .zip(&self.thresholds)
                    .map(|(p, &t)| (&p[i], t))
                    .collect();
                let mean = Prediction::average(&members);
                Soft::soften(&mean.level_probs, mean.high_risk_prob, temperature)
            })
            .collect())
    }
}

/// Predictions for every example, in order.
pub fn predict_all(clf: &Classifier, examples: &[Example]) -> Result<Vec<Prediction>> {
    sosrisk::train::evaluate(clf, examples)
        .map(|(_, p)| p)
        .map_err(|e| anyhow::anyhow!("text {} of {}: {}", e.index, examples.len(), e.error))
}

/// Share of `preds` flagged: high risk, or a level of 4 or more (a suicidal wish).
pub fn flagged(preds: &[Prediction]) -> f64 {
    preds.iter().filter(|p| p.high_risk || p.level >= 4).count() as f64 / preds.len().max(1) as f64
}

/// Where one run's files go.
pub struct Output<'a> {
    pub model: &'a Path,
    pub checkpoint: &'a Path,
    pub resume: bool,
    /// Checkpoints to average instead of training ([`sosrisk::finetune::soup_of`]).
    pub soup_of: &'a [PathBuf],
}

/// What one run measured on its saved (quantised) model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunScores {
    pub best_epoch: usize,
    pub validation: Option<Scores>,
    pub test: Option<Scores>,
    /// Share of the held-out ordinary texts flagged.
    pub watch_flagged: Option<f64>,
    pub temperatures: [f32; 2],
    pub threshold: f32,
}

/// The training posts and the validation fold's (none for a final run on all five folds).
fn posts_for(ds: &data::Dataset, val_fold: Option<usize>) -> Result<(Vec<Post>, Vec<Post>)> {
    Ok(match val_fold {
        Some(f) => ds.fold_split(f),
        None => (
            ds.posts
                .iter()
                .filter(|p| p.split.as_deref() != Some("test"))
                .cloned()
                .collect(),
            Vec::new(),
        ),
    })
}

/// Pools' teacher targets, one slot per pool (`None` where the recipe takes none).
type PoolTargets = [Option<Vec<Soft>>; 4];

/// Which pools (in [`Recipe::per_batch`]'s order) take the teacher's targets: the LLM-written
/// posts, whose labels are not trusted, unless `--untaught` names them. The ordinary texts keep
/// their hard label (level 0, low): they are there to teach what the tree hole cannot, and a
/// teacher trained on the tree hole alone calls most of them high risk.
fn taught_pools(recipe: &Recipe) -> [bool; 4] {
    let mut taught = [false, false, true, true];
    for p in recipe.untaught.iter().filter(|p| **p != LlmPool::GeneratedHigh) {
        taught[p.index()] = false;
    }
    taught
}

/// The teacher's targets for the training posts and each LLM-written pool the recipe takes,
/// when it has a teacher.
fn teacher_targets(
    recipe: &Recipe,
    (train, pools): (&[Example], &Pools),
    val_fold: Option<usize>,
    device: &burn::prelude::Device,
) -> Result<(Option<Vec<Soft>>, PoolTargets)> {
    let Some(dir) = &recipe.teacher else {
        return Ok((None, [None, None, None, None]));
    };
    let teacher = Teacher::load(dir, val_fold, device)?;
    let t = recipe.distill_temperature;
    eprintln!("teacher: scoring {} posts and the pools …", train.len());
    let mut soft: PoolTargets = [None, None, None, None];
    let taught = taught_pools(recipe);
    for (k, n) in recipe.per_batch().into_iter().enumerate() {
        if n > 0 && taught[k] {
            let mut targets = teacher.targets(&pools.pools[k], t)?;
            if k == LlmPool::GeneratedHigh.index() && recipe.untaught.contains(&LlmPool::GeneratedHigh) {
                keep_high_labels(&mut targets, &pools.pools[k]);
            }
            soft[k] = Some(targets);
        }
    }
    Ok((Some(teacher.targets(train, t)?), soft))
}

/// The rows labelled high get their own label as the target: the soft loss then pulls them
/// towards it, not towards the teacher's reading.
fn keep_high_labels(targets: &mut [Soft], rows: &[Example]) {
    for (target, e) in targets.iter_mut().zip(rows) {
        if e.binary == Some(1) {
            *target = Soft::one_hot(e.level, 1);
        }
    }
}

/// Trains one model (validated on `val_fold`, or on all folds with `fixed` calibration), saves
/// it quantised, reads it back and scores it: the saved weights are what ships.
pub fn train_one(
    encoder: &Path,
    common: &Common,
    recipe: &Recipe,
    (ds, val_fold, fixed): (&data::Dataset, Option<usize>, Option<FixedCalibration>),
    out: Output,
) -> Result<(Classifier, RunScores)> {
    let (train_posts, val_posts) = posts_for(ds, val_fold)?;
    let test = test_posts(ds);
    let device = common.backend.device();
    let mut cfg = config(common, recipe);
    cfg.fixed_calibration = fixed;
    let train = common.input.training_examples(&train_posts, val_fold)?;
    let pools = Pools::read(recipe, common, val_fold)?;
    let (train_soft, pool_soft) = teacher_targets(recipe, (&train, &pools), val_fold, &device)?;
    let splits = Splits {
        train: &train,
        train_soft: train_soft.as_deref(),
        val: &examples(&val_posts),
        test: &examples(&test),
        pools: pools.in_order(recipe, &pool_soft),
        watch: &pools.watch,
    };
    let finetuned = if out.soup_of.is_empty() {
        let checkpoints = Checkpoints {
            dir: out.checkpoint,
            resume: out.resume,
        };
        sosrisk::finetune::finetune(encoder, splits, &cfg, &device, Some(checkpoints), !common.quiet)?
    } else {
        sosrisk::finetune::soup_of(encoder, splits, &cfg, out.soup_of, &device)?
    };
    let report = &finetuned.report;
    let mut training = json!({
        "backend": common.backend.name(),
        "data": common.input.info(&val_fold.into_iter().collect::<Vec<_>>())?,
        "encoder": finetuned.classifier.manifest.training["encoder_source"],
        "quantisation": sosrisk::quant::DEFAULT_POLICY,
        "sosrisk_version": env!("CARGO_PKG_VERSION"),
    });
    let record = training.as_object_mut().expect("a JSON object");
    // A soup trains nothing: what trained it are its members' runs, recorded with each member.
    // A training run's fields (settings, pools, teacher, best epoch) would describe the soup
    // command itself and mislead a reader of the model card ("everyday": null on a model whose
    // members learned from the everyday pool), so a soup's record has its members instead.
    if out.soup_of.is_empty() {
        let everyday = (recipe.everyday_per_batch + recipe.everyday_hard_per_batch > 0)
            .then(|| recipe.everyday.display().to_string());
        record.insert("settings".into(), json!(cfg));
        record.insert("everyday".into(), json!(everyday));
        record.insert(
            "teacher".into(),
            json!(recipe.teacher.as_ref().map(|t| t.display().to_string())),
        );
        record.insert("best_epoch".into(), json!(report.best_epoch));
    } else {
        let members: Vec<Value> = out.soup_of.iter().map(|m| soup_member(m)).collect();
        record.insert("soup_of".into(), json!(members));
    }
    artifact::save(out.model, &finetuned.classifier, training.clone())?;
    let saved = artifact::load(out.model, &device)?;
    let scores = score_saved(&saved, (&val_posts, ds, &pools.watch), report.best_epoch)?;
    let metrics = json!({
        "validation": scores.validation,
        "test": scores.test,
        "watch_flagged": scores.watch_flagged,
        "argmax_threshold_half": { "validation": report.validation, "test": report.test },
        "calibration": report.calibration.as_ref().map(|c| json!({ "level": c[0], "binary": c[1] })).unwrap_or(Value::Null),
        "binary_threshold": report.binary_threshold,
        "epochs": report.epochs,
    });
    let empty = Scores::of_predictions(&[], &[]);
    let card = artifact::model_card(
        &saved.manifest,
        &training,
        ("validation fold", scores.validation.as_ref().unwrap_or(&empty)),
        scores.test.as_ref(),
    );
    artifact::write_reports(out.model, &metrics, &card)?;
    Ok((saved, scores))
}

/// A soup member for the model card: a saved model directory and how it was trained (its own
/// card's record), or a checkpoint and, when it sits in a run directory written by `cv`, that
/// run's settings.
fn soup_member(member: &Path) -> Value {
    if member.is_dir() {
        let training = artifact::read_manifest(member).ok().map(|m| m.training);
        return json!({ "model": member.display().to_string(), "training": training });
    }
    let settings = super::cv::run_of_checkpoint(member)
        .map(super::cv::settings_path)
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| serde_json::from_str::<Value>(&s).ok());
    json!({ "checkpoint": member.display().to_string(), "run_settings": settings })
}

/// The saved (quantised) model's scores: on the validation posts, the test posts and the watch
/// set of ordinary texts.
fn score_saved(
    saved: &Classifier,
    (val_posts, ds, watch): (&[data::Post], &data::Dataset, &[Example]),
    best_epoch: usize,
) -> Result<RunScores> {
    let validation = if val_posts.is_empty() {
        None
    } else {
        Some(super::shared::evaluate(saved, val_posts)?.0)
    };
    let watch_flagged = (!watch.is_empty())
        .then(|| predict_all(saved, watch).map(|p| flagged(&p)))
        .transpose()?;
    Ok(RunScores {
        best_epoch,
        validation,
        test: test_scores(saved, ds)?,
        watch_flagged,
        temperatures: match &saved.manifest.architecture {
            sosrisk::infer::Architecture::Encoder(spec) => spec.temperatures,
            _ => [1.0, 1.0],
        },
        threshold: saved.manifest.binary_threshold,
    })
}

pub fn print_scores(what: &str, s: &RunScores) {
    if let Some(v) = &s.validation {
        println!("{what} validation: {}", one_line(v));
    }
    if let Some(t) = &s.test {
        println!("{what} test:       {}", one_line(t));
    }
    if let Some(w) = s.watch_flagged {
        println!(
            "{what} ordinary texts flagged (held-out everyday train rows): {:.2} %",
            w * 100.0
        );
    }
}

pub fn run(args: Args) -> Result<()> {
    let ds = data::read_labelled(&args.common.input.data)?;
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| args.out.with_extension("checkpoint"));
    let mut common = args.common.clone();
    let (val_fold, fixed) = match &args.final_from {
        None => (Some(args.val_fold), None),
        Some(dir) => {
            let protocol = super::cv::FinalProtocol::read(dir)?;
            if common.epochs.is_none() {
                common.epochs = Some(protocol.epochs);
            }
            eprintln!(
                "final protocol from {}: {} epochs, temperatures {:?}, threshold {:.3}",
                dir.display(),
                common.epochs.unwrap_or(protocol.epochs),
                protocol.calibration.temperatures,
                protocol.calibration.threshold
            );
            (None, Some(protocol.calibration))
        }
    };
    let out = Output {
        model: &args.out,
        checkpoint: &checkpoint,
        resume: args.resume,
        soup_of: &args.soup_of,
    };
    let (_, scores) = train_one(&args.encoder, &common, &args.recipe, (&ds, val_fold, fixed), out)?;
    println!("best epoch {}", scores.best_epoch);
    print_scores("", &scores);
    println!("model written to {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        recipe: Recipe,
    }

    fn settings(args: &[&str]) -> FinetuneConfig {
        let cli = Cli::parse_from(std::iter::once("finetune").chain(args.iter().copied()));
        config(&cli.common, &cli.recipe)
    }

    fn recipe(args: &[&str]) -> Recipe {
        Cli::parse_from(std::iter::once("finetune").chain(args.iter().copied())).recipe
    }

    #[test]
    fn layer_decay_and_ordinal_width_reach_the_settings_and_are_checked() {
        let r = recipe(&["--layer-decay", "0.9", "--ordinal-sigma", "0.75"]);
        assert_eq!((r.layer_decay, r.ordinal_sigma), (0.9, 0.75));
        let off = recipe(&[]);
        assert_eq!((off.layer_decay, off.ordinal_sigma), (1.0, 0.0));
        for bad in [
            ["--layer-decay", "0"],
            ["--layer-decay", "1.5"],
            ["--ordinal-sigma", "-1"],
        ] {
            assert!(
                Cli::try_parse_from(std::iter::once("finetune").chain(bad)).is_err(),
                "{bad:?}"
            );
        }
        // Off, they leave the saved settings as they were before the options existed.
        let settings = serde_json::to_value(FinetuneConfig::default()).unwrap();
        assert!(settings.get("layer_decay").is_none() && settings.get("ordinal_sigma").is_none());
        let on = FinetuneConfig {
            layer_decay: 0.9,
            ..FinetuneConfig::default()
        };
        assert_eq!(serde_json::to_value(on).unwrap()["layer_decay"], 0.9);
    }

    #[test]
    fn averaging_and_dropout_options_reach_the_settings_only_when_on() {
        let on = settings(&["--average-from", "6", "--encoder-dropout", "0.1", "--rdrop", "1"]);
        assert_eq!((on.average_from, on.encoder_dropout, on.rdrop), (6, 0.1, 1.0));
        let off = serde_json::to_value(settings(&[])).unwrap();
        for key in ["average_from", "encoder_dropout", "rdrop"] {
            assert!(off.get(key).is_none(), "{key}");
        }
        assert!(Cli::try_parse_from(["finetune", "--encoder-dropout", "1"]).is_err());
    }

    #[test]
    fn a_soup_member_carries_its_runs_settings() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = dir.path().join("run/fold-3/checkpoint/best.bpk");
        std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
        std::fs::write(dir.path().join("run/settings.json"), r#"{"epochs": 9}"#).unwrap();
        assert_eq!(soup_member(&checkpoint)["run_settings"]["epochs"], 9);
        // A checkpoint outside a run directory is named, its settings unknown.
        let loose = dir.path().join("best.bpk");
        assert_eq!(soup_member(&loose)["run_settings"], Value::Null);
        assert_eq!(soup_member(&loose)["checkpoint"], loose.display().to_string());
        // As deep as a fold's checkpoint but not one: no settings are borrowed from above it.
        let elsewhere = dir.path().join("run/fold-3/model/best.bpk");
        assert_eq!(soup_member(&elsewhere)["run_settings"], Value::Null);
        // A saved model directory (a shipped model) carries its own card's training record.
        let shipped = Path::new("models/char-ngram");
        assert_eq!(soup_member(shipped)["model"], "models/char-ngram");
        assert!(soup_member(shipped)["training"]["settings"].is_object());
    }

    #[test]
    fn untaught_pools_keep_their_hard_labels() {
        assert_eq!(taught_pools(&recipe(&[])), [false, false, true, true]);
        assert_eq!(
            taught_pools(&recipe(&["--untaught", "generated"])),
            [false, false, false, true]
        );
        let both = recipe(&["--untaught", "generated,generated-low"]);
        assert_eq!(taught_pools(&both), [false, false, false, false]);
        // Only the high-risk part of the pool: the pool itself is still taught.
        assert_eq!(
            taught_pools(&recipe(&["--untaught", "generated-high"])),
            [false, false, true, true]
        );
    }

    #[test]
    fn posts_labelled_high_are_taught_their_own_label() {
        let row = |level, binary| Example {
            text: "synthetic".into(),
            level,
            binary,
        };
        let rows = [row(9, Some(1)), row(5, None), row(2, Some(0))];
        let teacher = Soft::soften(&[0.1; 11], 0.2, 2.0);
        let mut targets = vec![teacher.clone(); 3];
        keep_high_labels(&mut targets, &rows);
        assert_eq!(targets[0], Soft::one_hot(9, 1));
        assert_eq!(&targets[1..], &[teacher.clone(), teacher]);
    }
}
