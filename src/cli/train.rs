//! `sosrisk train`: the n-gram model on four folds (or an ensemble of fold members), and the
//! training options that `cv` shares.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::ValueEnum;
use serde_json::json;

use sosrisk::artifact;
use sosrisk::data;
use sosrisk::metrics::Scores;
use sosrisk::train::{self, Optimizer, Part, Selection, TrainConfig};

use super::shared::{Backend, DataArgs, examples, fold_number, one_line, test_scores};

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum SelectOn {
    /// Lowest validation loss (the paper's protocol).
    Loss,
    /// Highest mean of binary F1 and level weighted F1 on the validation fold.
    Score,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum OptimizerArg {
    Adamw,
    Sgd,
}

/// Options every trainer takes. The numeric ones have a default per model (shown as n-gram /
/// encoder), so that `cv` can take them for either.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    #[command(flatten)]
    pub input: DataArgs,
    /// [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// At most this many epochs [default: 60 / 6].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop after this many epochs without a better validation score [default: 15 / 4].
    #[arg(long)]
    pub patience: Option<usize>,
    /// [default: 32 / 16]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// [default: 0.02 / 5e-5]
    #[arg(long)]
    pub lr: Option<f64>,
    /// [default: 1e-4 / 0.01]
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// [default: 0.3 / 0.1]
    #[arg(long)]
    pub dropout: Option<f64>,
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of the n-gram model only.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "n-gram model")]
pub struct NgramArgs {
    #[arg(long, default_value_t = 64)]
    pub d_model: usize,
    #[arg(long, default_value_t = 128)]
    pub d_hidden: usize,
    /// Keep bigrams and trigrams found in at least this many training texts.
    #[arg(long, default_value_t = 2)]
    pub min_ngram_docs: usize,
    #[arg(long, value_enum, default_value = "sgd")]
    pub optimizer: OptimizerArg,
    /// Weight of the binary head's loss relative to the level head's.
    #[arg(long, default_value_t = 1.0)]
    pub binary_weight: f64,
    /// What picks the best epoch on the validation fold.
    #[arg(long, value_enum, default_value = "score")]
    pub select_on: SelectOn,
    /// Do not weigh rare levels up in the loss.
    #[arg(long)]
    pub no_balance: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub ngram: NgramArgs,
    /// Fold used for early stopping (the paper's authors used fold 3 of our CSV).
    #[arg(long, default_value_t = 3, conflicts_with = "ensemble", value_parser = fold_number)]
    pub val_fold: usize,
    /// Train five members, each on four folds with early stopping on the fifth, and average
    /// them: uses every training post, and no member sees the fold that stopped it.
    #[arg(long)]
    pub ensemble: bool,
    /// Members per fold (each with its own seed).
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Output model directory.
    #[arg(long, default_value = "runs/model")]
    pub out: PathBuf,
}

pub fn config(common: &Common, ngram: &NgramArgs) -> TrainConfig {
    let d = TrainConfig::default();
    TrainConfig {
        seed: common.seed.unwrap_or(d.seed),
        max_epochs: common.epochs.unwrap_or(d.max_epochs),
        patience: common.patience.unwrap_or(d.patience),
        batch_size: common.batch_size.unwrap_or(d.batch_size),
        learning_rate: common.lr.unwrap_or(d.learning_rate),
        weight_decay: common.weight_decay.unwrap_or(d.weight_decay),
        dropout: common.dropout.unwrap_or(d.dropout),
        d_model: ngram.d_model,
        d_hidden: ngram.d_hidden,
        min_ngram_docs: ngram.min_ngram_docs,
        balance_levels: !ngram.no_balance,
        binary_loss_weight: ngram.binary_weight,
        optimizer: match ngram.optimizer {
            OptimizerArg::Adamw => Optimizer::AdamW,
            OptimizerArg::Sgd => Optimizer::Sgd,
        },
        select_on: match ngram.select_on {
            SelectOn::Loss => Selection::Loss,
            SelectOn::Score => Selection::Score,
        },
        ..d
    }
}

/// Training data of one member: folds other than `val_fold` (and their augmentation), with
/// `val_fold` for early stopping.
fn part(common: &Common, ds: &data::Dataset, val_fold: usize) -> Result<Part> {
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
        train: common.input.training_examples(&train_posts, Some(val_fold))?,
        val: examples(&val_posts),
    })
}

/// Trains on `val_folds` (one member each); returns the model and each member's score on its
/// own validation fold.
pub fn fit(
    common: &Common,
    ngram: &NgramArgs,
    ds: &data::Dataset,
    val_folds: &[usize],
) -> Result<(train::Trained, Vec<Scores>)> {
    let parts: Vec<Part> = val_folds
        .iter()
        .map(|&f| part(common, ds, f))
        .collect::<Result<_>>()?;
    let trained = train::train(
        &parts,
        &config(common, ngram),
        &common.backend.device(),
        !common.quiet,
    )?;
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

/// Trains one member per validation fold and writes the model directory; the test scores it
/// records are those of the saved weights, read back.
pub fn run(args: Args) -> Result<()> {
    let folds: Vec<usize> = if args.ensemble {
        (0..data::FOLDS).collect()
    } else {
        vec![args.val_fold]
    };
    let folds = folds.repeat(args.seeds.max(1));
    let common = &args.common;
    let ds = data::read_labelled(&common.input.data)?;
    let (trained, vals) = fit(common, &args.ngram, &ds, &folds)?;
    let val = Scores::mean(&vals);
    let training = json!({
        "settings": config(common, &args.ngram),
        "backend": common.backend.name(),
        "data": common.input.info(&folds)?,
        "best_epochs": trained.best_epochs,
        "sosrisk_version": env!("CARGO_PKG_VERSION"),
    });
    artifact::save(&args.out, &trained.classifier, training.clone())?;
    let saved = artifact::load(&args.out, &common.backend.device())?;
    let test = test_scores(&saved, &ds)?;
    let metrics = json!({
        "validation": val,
        "validation_per_member": vals,
        "test": test,
        "best_epochs": trained.best_epochs,
        "histories": trained.histories,
    });
    let card = artifact::model_card(
        &saved.manifest,
        &training,
        ("validation fold", &val),
        test.as_ref(),
    );
    artifact::write_reports(&args.out, &metrics, &card)?;
    println!(
        "best epochs {:?}; model written to {}",
        trained.best_epochs,
        args.out.display()
    );
    println!("validation (folds {folds:?}): {}", one_line(&val));
    if let Some(t) = &test {
        println!("test:                {}", one_line(t));
    }
    Ok(())
}
