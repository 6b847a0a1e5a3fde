//! One epoch timed for the benchmark against PyTorch.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use serde::Serialize;

use super::FinetuneConfig;
use super::rows::{Row, batch, encode, labels};
use crate::model::bert::{self, BertClassifier};
use crate::tokenize::PieceTokenizer;
use crate::train::{Example, LossWeights, scalar};

/// One timed training epoch (see [`time_epoch`]).
#[derive(Debug, Clone, Serialize)]
pub struct EpochTiming {
    pub rows: usize,
    pub steps: usize,
    pub seconds: f64,
    pub mean_loss: f64,
}

/// One epoch of full fine-tuning from `start` over `examples` in their order, without shuffling,
/// so that a peer framework can replay exactly the same batches: forward, both heads' loss,
/// backward and an AdamW step per batch, at a constant learning rate. What `sosrisk bench
/// --train` times against PyTorch.
pub fn time_epoch(
    start: &BertClassifier,
    config: &bert::BertConfig,
    tokenizer: &PieceTokenizer,
    examples: &[Example],
    cfg: &FinetuneConfig,
    device: &Device,
) -> Result<EpochTiming, crate::Error> {
    let rows = encode(tokenizer, examples, None)?;
    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    // Loading the record (not moving the module) is what puts the weights on the training device.
    let mut model = BertClassifier::new(config.init(&ad), config.hidden, cfg.dropout, &ad)
        .load_record(start.clone().into_record());
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .init();
    let weights = LossWeights::new(rows.iter().map(|r| r.level), true, 1.0);
    let started = Instant::now();
    let mut total = 0.0;
    let mut steps = 0;
    for chunk in rows.chunks(cfg.batch_size) {
        let refs: Vec<&Row> = chunk.iter().collect();
        let (ids, mask) = batch(&refs, &ad);
        let loss = weights.loss(model.forward(ids, mask), &labels(chunk), &ad);
        // Reading the loss each step, as the training loop does, also waits for the step to finish.
        total += scalar(loss.clone()) * chunk.len() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(cfg.learning_rate, model, grads);
        steps += 1;
    }
    Ok(EpochTiming {
        rows: rows.len(),
        steps,
        seconds: started.elapsed().as_secs_f64(),
        mean_loss: total / rows.len().max(1) as f64,
    })
}
