//! A fixed seed gives the same model twice; another seed gives another model.

mod common;

use burn::prelude::Device;
use sosrisk::train::{Example, Part, TrainConfig, train};

fn tiny_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        max_epochs: 3,
        d_model: 8,
        d_hidden: 8,
        ..TrainConfig::default()
    }
}

/// The trained model's probabilities for a few texts: they depend on every weight.
/// (Record bytes would not do: parameter ids are random per process.)
fn outputs(seed: u64) -> Vec<f32> {
    let rows = common::synthetic_rows(120, 5);
    let examples: Vec<Example> = rows
        .iter()
        .map(|(_, t, l, b)| Example {
            text: t.clone(),
            level: *l,
            binary: Some(*b),
        })
        .collect();
    let (tr, va) = examples.split_at(90);
    let part = Part {
        train: tr.to_vec(),
        val: va.to_vec(),
    };
    let trained = train(&[part], &tiny_config(seed), &Device::flex(), false).unwrap();
    let preds = trained
        .classifier
        .predict(&["今天上班好累", "已经准备好药了", "活着好没意思"])
        .unwrap();
    preds
        .iter()
        .flat_map(|p| p.level_probs.iter().copied().chain([p.high_risk_prob]))
        .collect()
}

#[test]
fn same_seed_same_model() {
    let a = outputs(1);
    assert!(a.iter().all(|p| p.is_finite()));
    assert!(a == outputs(1), "two runs with seed 1 gave different outputs");
    assert!(a != outputs(2), "seeds 1 and 2 gave identical outputs");
}
