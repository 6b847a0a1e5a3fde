//! Distillation's teacher: the fold models of a `cv --encoder` run, and which of a run's texts
//! take its targets.

use std::path::Path;

use anyhow::{Context, Result};

use sosrisk::artifact;
use sosrisk::data;
use sosrisk::finetune::Soft;
use sosrisk::infer::{Classifier, Prediction};
use sosrisk::train::Example;

use super::pools::Pools;
use super::predict_all;
use super::recipe::{LlmPool, Recipe};

/// The fold models of a `cv --encoder` run, as a teacher.
pub struct Teacher {
    models: Vec<Classifier>,
    thresholds: Vec<f32>,
}

impl Teacher {
    /// Fold `val_fold`'s model alone (it never saw that fold), or all five for a final run.
    pub fn load(dir: &Path, val_fold: Option<usize>, device: &burn::prelude::Device) -> Result<Self> {
        let folds: Vec<usize> = match val_fold {
            Some(f) => vec![f],
            None => (0..data::FOLDS).collect(),
        };
        let mut models = Vec::new();
        for f in folds {
            let path = super::super::cv::fold_model_dir(dir, f);
            models.push(artifact::load(&path, device).with_context(|| format!("teacher fold {f}"))?);
        }
        let thresholds = models.iter().map(|m| m.manifest.binary_threshold).collect();
        Ok(Self { models, thresholds })
    }

    /// The teacher's mean probabilities for each text, softened at `temperature`.
    pub fn targets(&self, examples: &[Example], temperature: f64) -> Result<Vec<Soft>> {
        let per_model: Vec<Vec<Prediction>> = self
            .models
            .iter()
            .map(|m| predict_all(m, examples))
            .collect::<Result<_>>()?;
        Ok((0..examples.len())
            .map(|i| {
                let members: Vec<(&Prediction, f32)> = per_model
                    .iter()
                    .zip(&self.thresholds)
                    .map(|(p, &t)| (&p[i], t))
                    .collect();
                let mean = Prediction::average(&members);
                Soft::soften(&mean.level_probs, mean.high_risk_prob, temperature)
            })
            .collect())
    }
}

/// Pools' teacher targets, one slot per pool (`None` where the recipe takes none).
pub(super) type PoolTargets = [Option<Vec<Soft>>; 4];

/// Which pools (in [`Recipe::per_batch`]'s order) take the teacher's targets: the LLM-written
/// posts, whose labels are not trusted, unless `--untaught` names them. The ordinary texts keep
/// their hard label (level 0, low): they are there to teach what the tree hole cannot, and a
/// teacher trained on the tree hole alone calls most of them high risk.
fn taught_pools(recipe: &Recipe) -> [bool; 4] {
    let mut taught = [false, false, true, true];
    for p in recipe.untaught.iter().filter(|p| **p != LlmPool::GeneratedHigh) {
        taught[p.index()] = false;
    }
    taught
}

/// The teacher's targets for the training posts and each LLM-written pool the recipe takes,
/// when it has a teacher.
pub(super) fn teacher_targets(
    recipe: &Recipe,
    (train, pools): (&[Example], &Pools),
    val_fold: Option<usize>,
    device: &burn::prelude::Device,
) -> Result<(Option<Vec<Soft>>, PoolTargets)> {
    let Some(dir) = &recipe.teacher else {
        return Ok((None, [None, None, None, None]));
    };
    let teacher = Teacher::load(dir, val_fold, device)?;
    let t = recipe.distill_temperature;
    eprintln!("teacher: scoring {} posts and the pools …", train.len());
    let mut soft: PoolTargets = [None, None, None, None];
    let taught = taught_pools(recipe);
    for (k, n) in recipe.per_batch().into_iter().enumerate() {
        if n > 0 && taught[k] {
            let mut targets = teacher.targets(&pools.pools[k], t)?;
            if k == LlmPool::GeneratedHigh.index() && recipe.untaught.contains(&LlmPool::GeneratedHigh) {
                keep_high_labels(&mut targets, &pools.pools[k]);
            }
            soft[k] = Some(targets);
        }
    }
    Ok((Some(teacher.targets(train, t)?), soft))
}

/// The rows labelled high get their own label as the target: the soft loss then pulls them
/// towards it, not towards the teacher's reading.
fn keep_high_labels(targets: &mut [Soft], rows: &[Example]) {
    for (target, e) in targets.iter_mut().zip(rows) {
        if e.binary == Some(1) {
            *target = Soft::one_hot(e.level, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(args: &[&str]) -> Recipe {
        super::super::recipe::parsed(args).unwrap().1
    }

    #[test]
    fn untaught_pools_keep_their_hard_labels() {
        assert_eq!(taught_pools(&recipe(&[])), [false, false, true, true]);
        assert_eq!(
            taught_pools(&recipe(&["--untaught", "generated"])),
            [false, false, false, true]
        );
        let both = recipe(&["--untaught", "generated,generated-low"]);
        assert_eq!(taught_pools(&both), [false, false, false, false]);
        // Only the high-risk part of the pool: the pool itself is still taught.
        assert_eq!(
            taught_pools(&recipe(&["--untaught", "generated-high"])),
            [false, false, true, true]
        );
    }

    #[test]
    fn posts_labelled_high_are_taught_their_own_label() {
        let row = |level, binary| Example {
            text: "synthetic".into(),
            level,
            binary,
        };
        let rows = [row(9, Some(1)), row(5, None), row(2, Some(0))];
        let teacher = Soft::soften(&[0.1; 11], 0.2, 2.0);
        let mut targets = vec![teacher.clone(); 3];
        keep_high_labels(&mut targets, &rows);
        assert_eq!(targets[0], Soft::one_hot(9, 1));
        assert_eq!(&targets[1..], &[teacher.clone(), teacher]);
    }
}
