//! `sosrisk cv`: 5-fold cross-validation on the 999 training posts. The n-gram model in
//! memory; with `--encoder`, the fine-tuned encoder: each fold's model, checkpoint and
//! out-of-fold (OOF) predictions in a run directory outside git, so that a stopped run resumes
//! where it was (finished folds are kept, the fold in progress resumes from its last epoch).
//! Every recipe decision is made on the OOF scores; the test set is only reported.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use sosrisk::artifact;
use sosrisk::data::{self, FOLDS, Post};
use sosrisk::finetune::FixedCalibration;
use sosrisk::infer::Prediction;
use sosrisk::metrics::Scores;
use sosrisk::train::{self, best_threshold};

use super::finetune::{Output, Recipe, RunScores, flagged, predict_all, print_scores, train_one};
use super::shared::{examples, fold_number, one_line, summarise, test_posts, test_scores};
use super::train::{Common, NgramArgs, fit};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub ngram: NgramArgs,
    /// Cross-validate the fine-tuned encoder imported here (`sosrisk import`) instead of the
    /// n-gram model.
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    #[command(flatten)]
    pub recipe: Recipe,
    /// With --encoder: the run directory (fold models, checkpoints, OOF predictions, summary).
    #[arg(long, default_value_os_t = default_runs())]
    pub runs: PathBuf,
    /// With --encoder: only these validation folds now (the others may follow in a later call;
    /// the summary needs all five).
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values_t = [0, 1, 2, 3, 4],
        value_parser = fold_number)]
    pub folds: Vec<usize>,
    /// With --encoder: also build the uniform weight soup of the five fold models.
    #[arg(long)]
    pub soup: bool,
    /// Write the per-fold and summary numbers as JSON here (the n-gram model).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn default_runs() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/sosrisk/runs/cv-encoder")
}

pub fn run(args: Args) -> Result<()> {
    match &args.encoder {
        Some(encoder) => encoder_cv(&args, encoder),
        None => ngram_cv(&args),
    }
}

fn ngram_cv(args: &Args) -> Result<()> {
    let common = &args.common;
    let ds = data::read_labelled(&common.input.data)?;
    let (mut vals, mut tests) = (Vec::new(), Vec::new());
    for fold in 0..FOLDS {
        let (trained, val) = fit(common, &args.ngram, &ds, &[fold])?;
        let test = test_scores(&trained.classifier, &ds)?;
        let val = val.into_iter().next().expect("one member");
        println!(
            "fold {fold} (best epoch {}): validation {}",
            trained.best_epochs[0],
            one_line(&val)
        );
        if let Some(t) = &test {
            println!("fold {fold}                 test       {}", one_line(t));
            tests.push(t.clone());
        }
        vals.push(val);
    }
    let summary = json!({
        "validation": summarise(&vals),
        "test": if tests.is_empty() { Value::Null } else { summarise(&tests) },
        "folds": vals.iter().zip(tests.iter().map(Some).chain(std::iter::repeat(None))).enumerate()
            .map(|(i, (v, t))| json!({"fold": i, "validation": v, "test": t})).collect::<Vec<_>>(),
        "settings": super::train::config(common, &args.ngram),
        "augment": format!("{:?}", common.input.augment).to_lowercase(),
        "data_sha256": data::file_sha256(&common.input.data)?,
    });
    print_mean_table(&summary, &format!("validation ({FOLDS} folds)"));
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

fn print_mean_table(summary: &Value, first: &str) {
    println!("\nmetric                   {first:<22} test ({FOLDS} fold models)");
    for key in Scores::METRICS {
        let cell = |part: &str| {
            let m = &summary[part][key];
            match (m["mean"].as_f64(), m["std"].as_f64()) {
                (Some(mean), Some(std)) => format!("{mean:.4} ± {std:.4}"),
                _ => "n/a".into(),
            }
        };
        println!("{key:<24} {:<22} {}", cell("validation"), cell("test"));
    }
}

pub fn fold_dir(runs: &Path, fold: usize) -> PathBuf {
    runs.join(format!("fold-{fold}"))
}

pub fn fold_model_dir(runs: &Path, fold: usize) -> PathBuf {
    fold_dir(runs, fold).join("model")
}

fn fold_checkpoint_dir(runs: &Path, fold: usize) -> PathBuf {
    fold_dir(runs, fold).join("checkpoint")
}

/// The settings a run directory was started with; a resumed run must match them.
pub fn settings_path(runs: &Path) -> PathBuf {
    runs.join("settings.json")
}

/// The run directory a checkpoint file belongs to, when it lies where `cv` writes one (a fold's
/// checkpoint directory); `None` for a checkpoint from anywhere else.
pub fn run_of_checkpoint(file: &Path) -> Option<&Path> {
    let dir = file.parent()?;
    let run = dir.parent()?.parent()?;
    (0..FOLDS)
        .any(|fold| fold_checkpoint_dir(run, fold) == dir)
        .then_some(run)
}

/// One OOF prediction: a training post scored by the fold model that never saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Oof {
    id: String,
    fold: usize,
    level: usize,
    level_probs: Vec<f32>,
    high_risk_prob: f32,
    /// The fold model's own call (its own threshold).
    high_risk: bool,
}

