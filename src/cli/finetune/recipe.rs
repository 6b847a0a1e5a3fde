//! The encoder recipe's options (`finetune` and `cv --encoder` share them) and the run
//! settings they make.

use std::ops::Bound::{Excluded, Included};
use std::path::PathBuf;

use sosrisk::finetune::{Distill, FinetuneConfig};

use super::super::shared::number_in;
use super::super::train::Common;

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
    pub(super) fn index(self) -> usize {
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

fn decay_factor(s: &str) -> Result<f64, String> {
    number_in((Excluded(0.0), Included(1.0)), "a number above 0 and at most 1")(s)
}

fn probability(s: &str) -> Result<f64, String> {
    number_in(0.0..1.0, "a probability from 0 to below 1")(s)
}

fn width(s: &str) -> Result<f64, String> {
    number_in(0.0..=10.0, "a width in levels from 0 to 10")(s)
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

impl Recipe {
    /// Rows per batch of each extra pool, in [`super::Pools::read`]'s order: ordinary texts, hard
    /// ordinary texts, generated posts, generated posts without a suicidal wish.
    pub(super) fn per_batch(&self) -> [usize; 4] {
        [
            self.everyday_per_batch,
            self.everyday_hard_per_batch,
            self.generated_per_batch,
            self.generated_low_per_batch,
        ]
    }
}

/// The command line's common options and recipe, parsed as `finetune` parses them.
#[cfg(test)]
pub(super) fn parsed(args: &[&str]) -> Result<(Common, Recipe), clap::Error> {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        recipe: Recipe,
    }
    Cli::try_parse_from(std::iter::once("finetune").chain(args.iter().copied())).map(|c| (c.common, c.recipe))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> FinetuneConfig {
        let (common, recipe) = parsed(args).unwrap();
        config(&common, &recipe)
    }

    fn recipe(args: &[&str]) -> Recipe {
        parsed(args).unwrap().1
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
            assert!(parsed(&bad).is_err(), "{bad:?}");
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
        assert!(parsed(&["--encoder-dropout", "1"]).is_err());
    }
}
