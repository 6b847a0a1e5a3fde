//! `sosrisk eval`: one model, or the average of several, on a labelled CSV.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use sosrisk::artifact;
use sosrisk::bootstrap::Paired;
use sosrisk::data::{self, Post, ScreeningText};
use sosrisk::infer::Prediction;
use sosrisk::metrics::Scores;
use sosrisk::operating_points::Point;
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
    /// Only rows of this cross-validation fold (e.g. 3, the validation fold the shipped
    /// model's threshold was chosen on).
    #[arg(long)]
    pub fold: Option<usize>,
    /// Also print the operating points at these binary thresholds (comma-separated, e.g.
    /// 0.3,0.4,0.5): high-risk posts called high and flagged, low-risk posts flagged, and for
    /// a screening set each group's flagged share. The model's own threshold is always added.
    #[arg(long, value_delimiter = ',')]
    pub thresholds: Vec<f32>,
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
    let examples = examples(posts);
    let preds = averaged(models, &examples, backend, |model, preds| {
        let scores = train::score(&examples, preds);
        eprintln!(
            "{}: binary F1 {} | level weighted F1 {:.4}",
            model.display(),
            scores.binary_f1.map_or("n/a".into(), |f| format!("{f:.4}")),
            scores.level_weighted_f1
        );
    })?;
    Ok((train::score(&examples, &preds), preds))
}

/// Each text's prediction averaged over `models` (`Prediction::average`, each member at its
/// own threshold), every member's own predictions handed to `member` on the way.
fn averaged(
    models: &[PathBuf],
    examples: &[train::Example],
    backend: Backend,
    mut member: impl FnMut(&Path, &[Prediction]),
) -> Result<Vec<Prediction>> {
    let mut members = Vec::with_capacity(models.len());
    for model in models {
        let clf = artifact::load(model, &backend.device())?;
        let preds = super::finetune::predict_all(&clf, examples)?;
        member(model, &preds);
        members.push((preds, clf.manifest.binary_threshold));
    }
    Ok((0..examples.len())
        .map(|i| {
            let of_text: Vec<(&Prediction, f32)> = members.iter().map(|(p, t)| (&p[i], *t)).collect();
            Prediction::average(&of_text)
        })
        .collect())
}

/// Each unlabelled text's prediction: one model's, or the average of several models'.
fn predict_texts(models: &[PathBuf], texts: &[String], backend: Backend) -> Result<Vec<Prediction>> {
    let examples: Vec<train::Example> = texts
        .iter()
        .map(|t| train::Example {
            text: t.clone(),
            level: 0,
            binary: None,
        })
        .collect();
    averaged(models, &examples, backend, |_, _| {})
}

/// A screening set's texts with their predictions.
type Screened = (Vec<ScreeningText>, Vec<Prediction>);

/// The screening rates per group, when the file has groups (a `group` or `source` column) or
/// no levels (a robustness set): printed as a table, returned for the JSON report with the
/// texts and predictions they came from.
fn screening(args: &Args, known: Option<&[Prediction]>) -> Result<Option<(Vec<GroupRates>, Screened)>> {
    if !is_screening_set(&args.data)? {
        return Ok(None);
    }
    if args.fold.is_some() {
        bail!(
            "--fold selects posts of SOS-1K's cross-validation folds; {} is a screening set",
            args.data.display()
        );
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
    Ok(Some((rates, (texts, preds))))
}

/// With --thresholds: the operating points (the model's own threshold added), printed.
fn operating_points(
    args: &Args,
    preds: &[Prediction],
    binary: &[Option<usize>],
    screened: Option<&[ScreeningText]>,
) -> Result<Option<Vec<Point>>> {
    if args.thresholds.is_empty() {
        return Ok(None);
    }
    // Several models are averaged against the mean of their thresholds (`Prediction::average`).
    let mut own = 0.0;
    for m in &args.models {
        own += artifact::read_manifest(m)?.binary_threshold / args.models.len() as f32;
    }
    let mut thresholds = args.thresholds.clone();
    thresholds.push(own);
    if let Some(t) = thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
        bail!("--thresholds: {t} is not a probability between 0 and 1");
    }
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let points = sosrisk::operating_points::points(preds, binary, screened, &thresholds);
    if !args.json {
        println!("\noperating points (the model's threshold among them; flagged = high risk or review):\n");
        print!("{}", sosrisk::operating_points::table(&points));
    }
    Ok(Some(points))
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
    if let Some(fold) = args.fold {
        ds = ds.only_fold(fold)?;
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
    let screened = screening(&args, Some(&preds))?;
    let binary: Vec<Option<usize>> = ds.posts.iter().map(|p| p.binary).collect();
    let texts = screened.as_ref().map(|(_, (t, _))| t.as_slice());
    let points = operating_points(&args, &preds, &binary, texts)?;
    if args.json {
        let mut out = serde_json::to_value(&report)?;
        if let Some((r, _)) = &screened {
            out["screening"] = serde_json::to_value(r)?;
        }
        if let Some(p) = &points {
            out["operating_points"] = serde_json::to_value(p)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    if let Some((r, _)) = &screened {
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
    let (rates, (texts, preds)) = screening(args, None)?.expect("a file without levels is a screening set");
    let points = operating_points(args, &preds, &vec![None; preds.len()], Some(&texts))?;
    if args.json {
        let models: Vec<String> = args.models.iter().map(|m| m.display().to_string()).collect();
        let out = json!({ "models": models, "data": args.data.display().to_string(), "screening": rates,
            "operating_points": points });
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
    let filters: Vec<String> = [
        args.split.as_ref().map(|s| format!("split = {s}")),
        args.fold.map(|f| format!("fold = {f}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let data_name = match filters.as_slice() {
        [] => args.data.display().to_string(),
        f => format!("{} ({})", args.data.display(), f.join(", ")),
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
