//! What the commands share: the backend choice, the data options, reading texts, and scoring a
//! classifier on posts.

use std::fmt::Display;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result};
use burn::prelude::Device;
use clap::ValueEnum;
use serde_json::{Value, json};

use sosrisk::data::{self, Post};
use sosrisk::infer::{Classifier, Prediction};
use sosrisk::metrics::Scores;
use sosrisk::train::{self, Example};

pub const DEFAULT_DATA: &str = "../shared/data/sos1k/sos1k.csv";
pub const DEFAULT_MODEL: &str = "models/char-ngram";

/// Clap's parser for a number in `range`, so that a value out of it is refused before any work,
/// saying what was `expected`.
pub fn number_in<T, R>(range: R, expected: impl Display) -> impl Fn(&str) -> Result<T, String>
where
    T: FromStr + PartialOrd,
    R: RangeBounds<T>,
{
    move |s| match s.parse::<T>() {
        Ok(x) if range.contains(&x) => Ok(x),
        _ => Err(format!("expected {expected}, got {s:?}")),
    }
}

/// Clap's parser for a fold number, so that a fold outside the data is refused before any work.
pub fn fold_number(s: &str) -> Result<usize, String> {
    number_in(0..data::FOLDS, format!("a fold from 0 to {}", data::FOLDS - 1))(s)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Backend {
    /// burn's pure-Rust CPU backend.
    Flex,
    /// burn's wgpu backend (Vulkan natively; lavapipe without a GPU).
    Wgpu,
}

impl Backend {
    pub fn device(self) -> Device {
        match self {
            Backend::Flex => Device::flex(),
            Backend::Wgpu => Device::wgpu(Default::default()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }
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

impl DataArgs {
    pub fn augmentation_path(&self) -> PathBuf {
        self.augmentation
            .clone()
            .unwrap_or_else(|| self.data.with_file_name("augmentation.csv"))
    }

    /// Training rows of every fold but `val_fold`, plus the augmentation rows made from them.
    pub fn training_examples(&self, posts: &[Post], val_fold: Option<usize>) -> Result<Vec<Example>> {
        let mut out = examples(posts);
        let keep = |method: &str| match self.augment {
            Augment::None => false,
            Augment::Traditional => method != "llm_generation_gpt4",
            Augment::Llm => method == "llm_generation_gpt4",
            Augment::Both => true,
        };
        if self.augment != Augment::None {
            let rows = data::read_augmentation(&self.augmentation_path())?;
            // Rows made from (or prompted with) validation posts would leak the validation fold.
            out.extend(
                rows.iter()
                    .filter(|r| r.source_fold.is_some_and(|f| Some(f) != val_fold) && keep(&r.method))
                    .map(Example::from),
            );
        }
        Ok(out)
    }

    /// What `training` in a model's config says about its data: files, SHA-256, folds, augmentation.
    pub fn info(&self, val_folds: &[usize]) -> Result<Value> {
        let mut info = json!({
            "file": self.data.display().to_string(),
            "sha256": data::file_sha256(&self.data)?,
            "val_folds": val_folds,
            "augment": format!("{:?}", self.augment).to_lowercase(),
        });
        if self.augment != Augment::None {
            let path = self.augmentation_path();
            info["augmentation_file"] = json!(path.display().to_string());
            info["augmentation_sha256"] = json!(data::file_sha256(&path)?);
        }
        Ok(info)
    }
}

pub fn examples(posts: &[Post]) -> Vec<Example> {
    posts.iter().map(Example::from).collect()
}

pub fn test_posts(ds: &data::Dataset) -> Vec<Post> {
    ds.posts
        .iter()
        .filter(|p| p.split.as_deref() == Some("test"))
        .cloned()
        .collect()
}

pub fn evaluate(clf: &Classifier, posts: &[Post]) -> Result<(Scores, Vec<Prediction>)> {
    train::evaluate(clf, &examples(posts))
        .map_err(|e| anyhow::anyhow!("post id {}: {}", posts[e.index].id, e.error))
}

/// Scores on the rows of the test split, if the data has one.
pub fn test_scores(clf: &Classifier, ds: &data::Dataset) -> Result<Option<Scores>> {
    let test = test_posts(ds);
    Ok(if test.is_empty() {
        None
    } else {
        Some(evaluate(clf, &test)?.0)
    })
}

pub fn one_line(s: &Scores) -> String {
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

/// Texts to classify with where each came from (for error messages): any file the page reads
/// ([`sosrisk::table`]: CSV, TSV, TXT in UTF-8, UTF-16 or GB18030, or an .xlsx workbook), its
/// `column` (default `text`) or, for plain text, each non-blank line.
pub fn read_texts(file: &Path) -> Result<Vec<(String, String)>> {
    read_table_texts(file, None, None)
}

/// [`read_texts`] with a chosen text column and sheet.
pub fn read_table_texts(
    file: &Path,
    column: Option<&str>,
    sheet: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let name = file.display().to_string();
    let table = sosrisk::table::read(&name, &bytes, sheet)?;
    let col = table.text_column(column)?;
    let row_word = if matches!(table.format, sosrisk::table::Format::Xlsx { .. }) {
        "row"
    } else {
        "line"
    };
    Ok(table
        .texts(col)
        .map(|(line, text)| (format!("{name}, {row_word} {line}"), text.to_string()))
        .collect())
}

/// Mean and sample standard deviation of each numeric field across fold results.
pub fn summarise(runs: &[Scores]) -> Value {
    let values: Vec<Value> = runs
        .iter()
        .map(|s| serde_json::to_value(s).expect("scores serialise"))
        .collect();
    let mut out = serde_json::Map::new();
    let Some(first) = values.first() else {
        return Value::Null;
    };
    for key in first.as_object().expect("object").keys() {
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

#[cfg(test)]
mod tests {
    use std::ops::Bound::{Excluded, Included};

    use super::*;

    #[test]
    fn a_number_out_of_its_range_is_refused_saying_what_was_expected() {
        let decay = number_in((Excluded(0.0), Included(1.0)), "a number above 0 and at most 1");
        assert_eq!(decay("1"), Ok(1.0));
        assert_eq!(decay("0.9"), Ok(0.9));
        for bad in ["0", "1.5", "NaN", "", "x"] {
            let err = decay(bad).unwrap_err();
            assert_eq!(
                err,
                format!("expected a number above 0 and at most 1, got {bad:?}")
            );
        }
        assert_eq!(fold_number("4"), Ok(4));
        assert_eq!(
            fold_number("5").unwrap_err(),
            "expected a fold from 0 to 4, got \"5\""
        );
    }
}
