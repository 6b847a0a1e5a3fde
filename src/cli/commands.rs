//! What each command does, in terms of the library's stages.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use serde_json::{Value, json};

use sosrisk::artifact;
use sosrisk::data::{self, Post};
use sosrisk::finetune::{Checkpoints, FinetuneConfig, Splits};
use sosrisk::infer::{Classifier, Prediction};
use sosrisk::labels::{self, N_LEVELS};
use sosrisk::metrics::Scores;
use sosrisk::report::EvalReport;
use sosrisk::train::{self, Example, Optimizer, Part, Selection, TrainConfig};

use super::{Augment, Backend, Command, DataArgs, OptimizerArg, SelectOn, TrainArgs};

pub(super) fn device(backend: Backend) -> Device {
    match backend {
        Backend::Flex => Device::flex(),
        Backend::Wgpu => Device::wgpu(Default::default()),
    }
}

pub fn run_command(command: Command) -> Result<()> {
    match command {
        Command::Train {
            args,
            val_fold,
            ensemble,
            seeds,
            out,
        } => {
            let folds: Vec<usize> = if ensemble {
                (0..5).collect()
            } else {
                vec![val_fold]
            };
            train_command(&args, &folds.repeat(seeds.max(1)), &out)
        }
        Command::Eval {
            models,
            data,
            split,
            json,
            report,
            backend,
        } => eval_command(&models, &data, split.as_deref(), json, report.as_deref(), backend),
        Command::Cv { args, out } => cv_command(&args, out.as_deref()),
        Command::Finetune {
            encoder,
            input,
            val_fold,
            epochs,
            patience,
            lr,
            batch_size,
            max_tokens,
            seed,
            freeze_encoder,
            out,
            checkpoint,
            resume,
            backend,
        } => {
            let cfg = FinetuneConfig {
                seed,
                epochs,
                patience,
                learning_rate: lr,
                batch_size,
                max_tokens,
                freeze_encoder,
                ..FinetuneConfig::default()
            };
            let checkpoint = checkpoint.unwrap_or_else(|| out.with_extension("checkpoint"));
            let run = FinetuneRun {
                encoder: &encoder,
                input: &input,
                val_fold,
                checkpoint: &checkpoint,
                resume,
            };
            finetune_command(&run, &cfg, &out, backend)
        }
        Command::Import {
            q4,
            tokenizer,
            texts,
            out,
        } => import_command(&q4, &tokenizer, &texts, &out),
        Command::Predict {
            text,
            file,
            model,
            json,
            explain,
            backend,
        } => predict_command(text, file.as_deref(), &model, json, explain, backend),
        Command::Bench(args) => super::bench::bench_command(&args),
        Command::Export { model, out } => super::bench::export_command(&model, Backend::Flex, &out),
    }
}

fn train_config(args: &TrainArgs) -> TrainConfig {
    TrainConfig {
        seed: args.seed,
        max_epochs: args.epochs,
        patience: args.patience,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        weight_decay: args.weight_decay,
        dropout: args.dropout,
        d_model: args.d_model,
        d_hidden: args.d_hidden,
        min_ngram_docs: args.min_ngram_docs,
        balance_levels: !args.no_balance,
        binary_loss_weight: args.binary_weight,
        optimizer: match args.optimizer {
            OptimizerArg::Adamw => Optimizer::AdamW,
            OptimizerArg::Sgd => Optimizer::Sgd,
        },
        select_on: match args.select_on {
            SelectOn::Loss => Selection::Loss,
            SelectOn::Score => Selection::Score,
        },
        ..TrainConfig::default()
    }
}

/// Training rows of every fold but `val_fold`, plus the augmentation rows made from them.
fn training_examples(input: &DataArgs, posts: &[Post], val_fold: usize) -> Result<Vec<Example>> {
    let mut examples: Vec<Example> = posts.iter().map(Example::from).collect();
    let keep = |method: &str| match input.augment {
        Augment::None => false,
        Augment::Traditional => method != "llm_generation_gpt4",
        Augment::Llm => method == "llm_generation_gpt4",
        Augment::Both => true,
    };
    if input.augment != Augment::None {
        let path = augmentation_path(input);
        let rows = data::read_augmentation(&path)?;
        // Rows made from (or prompted with) validation posts would leak the validation fold.
        examples.extend(
            rows.iter()
                .filter(|r| r.source_fold.is_some_and(|f| f != val_fold) && keep(&r.method))
                .map(Example::from),
        );
    }
    Ok(examples)
}

