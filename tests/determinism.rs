//! A fixed seed gives the same model twice; another seed gives another model.

mod common;

use burn::module::Module;
use burn::prelude::Device;
use sosrisk::train::{Example, TrainConfig, train};

fn tiny_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        max_epochs: 3,
        d_model: 8,
        d_hidden: 8,
        ..TrainConfig::default()
    }
}

fn weights(seed: u64) -> Vec<u8> {
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
    let trained = train(tr, va, &tiny_config(seed), &Device::flex(), false).unwrap();
    trained
        .classifier
        .model()
        .clone()
        .into_record()
        .into_bytes()
        .unwrap()
        .to_vec()
}

#[test]
fn same_seed_same_weights() {
    let a = weights(1);
    assert_eq!(a, weights(1), "two runs with seed 1 differ");
    assert_ne!(a, weights(2), "seeds 1 and 2 gave identical weights");
}