/// A finished fold: what `done.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FoldDone {
    fold: usize,
    scores: RunScores,
    oof: Vec<Oof>,
    /// The fold model's predictions on the test split, in file order (for the ensemble).
    test: Vec<(f32, Vec<f32>)>,
}

/// What the final training on all 999 posts takes from the cross-validation: written to the
/// run's `summary.json` as `final_protocol`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinalProtocol {
    /// The median of the folds' best epochs.
    pub epochs: usize,
    /// Median fold temperatures, and the threshold with the best F1 on the OOF P(high).
    pub calibration: FixedCalibration,
}

impl FinalProtocol {
    pub fn read(runs: &Path) -> Result<Self> {
        let path = runs.join("summary.json");
        let bytes = std::fs::read(&path)
            .with_context(|| format!("{}: cannot read (run `cv --encoder` first)", path.display()))?;
        let summary: Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))?;
        serde_json::from_value(summary["final_protocol"].clone())
            .with_context(|| format!("{}: no final_protocol", path.display()))
    }
}

fn median<T: Copy + PartialOrd>(mut xs: Vec<T>) -> T {
    xs.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    xs[xs.len() / 2]
}

fn prediction(level_probs: Vec<f32>, p_high: f32, threshold: f32) -> Prediction {
    Prediction::from_probabilities(level_probs, p_high, threshold, (0, false))
}

fn run_fold(args: &Args, encoder: &Path, ds: &data::Dataset, fold: usize) -> Result<FoldDone> {
    let dir = fold_dir(&args.runs, fold);
    let done_path = dir.join("done.json");
    if done_path.is_file() {
        let bytes = std::fs::read(&done_path)?;
        eprintln!("fold {fold}: done before, kept ({})", done_path.display());
        return serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: unreadable", done_path.display()));
    }
    eprintln!("fold {fold}: training (checkpoints in {})", dir.display());
    let model_dir = fold_model_dir(&args.runs, fold);
    let checkpoint = fold_checkpoint_dir(&args.runs, fold);
    let (saved, scores) = train_one(
        encoder,
        &args.common,
        &args.recipe,
        (ds, Some(fold), None),
        Output {
            model: &model_dir,
            checkpoint: &checkpoint,
            resume: true,
            soup_of: &[],
        },
    )?;
    let (_, val_posts) = ds.fold_split(fold);
    let preds = predict_all(&saved, &examples(&val_posts))?;
    let oof = val_posts
        .iter()
        .zip(preds)
        .map(|(p, q)| Oof {
            id: p.id.clone(),
            fold,
            level: q.level,
            level_probs: q.level_probs,
            high_risk_prob: q.high_risk_prob,
            high_risk: q.high_risk,
        })
        .collect();
    let test = predict_all(&saved, &examples(&test_posts(ds)))?
        .into_iter()
        .map(|p| (p.high_risk_prob, p.level_probs))
        .collect();
    let done = FoldDone {
        fold,
        scores,
        oof,
        test,
    };
    std::fs::write(&done_path, serde_json::to_vec(&done)?)
        .with_context(|| format!("writing {}", done_path.display()))?;
    print_scores(&format!("fold {fold}"), &done.scores);
    Ok(done)
}

