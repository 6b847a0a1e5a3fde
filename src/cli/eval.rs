//! `sosrisk eval`: one model, or the average of several, on a labelled CSV.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use sosrisk::artifact;
use sosrisk::bootstrap::Paired;
use sosrisk::data::{self, Post};
use sosrisk::infer::Prediction;
use sosrisk::metrics::Scores;
use sosrisk::report::EvalReport;
use sosrisk::screening::GroupRates;
use sosrisk::train;

use super::shared::{Backend, DEFAULT_DATA, DEFAULT_MODEL, evaluate, examples};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Model directory; repeat it to evaluate the average of several models (e.g. the fold
    /// models of a cross-validation), each member's score printed too.
    #[arg(long = "model", default_value = DEFAULT_MODEL)]
    pub models: Vec<PathBuf>,
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Only rows whose split column has this value (e.g. test).
    #[arg(long)]
    pub split: Option<String>,
    /// Print a JSON report instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write report.md, report.json and SVG plots into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Also compare with this model on the same posts: a paired bootstrap of the difference
    /// in binary F1 and weighted F1 (e.g. against the shipped models/e5).
    #[arg(long)]
    pub compare: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
}

/// Scores the average of several models' predictions (`Prediction::average`), printing each
/// member's own binary and weighted F1 to stderr on the way.
pub fn evaluate_average(
    models: &[PathBuf],
    posts: &[Post],
    backend: Backend,
) -> Result<(Scores, Vec<Prediction>)> {
    let mut members = Vec::with_capacity(models.len());
    for model in models {
        let clf = artifact::load(model, &backend.device())?;
        let (scores, preds) = evaluate(&clf, posts)?;
        eprintln!(
            "{}: binary F1 {} | level weighted F1 {:.4}",
            model.display(),
            scores.binary_f1.map_or("n/a".into(), |f| format!("{f:.4}")),
            scores.level_weighted_f1
        );
        members.push((preds, clf.manifest.binary_threshold));
    }
    let preds: Vec<Prediction> = (0..posts.len())
        .map(|i| {
            let of_text: Vec<(&Prediction, f32)> = members.iter().map(|(p, t)| (&p[i], *t)).collect();
            Prediction::average(&of_text)
        })
        .collect();
    Ok((train::score(&examples(posts), &preds), preds))
}

/// Each text's prediction: one model's, or the average of several models'.
fn predict_texts(models: &[PathBuf], texts: &[String], backend: Backend) -> Result<Vec<Prediction>> {
    let examples: Vec<train::Example> = texts
        .iter()
        .map(|t| train::Example {
            text: t.clone(),
            level: 0,
            binary: None,
        })
        .collect();
    let mut members = Vec::new();
    for model in models {
        let clf = artifact::load(model, &backend.device())?;
        let threshold = clf.manifest.binary_threshold;
        members.push((super::finetune::predict_all(&clf, &examples)?, threshold));
    }
    Ok((0..texts.len())
        .map(|i| {
            let of_text: Vec<(&Prediction, f32)> = members.iter().map(|(p, t)| (&p[i], *t)).collect();
            Prediction::average(&of_text)
        })
        .collect())
}

/// The screening rates per group, when the file has groups (a `group` or `source` column) or
/// no levels (a robustness set): printed as a table, returned for the JSON report.
fn screening(args: &Args, known: Option<&[Prediction]>) -> Result<Option<Vec<GroupRates>>> {
    if !is_screening_set(&args.data)? {
        return Ok(None);
    }
    let texts = data::read_screening(&args.data, args.split.as_deref())?;
    // A labelled file's predictions are already there (same rows, same order).
    let preds = match known.filter(|k| k.len() == texts.len()) {
        Some(k) => k.to_vec(),
        None => {
            let strings: Vec<String> = texts.iter().map(|t| t.text.clone()).collect();
            predict_texts(&args.models, &strings, args.backend)?
        }
    };
    let rates = sosrisk::screening::rates(&texts, &preds);
    if !args.json {
        println!("\nscreening per group (flagged = high risk or review; see README):\n");
        print!("{}", sosrisk::screening::table(&rates));
    }
    Ok(Some(rates))
}

/// Whether the file has groups of its own (`group` or `source`) or what is expected (`risk`):
/// a screening set, which need not have levels.
fn is_screening_set(path: &std::path::Path) -> Result<bool> {
    Ok(data::has_column(path, "group")?
        || data::has_column(path, "source")?
        || data::has_column(path, "risk")?)
}

