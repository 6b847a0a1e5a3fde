//! Fine-tuning an imported encoder (`sosrisk import`) with the two heads: AdamW with linear
//! warm-up and decay, early stopping on the validation fold, scores on validation and test.
//! A first step towards the pretrained model: it reports scores but does not yet write a model
//! directory the classifier and web app can load.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokenizers::Tokenizer;

use crate::import::{ImportError, ImportedEncoder, QUERY_PREFIX};
use crate::metrics::Scores;
use crate::model::bert::BertClassifier;
use crate::train::{Example, LossWeights, Rng, argmax_rows, scalar};

#[derive(Debug, Error)]
pub enum FinetuneError {
    #[error(transparent)]
    Encoder(#[from] ImportError),
    #[error(transparent)]
    Text(#[from] crate::Error),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub seed: u64,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Share of all steps spent warming the learning rate up from 0.
    pub warmup: f64,
    pub weight_decay: f64,
    pub dropout: f64,
    /// Tokens per text, including `<s>` and `</s>` (posts: p99 about 100 tokens).
    pub max_tokens: usize,
    /// Train only the heads (the cheap ablation).
    pub freeze_encoder: bool,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            epochs: 6,
            patience: 2,
            batch_size: 16,
            learning_rate: 5e-5,
            warmup: 0.1,
            weight_decay: 0.01,
            dropout: 0.1,
            max_tokens: 160,
            freeze_encoder: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneReport {
    pub settings: FinetuneConfig,
    pub best_epoch: usize,
    pub validation: Scores,
    pub test: Option<Scores>,
    /// Per epoch: mean training loss, validation scores, seconds.
    pub epochs: Vec<(f64, Scores, f64)>,
}

struct Row {
    ids: Vec<u32>,
    level: usize,
    binary: Option<usize>,
}

fn encode(tokenizer: &Tokenizer, examples: &[Example], max_tokens: usize) -> Result<Vec<Row>, crate::Error> {
    examples
        .iter()
        .map(|e| {
            let encoding = tokenizer
                .encode(format!("{QUERY_PREFIX}{}", e.text), true)
                .map_err(|err| crate::Error::Tokenizer {
                    what: "encoding text".into(),
                    detail: err.to_string(),
                })?;
            let mut ids = encoding.get_ids().to_vec();
            if ids.len() > max_tokens {
                // Keep `</s>` at the end, as the encoder saw in pre-training.
                let end = *ids.last().expect("non-empty");
                ids.truncate(max_tokens - 1);
                ids.push(end);
            }
            Ok(Row {
                ids,
                level: e.level,
                binary: e.binary,
            })
        })
        .collect()
}

/// Pads to the longest text with `<pad>` (id 1) and a 0 mask.
fn batch(rows: &[&Row], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let len = rows.iter().map(|r| r.ids.len()).max().unwrap_or(1);
    let mut ids = vec![1i64; rows.len() * len];
    let mut mask = vec![0f32; rows.len() * len];
    for (i, row) in rows.iter().enumerate() {
        for (j, &id) in row.ids.iter().enumerate() {
            ids[i * len + j] = i64::from(id);
            mask[i * len + j] = 1.0;
        }
    }
    (
        Tensor::from_data(TensorData::new(ids, [rows.len(), len]), device),
        Tensor::from_data(TensorData::new(mask, [rows.len(), len]), device),
    )
}

fn scores(model: &BertClassifier, rows: &[Row], device: &Device) -> Scores {
    // Similar lengths together: less padding.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].ids.len());
    let mut preds = vec![(0, 0); rows.len()];
    for chunk in order.chunks(32) {
        let batch_rows: Vec<&Row> = chunk.iter().map(|&i| &rows[i]).collect();
        let (ids, mask) = batch(&batch_rows, device);
        let logits = model.forward(ids, mask);
        for ((&i, l), b) in chunk
            .iter()
            .zip(argmax_rows(logits.level))
            .zip(argmax_rows(logits.binary))
        {
            preds[i] = (l, b);
        }
    }
    let labels: Vec<(usize, Option<usize>)> = rows.iter().map(|r| (r.level, r.binary)).collect();
    Scores::of_predictions(&labels, &preds)
}

/// Fine-tunes the encoder in `encoder_dir` on `train`, keeps the epoch with the best mean of
/// binary F1 and level weighted F1 on `val`, and scores it on `test`.
pub fn finetune(
    encoder_dir: &Path,
    train: &[Example],
    val: &[Example],
    test: &[Example],
    cfg: &FinetuneConfig,
    device: &Device,
    progress: bool,
) -> Result<FinetuneReport, FinetuneError> {
    let ImportedEncoder {
        config: bert,
        tokenizer,
        weights: record,
        ..
    } = ImportedEncoder::read(encoder_dir)?;
    let (train_rows, val_rows, test_rows) = (
        encode(&tokenizer, train, cfg.max_tokens)?,
        encode(&tokenizer, val, cfg.max_tokens)?,
        encode(&tokenizer, test, cfg.max_tokens)?,
    );

    let ad = device.clone().autodiff();
    ad.seed(cfg.seed);
    let encoder = bert.init(&ad).load_record(record);
    let encoder = if cfg.freeze_encoder {
        encoder.no_grad()
    } else {
        encoder
    };
    let mut model = BertClassifier::new(encoder, bert.hidden, cfg.dropout, &ad);
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .init();
    let weights = LossWeights::new(train_rows.iter().map(|r| r.level), true, 1.0);
    let steps_per_epoch = train_rows.len().div_ceil(cfg.batch_size);
    let total_steps = (steps_per_epoch * cfg.epochs).max(1);
    let warmup_steps = ((total_steps as f64 * cfg.warmup) as usize).max(1);
    let lr_at = |step: usize| {
        if step < warmup_steps {
            cfg.learning_rate * (step + 1) as f64 / warmup_steps as f64
        } else {
            cfg.learning_rate * (total_steps - step) as f64 / (total_steps - warmup_steps).max(1) as f64
        }
    };

    let bar = if progress {
        ProgressBar::new(total_steps as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed}<{eta}]").expect("template"),
    );
    let mut rng = Rng(cfg.seed);
    let mut order: Vec<usize> = (0..train_rows.len()).collect();
    let mut step = 0;
    let mut epochs = Vec::new();
    let mut best: Option<(f64, usize, BertClassifier)> = None;
    for epoch in 1..=cfg.epochs {
        let started = Instant::now();
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for chunk in order.chunks(cfg.batch_size) {
            let rows: Vec<&Row> = chunk.iter().map(|&i| &train_rows[i]).collect();
            let (ids, mask) = batch(&rows, &ad);
            let labels: Vec<(usize, Option<usize>)> = rows.iter().map(|r| (r.level, r.binary)).collect();
            let loss = weights.loss(model.forward(ids, mask), &labels, &ad);
            total += scalar(loss.clone()) * rows.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr_at(step), model, grads);
            step += 1;
            bar.inc(1);
            if bar.is_hidden() && step % 10 == 0 {
                eprintln!(
                    "step {step}/{total_steps} ({:.0} s into epoch {epoch})",
                    started.elapsed().as_secs_f64()
                );
            }
            bar.set_message(format!(
                "epoch {epoch} loss {:.3}",
                total / ((step - (epoch - 1) * steps_per_epoch) * cfg.batch_size) as f64
            ));
        }
        let val_scores = scores(&model.valid(), &val_rows, device);
        let key = (val_scores.binary_f1.unwrap_or(0.0) + val_scores.level_weighted_f1) / 2.0;
        epochs.push((
            total / train_rows.len() as f64,
            val_scores.clone(),
            started.elapsed().as_secs_f64(),
        ));
        // Printed even without a terminal (the bar is then hidden): a long run's only sign of life.
        bar.suspend(|| {
            eprintln!(
                "epoch {epoch}: loss {:.3}, validation binary F1 {:.4}, level weighted F1 {:.4} ({:.0} s)",
                total / train_rows.len() as f64,
                val_scores.binary_f1.unwrap_or(f64::NAN),
                val_scores.level_weighted_f1,
                started.elapsed().as_secs_f64()
            )
        });
        if best.as_ref().is_none_or(|b| key > b.0) {
            best = Some((key, epoch, model.clone()));
        } else if epoch - best.as_ref().map_or(0, |b| b.1) >= cfg.patience {
            break;
        }
    }
    bar.finish_and_clear();
    let (_, best_epoch, model) = best.expect("at least one epoch");
    let model = model.valid();
    Ok(FinetuneReport {
        settings: cfg.clone(),
        best_epoch,
        validation: scores(&model, &val_rows, device),
        test: (!test_rows.is_empty()).then(|| scores(&model, &test_rows, device)),
        epochs,
    })
}