fn encoder_cv(args: &Args, encoder: &Path) -> Result<()> {
    // Before any fold starts: a missing encoder or teacher fold would otherwise surface only
    // after "fold N: training" and the data reading.
    sosrisk::import::ImportedEncoder::read(encoder)?;
    if let Some(teacher) = &args.recipe.teacher {
        for &fold in &args.folds {
            artifact::read_manifest(&fold_model_dir(teacher, fold)).with_context(|| {
                format!(
                    "--teacher {}: fold {fold} has no model yet (run `cv --encoder … --runs {}` for it first)",
                    teacher.display(),
                    teacher.display()
                )
            })?;
        }
    }
    std::fs::create_dir_all(&args.runs).with_context(|| format!("creating {}", args.runs.display()))?;
    let settings_path = settings_path(&args.runs);
    let settings = serde_json::to_value(super::finetune::config(&args.common, &args.recipe))?;
    if let Ok(bytes) = std::fs::read(&settings_path) {
        let before: Value = serde_json::from_slice(&bytes)?;
        if before != settings {
            bail!(
                "{} holds a run with other settings; give another --runs directory",
                args.runs.display()
            );
        }
    } else {
        std::fs::write(&settings_path, serde_json::to_vec_pretty(&settings)?)?;
    }
    let ds = data::read_labelled(&args.common.input.data)?;
    for &fold in &args.folds {
        run_fold(args, encoder, &ds, fold)?;
    }
    let done: Vec<FoldDone> = (0..FOLDS)
        .filter(|f| fold_dir(&args.runs, *f).join("done.json").is_file())
        .map(|f| run_fold(args, encoder, &ds, f))
        .collect::<Result<_>>()?;
    if done.len() < FOLDS {
        println!(
            "{} of {FOLDS} folds done; run again with the other folds for the out-of-fold summary",
            done.len()
        );
        return Ok(());
    }
    summarise_encoder(args, &ds, &done)
}

/// The out-of-fold predictions of all 999 training posts, in file order, and their scores: at
/// each fold model's own threshold, and at the one threshold with the best F1 over all of them.
struct OofScores {
    oof: Vec<Oof>,
    own: Scores,
    threshold: f32,
    tuned: Scores,
}

fn oof_scores(ds: &data::Dataset, done: &[FoldDone]) -> Result<OofScores> {
    let by_id: std::collections::HashMap<&str, &Oof> = done
        .iter()
        .flat_map(|d| d.oof.iter().map(|o| (o.id.as_str(), o)))
        .collect();
    let train_posts: Vec<&Post> = ds
        .posts
        .iter()
        .filter(|p| p.split.as_deref() != Some("test"))
        .collect();
    let oof: Vec<Oof> = train_posts
        .iter()
        .map(|p| {
            by_id
                .get(p.id.as_str())
                .map(|o| (*o).clone())
                .with_context(|| format!("post {} has no OOF prediction", p.id))
        })
        .collect::<Result<_>>()?;
    let examples: Vec<_> = train_posts.iter().map(|p| train::Example::from(*p)).collect();
    let own_calls: Vec<Prediction> = oof
        .iter()
        .map(|o| {
            let mut p = prediction(o.level_probs.clone(), o.high_risk_prob, 0.5);
            p.high_risk = o.high_risk;
            p
        })
        .collect();
    let scored: Vec<(f32, usize)> = oof
        .iter()
        .zip(&train_posts)
        .filter_map(|(o, p)| p.binary.map(|b| (o.high_risk_prob, b)))
        .collect();
    let threshold = best_threshold(&scored);
    let tuned: Vec<Prediction> = oof
        .iter()
        .map(|o| prediction(o.level_probs.clone(), o.high_risk_prob, threshold))
        .collect();
    Ok(OofScores {
        own: train::score(&examples, &own_calls),
        tuned: train::score(&examples, &tuned),
        threshold,
        oof,
    })
}

