//! The texts a run learns from beside SOS-1K's posts: ordinary texts of the everyday pool (and
//! the hard ones among them), posts written by GPT-4 to the level definitions, and the held-out
//! watch set of ordinary texts.

use std::path::Path;

use anyhow::{Context, Result};

use sosrisk::data::{self, Post};
use sosrisk::finetune::Soft;
use sosrisk::train::{Example, Rng};

use super::super::train::Common;
use super::recipe::Recipe;
use super::teacher::PoolTargets;

/// Which of its levels a generated post's binary label can be read from: where SOS-1K's own
/// labels agree with the level at least 89 % of the time (levels 0–2 and 4 low, 7–10 high);
/// levels 3, 5 and 6 stay unlabelled.
fn generated_binary(level: usize) -> Option<usize> {
    match level {
        0..=2 | 4 => Some(0),
        7..=10 => Some(1),
        _ => None,
    }
}

/// Words that, in a tree hole, go with risk, and in ordinary text mostly do not: death words of
/// everyday hyperbole (累死, 笑死, 气死), sadness and strain, and the places and things of
/// methods in ordinary use (a building's floors, a river, a knife, medicine, rope, charcoal). An
/// ordinary text with one of them is the kind the tree-hole model flags; these are taken from the
/// everyday pool's train split, so the model sees them as what they are. Chosen from what the
/// words mean, not from any test set.
pub const HARD_ORDINARY_CUES: &[&str] = &[
    "死", "活", "累", "烦", "哭", "难过", "伤心", "绝望", "崩溃", "要命", "郁闷", "失望", "痛苦", "跳", "楼",
    "刀", "药", "绳", "河", "桥", "炭", "再见", "最后", "离开",
];

/// The train split of the ordinary texts in a fixed order, whatever the seed: the watch set
/// is its first rows and the pool the next, so neither changes between runs (and `novelty`
/// finds the texts a model learned from).
pub fn ordinary_train_split(path: &Path) -> Result<Vec<Post>> {
    let ds = data::read_labelled(path).context("the ordinary texts (--everyday)")?;
    let mut train: Vec<Post> = (ds.posts.into_iter())
        .filter(|p| p.split.as_deref() == Some("train"))
        .collect();
    Rng(0x5eed_e7e2).shuffle(&mut train);
    Ok(train)
}

/// The augmentation pool's posts written by GPT-4 that a model validated on `val_fold` may learn
/// from: rows prompted with that fold's posts would leak it.
pub fn gpt4_rows(path: &Path, val_fold: Option<usize>) -> Result<Vec<data::AugmentedPost>> {
    Ok(data::read_augmentation(path)?
        .into_iter()
        .filter(|r| r.method == "llm_generation_gpt4" && r.source_fold.is_some_and(|f| Some(f) != val_fold))
        .collect())
}

/// The extra texts of a run: the pools (ordinary texts, hard ordinary texts, generated posts;
/// empty where the recipe takes none) and the held-out watch set of ordinary texts.
pub struct Pools {
    pub pools: [Vec<Example>; 4],
    pub watch: Vec<Example>,
}

impl Pools {
    pub fn read(recipe: &Recipe, common: &Common, val_fold: Option<usize>) -> Result<Self> {
        let [everyday_n, hard_n, generated_n, low_n] = recipe.per_batch();
        let (mut everyday, mut hard, mut watch) = (Vec::new(), Vec::new(), Vec::new());
        if everyday_n > 0 || hard_n > 0 || recipe.watch > 0 {
            let train = ordinary_train_split(&recipe.everyday)?;
            let as_low = |p: &Post| Example {
                text: p.text.clone(),
                level: 0,
                binary: Some(0),
            };
            watch = train.iter().take(recipe.watch).map(as_low).collect();
            let rest = &train[recipe.watch.min(train.len())..];
            if everyday_n > 0 {
                everyday = rest.iter().take(recipe.everyday_rows).map(as_low).collect();
            }
            if hard_n > 0 {
                hard = rest
                    .iter()
                    .filter(|p| HARD_ORDINARY_CUES.iter().any(|c| p.text.contains(c)))
                    .map(as_low)
                    .collect();
            }
        }
        let mut generated = Vec::new();
        if generated_n > 0 || low_n > 0 {
            let path = common.input.augmentation_path();
            generated = gpt4_rows(&path, val_fold)?
                .into_iter()
                .map(|r| Example {
                    binary: generated_binary(r.level),
                    text: r.text,
                    level: r.level,
                })
                .collect();
        }
        let low = if low_n > 0 {
            generated.iter().filter(|e| e.level <= 3).cloned().collect()
        } else {
            Vec::new()
        };
        if generated_n == 0 {
            generated.clear();
        }
        Ok(Self {
            pools: [everyday, hard, generated, low],
            watch,
        })
    }

    /// The pools the recipe takes rows of, in [`super::config`]'s order, each with its teacher
    /// targets.
    pub(super) fn in_order<'a>(
        &'a self,
        recipe: &Recipe,
        soft: &'a PoolTargets,
    ) -> Vec<(&'a [Example], Option<&'a [Soft]>)> {
        recipe
            .per_batch()
            .iter()
            .zip(self.pools.iter().zip(soft))
            .filter(|(n, _)| **n > 0)
            .map(|(_, (pool, soft))| (pool.as_slice(), soft.as_deref()))
            .collect()
    }
}