pub fn run(args: Args) -> Result<()> {
    if !data::has_column(&args.data, "level")? && is_screening_set(&args.data)? {
        return run_screening_only(&args);
    }
    let mut ds = data::read_labelled(&args.data)?;
    if let Some(split) = &args.split {
        ds = ds.only_split(split)?;
    }
    let (scores, preds) = match args.models.as_slice() {
        [model] => evaluate(&artifact::load(model, &args.backend.device())?, &ds.posts)?,
        models => evaluate_average(models, &ds.posts, args.backend)?,
    };
    let mut report = labelled_report(&args, &ds, scores, &preds)?;
    if let Some(other) = &args.compare {
        report.compared_with = Some((other.display().to_string(), compare(&args, other, &ds, &preds)?));
    }
    if !args.json {
        print!("{}", report.table());
    }
    let rates = screening(&args, Some(&preds))?;
    if args.json {
        let mut out = serde_json::to_value(&report)?;
        if let Some(r) = &rates {
            out["screening"] = serde_json::to_value(r)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    if let Some(r) = &rates {
        write_screening(&args, r)?;
    }
    if let Some(dir) = &args.report {
        report
            .write_dir(dir)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
        if !args.json {
            println!("\nreport written to {}", dir.display());
        }
    }
    Ok(())
}

/// A screening set without labels: only the rates per group.
fn run_screening_only(args: &Args) -> Result<()> {
    let rates = screening(args, None)?.expect("a file without levels is a screening set");
    if args.json {
        let models: Vec<String> = args.models.iter().map(|m| m.display().to_string()).collect();
        let out = json!({ "models": models, "data": args.data.display().to_string(), "screening": rates });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    write_screening(args, &rates)
}

/// The (true, predicted) binary call of each post that has a binary label.
fn binary_calls(ds: &data::Dataset, preds: &[Prediction]) -> Vec<Option<(usize, usize)>> {
    ds.posts
        .iter()
        .zip(preds)
        .map(|(p, q)| p.binary.map(|b| (b, usize::from(q.high_risk))))
        .collect()
}

fn levels(preds: &[Prediction]) -> Vec<usize> {
    preds.iter().map(|p| p.level).collect()
}

/// Scores with their bootstrap intervals, named by the models and the data they came from.
fn labelled_report(
    args: &Args,
    ds: &data::Dataset,
    scores: Scores,
    preds: &[Prediction],
) -> Result<EvalReport> {
    let level_true: Vec<usize> = ds.posts.iter().map(|p| p.level).collect();
    let (bt, bp): (Vec<usize>, Vec<usize>) = binary_calls(ds, preds).into_iter().flatten().unzip();
    let data_name = match &args.split {
        Some(s) => format!("{} (split = {s})", args.data.display()),
        None => args.data.display().to_string(),
    };
    let models: Vec<String> = args.models.iter().map(|m| m.display().to_string()).collect();
    Ok(EvalReport::new(
        scores,
        (models.join(" + "), data_name, data::file_sha256(&args.data)?),
        (&level_true, &levels(preds)),
        ds.has_binary.then_some((&bt[..], &bp[..])),
    ))
}

/// The paired bootstrap of our predictions against those of the model `other` on the same posts.
fn compare(args: &Args, other: &Path, ds: &data::Dataset, preds: &[Prediction]) -> Result<Paired> {
    let theirs = evaluate(&artifact::load(other, &args.backend.device())?, &ds.posts)?.1;
    let level_true: Vec<usize> = ds.posts.iter().map(|p| p.level).collect();
    Ok(sosrisk::bootstrap::paired(
        &EvalReport::calls_of((&level_true, &levels(preds)), &binary_calls(ds, preds)),
        &EvalReport::calls_of((&level_true, &levels(&theirs)), &binary_calls(ds, &theirs)),
    ))
}

/// With --report: `screening.md` and `screening.json` beside the other reports.
fn write_screening(args: &Args, rates: &[GroupRates]) -> Result<()> {
    let Some(dir) = &args.report else { return Ok(()) };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("screening.md"), sosrisk::screening::table(rates))
        .and_then(|()| std::fs::write(dir.join("screening.json"), serde_json::to_vec_pretty(rates)?))
        .with_context(|| format!("writing the screening report to {}", dir.display()))
}