/// What `training` in a model's config says about its data: files, SHA-256, folds, augmentation.
fn data_info(input: &DataArgs, val_folds: &[usize]) -> Result<Value> {
    let mut info = json!({
        "file": input.data.display().to_string(),
        "sha256": data::file_sha256(&input.data)?,
        "val_folds": val_folds,
        "augment": format!("{:?}", input.augment).to_lowercase(),
    });
    if input.augment != Augment::None {
        let path = augmentation_path(input);
        info["augmentation_file"] = json!(path.display().to_string());
        info["augmentation_sha256"] = json!(data::file_sha256(&path)?);
    }
    Ok(info)
}

fn augmentation_path(input: &DataArgs) -> PathBuf {
    input
        .augmentation
        .clone()
        .unwrap_or_else(|| input.data.with_file_name("augmentation.csv"))
}

fn examples(posts: &[Post]) -> Vec<Example> {
    posts.iter().map(Example::from).collect()
}

fn test_posts(ds: &data::Dataset) -> Vec<Post> {
    ds.posts
        .iter()
        .filter(|p| p.split.as_deref() == Some("test"))
        .cloned()
        .collect()
}

fn evaluate(clf: &Classifier, posts: &[Post]) -> Result<(Scores, Vec<Prediction>)> {
    train::evaluate(clf, &examples(posts)).map_err(|(i, e)| anyhow::anyhow!("post id {}: {e}", posts[i].id))
}