/// The fold models' average on the test split (mean probabilities, mean threshold).
fn fold_ensemble(ds: &data::Dataset, done: &[FoldDone]) -> Option<Scores> {
    let test = test_posts(ds);
    let n = done.len() as f32;
    let mean_threshold = done.iter().map(|d| d.scores.threshold).sum::<f32>() / n;
    let ensemble: Vec<Prediction> = (0..test.len())
        .map(|i| {
            let p_high = done.iter().map(|d| d.test[i].0).sum::<f32>() / n;
            let mut level = vec![0f32; sosrisk::labels::N_LEVELS];
            for d in done {
                for (s, v) in level.iter_mut().zip(&d.test[i].1) {
                    *s += v / n;
                }
            }
            prediction(level, p_high, mean_threshold)
        })
        .collect();
    (!test.is_empty()).then(|| train::score(&examples(&test), &ensemble))
}

/// What the final training takes from the folds: the median best epoch and temperatures, and
/// the OOF threshold.
fn final_protocol(done: &[FoldDone], threshold: f32) -> FinalProtocol {
    FinalProtocol {
        epochs: median(done.iter().map(|d| d.scores.best_epoch).collect()),
        calibration: FixedCalibration {
            temperatures: [
                median(done.iter().map(|d| d.scores.temperatures[0]).collect()),
                median(done.iter().map(|d| d.scores.temperatures[1]).collect()),
            ],
            threshold,
        },
    }
}

