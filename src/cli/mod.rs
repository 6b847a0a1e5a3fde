//! Command-line parsing: one file per command, each an `Args` struct handed whole to its `run`;
//! what they share (backends, data options, scoring helpers) is in `shared`. The work happens in
//! the library.

mod bench;
mod cv;
mod eval;
mod export;
mod finetune;
mod import;
mod novelty;
mod predict;
mod shared;
mod train;

use clap::{Parser, Subcommand};

/// Suicide-risk screening for short Chinese posts (SOS-1K levels 0–10 and high/low risk).
///
/// A screening aid for trained people, not a diagnosis.
#[derive(Parser)]
#[command(name = "sosrisk", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a model on four folds, select the epoch on the fifth, and write a model directory.
    Train(train::Args),
    /// Evaluate a model on a labelled CSV (id,text,level and optionally binary,split,fold).
    Eval(eval::Args),
    /// 5-fold cross-validation on the non-test rows: the n-gram model, or with --encoder the
    /// fine-tuned encoder (fold models, out-of-fold predictions, resumable).
    Cv(cv::Args),
    /// Import multilingual-e5-small (4-bit file and tokenizer.json; `scripts/fetch-e5.sh` fetches
    /// them) into a burn encoder directory with a vocabulary pruned for Chinese text.
    Import(import::Args),
    /// Fine-tune an imported encoder with both heads on folds ≠ --val-fold, select the epoch,
    /// calibrate and pick the threshold on it, and write a model directory (quantised weights).
    Finetune(finetune::Args),
    /// Time loading and classifying (batch 1 and 32) on each backend, with peak memory;
    /// optionally a training epoch and a long run's memory. Each model and backend runs in a
    /// process of its own.
    Bench(bench::Args),
    /// Write a model's weights as SafeTensors in PyTorch's layout (f32), for the peer benchmarks.
    Export(export::Args),
    /// Classify texts: an argument, --file (one text per line, or a CSV with a text column), or stdin.
    Predict(predict::Args),
    /// Give an encoder model landmarks of the texts it learned from, so that every answer says
    /// when a text is unlike them (fitted on its training texts, threshold on held-out posts).
    Novelty(novelty::Args),
}

pub fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Cv(args) => cv::run(args),
        Command::Import(args) => import::run(args),
        Command::Finetune(args) => finetune::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Export(args) => export::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Novelty(args) => novelty::run(args),
    }
}