/// Scores the average of several models' predictions (`Prediction::average`), printing each
/// member's own binary and weighted F1 to stderr on the way.
fn evaluate_average(
    models: &[PathBuf],
    posts: &[Post],
    backend: Backend,
) -> Result<(Scores, Vec<Prediction>)> {
    let mut members = Vec::with_capacity(models.len());
    for model in models {
        let clf = artifact::load(model, &device(backend))?;
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

/// Training data of one member: folds other than `val_fold` (and their augmentation), with
/// `val_fold` for early stopping.
fn part(args: &TrainArgs, ds: &data::Dataset, val_fold: usize) -> Result<Part> {
    if val_fold > 4 {
        bail!("--val-fold must be 0 to 4, got {val_fold}");
    }
    let (train_posts, val_posts) = ds.fold_split(val_fold);
    if train_posts.is_empty() || val_posts.is_empty() {
        bail!(
            "{}: need non-test rows both in fold {val_fold} and in other folds (found {} and {}); is the fold column filled?",
            ds.path.display(),
            val_posts.len(),
            train_posts.len()
        );
    }
    Ok(Part {
        train: training_examples(&args.input, &train_posts, val_fold)?,
        val: examples(&val_posts),
    })
}

/// Trains on `val_folds` (one member each); returns the model and each member's score on its
/// own validation fold.
fn fit(args: &TrainArgs, ds: &data::Dataset, val_folds: &[usize]) -> Result<(train::Trained, Vec<Scores>)> {
    let parts: Vec<Part> = val_folds
        .iter()
        .map(|&f| part(args, ds, f))
        .collect::<Result<_>>()?;
    let trained = train::train(&parts, &train_config(args), &device(args.backend), !args.quiet)?;
    let val = trained
        .best_epochs
        .iter()
        .zip(&trained.histories)
        .map(|(best, history)| {
            history[best - 1]
                .val_scores
                .clone()
                .expect("members validate every epoch")
        })
        .collect();
    Ok((trained, val))
}

/// Scores on the rows of the test split, if the data has one.
fn test_scores(clf: &Classifier, ds: &data::Dataset) -> Result<Option<Scores>> {
    let test = test_posts(ds);
    Ok(if test.is_empty() {
        None
    } else {
        Some(evaluate(clf, &test)?.0)
    })
}

/// Trains one member per entry of `folds` (its validation fold) and writes the model directory;
/// the test scores it records are those of the saved weights, read back.
fn train_command(args: &TrainArgs, folds: &[usize], out: &Path) -> Result<()> {
    let ds = data::read_labelled(&args.input.data)?;
    let (trained, vals) = fit(args, &ds, folds)?;
    let val = Scores::mean(&vals);
    let data_info = data_info(&args.input, folds)?;
    let training = json!({
        "settings": train_config(args),
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "data": data_info,
        "best_epochs": trained.best_epochs,
        "sosrisk_version": env!("CARGO_PKG_VERSION"),
    });
    artifact::save(out, &trained.classifier, training.clone())?;
    let saved = artifact::load(out, &device(args.backend))?;
    let test = test_scores(&saved, &ds)?;
    let metrics = json!({
        "validation": val,
        "validation_per_member": vals,
        "test": test,
        "best_epochs": trained.best_epochs,
        "histories": trained.histories,
    });
    let card = artifact::model_card(&saved.manifest, &training, &val, test.as_ref());
    artifact::write_reports(out, &metrics, &card)?;
    println!(
        "best epochs {:?}; model written to {}",
        trained.best_epochs,
        out.display()
    );
    println!("validation (folds {folds:?}): {}", one_line(&val));
    if let Some(t) = &test {
        println!("test:                {}", one_line(t));
    }
    Ok(())
}

fn one_line(s: &Scores) -> String {
    format!(
        "binary F1 {} | level weighted F1 {:.4} | macro F1 {:.4} | accuracy {:.4} | within-1 {:.4} | MAE {:.3}",
        s.binary_f1.map_or("n/a".into(), |v| format!("{v:.4}")),
        s.level_weighted_f1,
        s.level_macro_f1,
        s.level_accuracy,
        s.level_within1_accuracy,
        s.level_mae
    )
}

fn eval_command(
    models: &[PathBuf],
    data_path: &Path,
    split: Option<&str>,
    json: bool,
    report_dir: Option<&Path>,
    backend: Backend,
) -> Result<()> {
    let mut ds = data::read_labelled(data_path)?;
    if let Some(split) = split {
        ds = ds.only_split(split)?;
    }
    let (scores, preds) = match models {
        [model] => evaluate(&artifact::load(model, &device(backend))?, &ds.posts)?,
        _ => evaluate_average(models, &ds.posts, backend)?,
    };
    let level_true: Vec<usize> = ds.posts.iter().map(|p| p.level).collect();
    let level_pred: Vec<usize> = preds.iter().map(|p| p.level).collect();
    let (bt, bp): (Vec<usize>, Vec<usize>) = ds
        .posts
        .iter()
        .zip(&preds)
        .filter_map(|(p, q)| p.binary.map(|b| (b, usize::from(q.high_risk))))
        .unzip();
    let data_name = match split {
        Some(s) => format!("{} (split = {s})", data_path.display()),
        None => data_path.display().to_string(),
    };
    let report = EvalReport::new(
        scores,
        (
            models
                .iter()
                .map(|m| m.display().to_string())
                .collect::<Vec<_>>()
                .join(" + "),
            data_name,
            data::file_sha256(data_path)?,
        ),
        (&level_true, &level_pred),
        ds.has_binary.then_some((&bt[..], &bp[..])),
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    if let Some(dir) = report_dir {
        report
            .write_dir(dir)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
        if !json {
            println!("\nreport written to {}", dir.display());
        }
    }
    Ok(())
}

/// Mean and sample standard deviation of each numeric field across fold results.
fn summarise(runs: &[Scores]) -> Value {
    let values: Vec<Value> = runs
        .iter()
        .map(|s| serde_json::to_value(s).expect("scores serialise"))
        .collect();
    let mut out = serde_json::Map::new();
    for key in values[0].as_object().expect("object").keys() {
        let xs: Vec<f64> = values.iter().filter_map(|v| v[key].as_f64()).collect();
        if xs.is_empty() {
            continue;
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = if xs.len() > 1 {
            xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
        } else {
            0.0
        };
        out.insert(key.clone(), json!({ "mean": mean, "std": var.sqrt() }));
    }
    Value::Object(out)
}

fn cv_command(args: &TrainArgs, out: Option<&Path>) -> Result<()> {
    let ds = data::read_labelled(&args.input.data)?;
    let (mut vals, mut tests) = (Vec::new(), Vec::new());
    for fold in 0..5 {
        let (trained, val) = fit(args, &ds, &[fold])?;
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
        "settings": train_config(args),
        "augment": format!("{:?}", args.input.augment).to_lowercase(),
        "data_sha256": data::file_sha256(&args.input.data)?,
    });
    println!("\nmetric                   validation (5 folds)   test (5 fold models)");
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
    if let Some(out) = out {
        std::fs::write(out, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

struct FinetuneRun<'a> {
    encoder: &'a Path,
    input: &'a DataArgs,
    val_fold: usize,
    checkpoint: &'a Path,
    resume: bool,
}

/// Fine-tunes, saves the model (quantised), reads it back and records the saved model's scores
/// next to the f32 model's, so the cost of quantisation is on record.
fn finetune_command(run: &FinetuneRun, cfg: &FinetuneConfig, out: &Path, backend: Backend) -> Result<()> {
    let ds = data::read_labelled(&run.input.data)?;
    if run.val_fold > 4 {
        bail!("--val-fold must be 0 to 4, got {}", run.val_fold);
    }
    let (train_posts, val_posts) = ds.fold_split(run.val_fold);
    let test = test_posts(&ds);
    let device = device(backend);
    let finetuned = sosrisk::finetune::finetune(
        run.encoder,
        Splits {
            train: &training_examples(run.input, &train_posts, run.val_fold)?,
            val: &examples(&val_posts),
            test: &examples(&test),
        },
        cfg,
        &device,
        Some(Checkpoints {
            dir: run.checkpoint,
            resume: run.resume,
        }),
        true,
    )?;
    let report = &finetuned.report;
    println!("best epoch {}", report.best_epoch);
    let full_val = evaluate(&finetuned.classifier, &val_posts)?.0;
    let full_test = test_scores(&finetuned.classifier, &ds)?;
    let training = json!({
        "settings": cfg,
        "backend": format!("{:?}", backend).to_lowercase(),
        "data": data_info(run.input, &[run.val_fold])?,
        "encoder": finetuned.classifier.manifest.training["encoder_source"],
        "best_epoch": report.best_epoch,
        "quantisation": sosrisk::quant::DEFAULT_POLICY,
        "sosrisk_version": env!("CARGO_PKG_VERSION"),
    });
    artifact::save(out, &finetuned.classifier, training.clone())?;
    let saved = artifact::load(out, &device)?;
    let val = evaluate(&saved, &val_posts)?.0;
    let test = test_scores(&saved, &ds)?;
    println!("validation (fold {}): {}", run.val_fold, one_line(&val));
    if let Some(t) = &test {
        println!("test:                {}", one_line(t));
    }
    if let Some(t) = &full_test {
        println!("test before quantising: {}", one_line(t));
    }
    let metrics = json!({
        "validation": val,
        "test": test,
        "before_quantisation": { "validation": full_val, "test": full_test },
        "argmax_threshold_half": { "validation": report.validation, "test": report.test },
        "calibration": { "level": report.calibration[0], "binary": report.calibration[1] },
        "binary_threshold": report.binary_threshold,
        "epochs": report.epochs,
    });
    let card = artifact::model_card(&saved.manifest, &training, &val, test.as_ref());
    artifact::write_reports(out, &metrics, &card)?;
    println!("model written to {}", out.display());
    Ok(())
}

fn import_command(q4: &Path, tokenizer: &Path, text_files: &[PathBuf], out: &Path) -> Result<()> {
    let mut texts = Vec::new();
    for file in text_files.iter().filter(|f| f.exists()) {
        texts.extend(read_texts(file)?.into_iter().map(|(_, t)| t));
    }
    let summary = sosrisk::import::import(q4, tokenizer, &texts, out)?;
    println!(
        "kept {} of {} pieces ({} used by {} texts); encoder written to {}",
        summary.kept_pieces,
        summary.original_pieces,
        summary.required_pieces,
        texts.len(),
        out.display()
    );
    Ok(())
}

/// Texts to classify with where each came from (for error messages).
pub(super) fn read_texts(file: &Path) -> Result<Vec<(String, String)>> {
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        let rows = data::read_text_column(file)?;
        return Ok(rows
            .into_iter()
            .map(|(line, text)| (format!("{}, line {line}", file.display()), text))
            .collect());
    }
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let mut texts = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw)
            .map_err(|_| anyhow::anyhow!("{}, line {}: not valid UTF-8", file.display(), i + 1))?;
        // Blank lines separate texts in a plain file; they are not texts themselves.
        if !sosrisk::text::is_blank(line) {
            texts.push((format!("{}, line {}", file.display(), i + 1), line.to_string()));
        }
    }
    Ok(texts)
}

fn predict_command(
    text: Option<String>,
    file: Option<&Path>,
    model: &Path,
    json: bool,
    explain: bool,
    backend: Backend,
) -> Result<()> {
    let texts: Vec<(String, String)> = match (text, file) {
        (Some(_), Some(_)) => bail!("give either a text or --file, not both"),
        (Some(t), None) => vec![("the text argument".into(), t)],
        (None, Some(f)) => read_texts(f)?,
        (None, None) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            let all = String::from_utf8(buf).map_err(|e| {
                anyhow::anyhow!(
                    "standard input is not valid UTF-8 (at byte {})",
                    e.utf8_error().valid_up_to()
                )
            })?;
            all.lines()
                .enumerate()
                .filter(|(_, l)| !sosrisk::text::is_blank(l))
                .map(|(i, l)| (format!("standard input, line {}", i + 1), l.to_string()))
                .collect()
        }
    };
    if texts.is_empty() {
        bail!("no text to classify");
    }
    let clf = artifact::load(model, &device(backend))?;
    for chunk in texts.chunks(64) {
        let refs: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
        let preds = clf
            .predict(&refs)
            .map_err(|(i, e)| anyhow::anyhow!("{}: {e}", chunk[i].0))?;
        for (mut pred, (from, text)) in preds.into_iter().zip(chunk) {
            if explain {
                let weights = clf
                    .explain(text, &pred)
                    .map_err(|e| anyhow::anyhow!("{from}: {e}"))?;
                pred.attribution = Some(weights);
            }
            if json {
                println!("{}", serde_json::to_string(&pred)?);
            } else {
                print_prediction(&pred, text, texts.len() == 1);
            }
        }
    }
    Ok(())
}

fn print_prediction(p: &Prediction, text: &str, detailed: bool) {
    println!(
        "level {} ({}, p = {:.3}) | {} risk (p(high) = {:.3}){}",
        p.level,
        p.band,
        p.level_probs[p.level],
        labels::binary_name(usize::from(p.high_risk)),
        p.high_risk_prob,
        if p.truncated {
            format!(" | only the first {} characters were read", p.chars_used)
        } else {
            String::new()
        }
    );
    if detailed {
        for level in 0..N_LEVELS {
            let prob = p.level_probs[level];
            let bar = "█".repeat((prob * 40.0).round() as usize);
            println!(
                "  {level:>2} {prob:5.3} {bar:<40} {}",
                labels::LEVEL_DESCRIPTIONS[level]
            );
        }
        println!("A screening aid, not a diagnosis.");
    }
    if let Some(weights) = &p.attribution {
        let mut ranked: Vec<(char, f32)> = text.chars().zip(weights.iter().copied()).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = ranked
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .take(8)
            .map(|(c, w)| format!("{c} {w:+.3}"))
            .collect();
        println!(
            "  raised P(high) most (P(high) minus P(high) without the character): {}",
            if top.is_empty() {
                "none".into()
            } else {
                top.join(", ")
            }
        );
    }
}