fn summarise_encoder(args: &Args, ds: &data::Dataset, done: &[FoldDone]) -> Result<()> {
    let oof = oof_scores(ds, done)?;
    let vals: Vec<Scores> = done.iter().filter_map(|d| d.scores.validation.clone()).collect();
    let tests: Vec<Scores> = done.iter().filter_map(|d| d.scores.test.clone()).collect();
    let watch: Vec<f64> = done.iter().filter_map(|d| d.scores.watch_flagged).collect();
    let ensemble = fold_ensemble(ds, done);
    let protocol = final_protocol(done, oof.threshold);
    std::fs::write(args.runs.join("oof.json"), serde_json::to_vec(&oof.oof)?)?;
    let mut summary = json!({
        "oof": oof.own,
        "oof_at_oof_threshold": { "threshold": oof.threshold, "scores": oof.tuned },
        "validation": summarise(&vals),
        "test": summarise(&tests),
        "fold_ensemble_test": ensemble,
        "watch_flagged": { "per_fold": watch, "mean": watch.iter().sum::<f64>() / watch.len().max(1) as f64 },
        "best_epochs": done.iter().map(|d| d.scores.best_epoch).collect::<Vec<_>>(),
        "final_protocol": protocol,
        "settings": super::finetune::config(&args.common, &args.recipe),
        "data_sha256": data::file_sha256(&args.common.input.data)?,
    });
    if args.soup {
        summary["soup"] = soup(args, ds, &protocol, &oof.own)?;
    }
    std::fs::write(
        args.runs.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    let posts: usize = done.iter().map(|d| d.oof.len()).sum();
    println!(
        "out-of-fold, all {posts} posts (each fold model's own threshold): {}",
        one_line(&oof.own)
    );
    println!(
        "out-of-fold at the OOF threshold {:.3}:             {}",
        oof.threshold,
        one_line(&oof.tuned)
    );
    print_mean_table(&summary, "validation (per fold)");
    if let Some(e) = &ensemble {
        println!("fold models' average on the test split: {}", one_line(e));
    }
    println!(
        "ordinary texts flagged (held-out everyday train rows), mean over folds: {:.2} %",
        summary["watch_flagged"]["mean"].as_f64().unwrap_or(f64::NAN) * 100.0
    );
    println!(
        "final protocol: {} epochs, temperatures {:?}, threshold {:.3}",
        protocol.epochs, protocol.calibration.temperatures, protocol.calibration.threshold
    );
    println!("written to {}", args.runs.join("summary.json").display());
    Ok(())
}

/// The uniform soup of the fold models' f32 weights (each fold's best checkpoint), with the
/// final protocol's calibration, saved quantised as `soup/` in the run directory and scored,
/// with `metrics.json` and a model card beside it so that it can ship as it is. The soup has no
/// held-out fold of its own: its card shows its members' out-of-fold scores instead.
fn soup(args: &Args, ds: &data::Dataset, protocol: &FinalProtocol, members_oof: &Scores) -> Result<Value> {
    let encoder = args.encoder.as_ref().expect("encoder cv");
    let device = args.common.backend.device();
    let imported = sosrisk::import::ImportedEncoder::read(encoder)?;
    let template = sosrisk::model::bert::BertClassifier::new(
        imported.config.init(&device),
        imported.config.hidden,
        0.0,
        &device,
    );
    let mut members = Vec::new();
    for f in 0..FOLDS {
        let path = sosrisk::finetune::Checkpoints::best_in(&fold_checkpoint_dir(&args.runs, f));
        members.push(sosrisk::finetune::load_checkpoint(&path, template.clone())?);
    }
    let souped = sosrisk::finetune::soup::soup(&members);
    let cfg = super::finetune::config(&args.common, &args.recipe);
    let parts = sosrisk::finetune::EncoderParts {
        bert: imported.config.clone(),
        source: imported.source.clone(),
        tokenizer: sosrisk::tokenize::PieceTokenizer::new(
            imported.tokenizer,
            sosrisk::import::QUERY_PREFIX,
            cfg.max_tokens,
        ),
        max_tokens: cfg.max_tokens,
    };
    let clf = sosrisk::finetune::assemble(souped, parts, protocol.calibration, &device);
    let out = args.runs.join("soup");
    let training = json!({
        "soup_of": (0..FOLDS).map(|f| fold_model_dir(&args.runs, f).display().to_string()).collect::<Vec<_>>(),
        "settings": cfg,
        "final_protocol": protocol,
        "quantisation": sosrisk::quant::DEFAULT_POLICY,
        "sosrisk_version": env!("CARGO_PKG_VERSION"),
    });
    artifact::save(&out, &clf, training)?;
    let saved = artifact::load(&out, &device)?;
    let test = test_scores(&saved, ds)?;
    let pools = super::finetune::Pools::read(&args.recipe, &args.common, None)?;
    let watch = (!pools.watch.is_empty())
        .then(|| predict_all(&saved, &pools.watch).map(|p| flagged(&p)))
        .transpose()?;
    if let Some(t) = &test {
        println!("soup of the {FOLDS} fold models, test: {}", one_line(t));
    }
    let metrics = json!({ "test": test, "members_oof": members_oof, "watch_flagged": watch });
    let card = artifact::model_card(
        &saved.manifest,
        &saved.manifest.training,
        (
            &format!("out-of-fold (its {FOLDS} members, {} posts)", members_oof.n),
            members_oof,
        ),
        test.as_ref(),
    );
    artifact::write_reports(&out, &metrics, &card)?;
    Ok(json!({ "dir": out.display().to_string(), "test": test, "watch_flagged": watch }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn folds(list: &str) -> Result<Vec<usize>, clap::Error> {
        Cli::try_parse_from(["cv", "--folds", list]).map(|c| c.args.folds)
    }

    #[test]
    fn folds_outside_the_data_are_refused_when_parsed() {
        assert_eq!(folds("0,4").unwrap(), vec![0, 4]);
        assert_eq!(Cli::parse_from(["cv"]).args.folds, (0..FOLDS).collect::<Vec<_>>());
        let err = folds("3,5").unwrap_err().to_string();
        assert!(err.contains("expected a fold from 0 to 4, got \"5\""), "{err}");
        assert!(folds("x").is_err());
    }
}
