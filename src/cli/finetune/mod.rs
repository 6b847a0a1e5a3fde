//! `sosrisk finetune`: one encoder model, on four folds with the fifth for selection and
//! calibration, or on all five with everything fixed from a cross-validation (`--final-from`).
//! Also the one-fold training that `cv --encoder` repeats per fold; the recipe's options, its
//! pools and the teacher are in the modules below.

mod pools;
mod recipe;
mod teacher;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use sosrisk::artifact;
use sosrisk::data::{self, Post};
use sosrisk::finetune::{Checkpoints, FixedCalibration, Splits};
use sosrisk::infer::{Classifier, Prediction};
use sosrisk::metrics::Scores;
use sosrisk::train::Example;

pub use pools::{Pools, gpt4_rows, ordinary_train_split};
pub use recipe::{DEFAULT_EVERYDAY, Recipe, config};
use teacher::teacher_targets;

use super::shared::{examples, fold_number, one_line, test_posts, test_scores};
use super::train::Common;

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
    let own = own_record(recipe, &cfg, report.best_epoch, out.soup_of);
    training.as_object_mut().expect("a JSON object").extend(own);
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

/// The model card's record of how this model came to be, beside what every model records. A
/// soup trains nothing: what trained it are its members' runs, recorded with each member. A
/// training run's fields (settings, pools, teacher, best epoch) would describe the soup command
/// itself and mislead a reader of the card ("everyday": null on a model whose members learned
/// from the everyday pool), so a soup's record has its members instead.
fn own_record(
    recipe: &Recipe,
    cfg: &sosrisk::finetune::FinetuneConfig,
    best_epoch: usize,
    soup_of: &[PathBuf],
) -> serde_json::Map<String, Value> {
    let record = if soup_of.is_empty() {
        let everyday = (recipe.everyday_per_batch + recipe.everyday_hard_per_batch > 0)
            .then(|| recipe.everyday.display().to_string());
        json!({
            "settings": cfg,
            "everyday": everyday,
            "teacher": recipe.teacher.as_ref().map(|t| t.display().to_string()),
            "best_epoch": best_epoch,
        })
    } else {
        json!({ "soup_of": soup_of.iter().map(|m| soup_member(m)).collect::<Vec<_>>() })
    };
    match record {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
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
    fn a_soup_records_its_members_not_a_training_run() {
        let (common, recipe) = recipe::parsed(&["--everyday-per-batch", "2"]).unwrap();
        let cfg = config(&common, &recipe);
        let run = own_record(&recipe, &cfg, 7, &[]);
        assert_eq!(run["best_epoch"], 7);
        assert_eq!(run["everyday"], DEFAULT_EVERYDAY);
        assert!(run["settings"].is_object() && !run.contains_key("soup_of"));
        let members = [PathBuf::from("models/char-ngram")];
        let soup = own_record(&recipe, &cfg, 0, &members);
        let keys: Vec<&str> = soup.keys().map(String::as_str).collect();
        assert_eq!(keys, ["soup_of"]);
        assert_eq!(soup["soup_of"][0]["model"], "models/char-ngram");
    }
}
