//! A run in progress, epoch by epoch: the optimiser's steps over the posts and the pools, the
//! validation that keeps the best epoch (or the mean of the late ones), and resuming.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use indicatif::ProgressBar;

use super::average::WeightMean;
use super::checkpoint::{self, CheckpointState, Checkpoints};
use super::pools::PoolState;
use super::rows::{Frozen, Row, Rows, argmax_scores, batch, flagged_share, labels, logits};
use super::{EpochLog, FinetuneConfig, FinetuneError, distill, layer_decay, length_batches};
use crate::model::Logits;
use crate::model::bert::{self, BertClassifier};
use crate::train::{LossWeights, Rng, scalar};

/// A run in progress: the model, the optimiser, where the run is, and the best epoch so far.
pub(super) struct Run<'a> {
    cfg: &'a FinetuneConfig,
    rows: &'a Rows,
    frozen: Option<Frozen>,
    pub(super) model: BertClassifier,
    optim: ModuleOptimizer,
    /// Class-balanced for the posts; every pool row counts the same.
    weights: LossWeights,
    pool_weights: LossWeights,
    pub(super) state: CheckpointState,
    pub(super) best: Option<BertClassifier>,
    /// The epochs' weights from `average_from` on.
    average: WeightMean,
    pub(super) total_steps: usize,
    ad: Device,
    device: &'a Device,
}

impl<'a> Run<'a> {
    /// Builds the model from the imported encoder and resumes from the checkpoint, if asked.
    pub(super) fn start(
        (bert, record): (&bert::BertConfig, burn::store::ModuleRecord),
        rows: &'a Rows,
        cfg: &'a FinetuneConfig,
        device: &'a Device,
        checkpoints: Option<&Checkpoints>,
    ) -> Result<Self, FinetuneError> {
        if cfg.pool_per_batch.len() != rows.pools.len() {
            return Err(FinetuneError::Setup(format!(
                "{} extra pools but {} per-batch counts",
                rows.pools.len(),
                cfg.pool_per_batch.len()
            )));
        }
        if cfg.average_from > cfg.epochs {
            return Err(FinetuneError::Setup(format!(
                "averaging from epoch {} of a run of {} epochs would never average",
                cfg.average_from, cfg.epochs
            )));
        }
        let ad = device.clone().autodiff();
        ad.seed(cfg.seed);
        let encoder = bert
            .init(&ad)
            .load_record(record)
            .with_dropout(cfg.encoder_dropout);
        let encoder = if cfg.freeze_encoder {
            encoder.no_grad()
        } else {
            encoder
        };
        // Before the heads exist: their parameters are initialised on first use, and using them
        // here (through the whole model's `valid()`) would draw their weights from another stream.
        let frozen = cfg
            .freeze_encoder
            .then(|| Frozen::new(&encoder.valid(), rows, bert.hidden, device));
        let model = BertClassifier::new(encoder, bert.hidden, cfg.dropout, &ad);
        let optim = AdamWConfig::new()
            .with_weight_decay(cfg.weight_decay as f32)
            .init();
        let steps_per_epoch = rows.train.len().div_ceil(cfg.batch_size);
        let mut run = Self {
            cfg,
            rows,
            frozen,
            model,
            optim,
            weights: LossWeights::new(rows.train.iter().map(|r| r.level), true, 1.0)
                .ordinal(cfg.ordinal_sigma),
            pool_weights: LossWeights::new(std::iter::empty(), false, 1.0).ordinal(cfg.ordinal_sigma),
            state: CheckpointState {
                settings: cfg.clone(),
                epoch: 0,
                step: 0,
                rng: cfg.seed,
                order: (0..rows.train.len()).collect(),
                best_key: f64::NEG_INFINITY,
                best_epoch: 0,
                epochs: Vec::new(),
                pools: rows
                    .pools
                    .iter()
                    .enumerate()
                    .map(|(k, p)| PoolState::new(p.len(), cfg.seed, k as u64 + 1))
                    .collect(),
            },
            best: None,
            average: WeightMean::default(),
            total_steps: (steps_per_epoch * cfg.epochs).max(1),
            ad,
            device,
        };
        if let Some(ck) = checkpoints
            && let Some(saved) = ck.saved_state(cfg, rows.train.len())?
        {
            run.model = checkpoint::load_module(ck.dir.join("last.bpk"), run.model)?;
            run.best =
                Some(checkpoint::load_module(Checkpoints::best_in(ck.dir), run.model.clone())?.valid());
            if let Some(n) = cfg.averaged_epochs(saved.epoch) {
                let mean = checkpoint::load_module(ck.average(), run.model.clone())?.valid();
                run.average = WeightMean::resume(&mean, n);
            }
            run.state = saved;
            eprintln!(
                "resuming after epoch {} (best so far: epoch {})",
                run.state.epoch, run.state.best_epoch
            );
        }
        Ok(run)
    }

    fn lr_at(&self, step: usize) -> f64 {
        let warmup_steps = ((self.total_steps as f64 * self.cfg.warmup) as usize).max(1);
        let lr = self.cfg.learning_rate;
        if step < warmup_steps {
            lr * (step + 1) as f64 / warmup_steps as f64
        } else {
            lr * (self.total_steps - step) as f64 / (self.total_steps - warmup_steps).max(1) as f64
        }
    }

    /// Early stopping: at most `epochs`, and no more than `patience` epochs past the best.
    pub(super) fn should_continue(&self) -> bool {
        let s = &self.state;
        s.epoch < self.cfg.epochs && (s.epoch == 0 || s.epoch - s.best_epoch < self.cfg.patience)
    }

    /// Both heads' logits for `rows` of `split` (indices), through the frozen features if any.
    fn forward(&self, split: Split, indices: &[usize]) -> Logits {
        match &self.frozen {
            Some(f) => {
                let features = match split {
                    Split::Train => &f.train,
                    Split::Pool(k) => &f.pools[k],
                };
                self.model.heads(f.gather(features, indices, &self.ad))
            }
            None => {
                let rows: Vec<&Row> = indices.iter().map(|&i| split.row(self.rows, i)).collect();
                let (ids, mask) = batch(&rows, &self.ad);
                self.model.forward(ids, mask)
            }
        }
    }

    /// Hard-label loss (with `weights`), mixed with the teacher's soft loss where rows have one.
    fn loss(&self, logits: Logits, rows: &[&Row], weights: &LossWeights) -> Tensor<1> {
        let hard = weights.loss(logits.clone(), &labels(rows.iter().copied()), &self.ad);
        let Some(d) = &self.cfg.distill else { return hard };
        if rows.iter().all(|r| r.soft.is_none()) {
            return hard;
        }
        let level: Vec<Option<&[f32]>> = rows
            .iter()
            .map(|r| r.soft.as_ref().map(|s| s.level.as_slice()))
            .collect();
        let binary: Vec<Option<&[f32]>> = rows
            .iter()
            .map(|r| r.soft.as_ref().map(|s| &s.binary[..]))
            .collect();
        let soft = distill::soft_cross_entropy(logits.level, &level, d.temperature, &self.ad)
            + distill::soft_cross_entropy(logits.binary, &binary, d.temperature, &self.ad);
        hard.mul_scalar(1.0 - d.alpha) + soft.mul_scalar(d.alpha)
    }

    /// The loss of `indices` of `split`: one pass, or with R-Drop two (one batch of both, each
    /// row under its own dropout masks), their mean loss plus the divergence between them.
    fn batch_loss(&self, split: Split, indices: &[usize], weights: &LossWeights) -> Tensor<1> {
        let rows: Vec<&Row> = indices.iter().map(|&i| split.row(self.rows, i)).collect();
        if self.cfg.rdrop == 0.0 {
            return self.loss(self.forward(split, indices), &rows, weights);
        }
        let n = indices.len();
        let twice: Vec<usize> = indices.iter().chain(indices).copied().collect();
        let both = self.forward(split, &twice);
        let half = |t: &Tensor<2>, k: usize| t.clone().narrow(0, k * n, n);
        let [a, b] = [0, 1].map(|k| Logits {
            level: half(&both.level, k),
            binary: half(&both.binary, k),
        });
        let divergence = crate::loss::symmetric_kl(a.level.clone(), b.level.clone())
            + crate::loss::symmetric_kl(a.binary.clone(), b.binary.clone());
        (self.loss(a, &rows, weights) + self.loss(b, &rows, weights)).mul_scalar(0.5)
            + divergence.mul_scalar(self.cfg.rdrop)
    }

    /// One optimiser step on a batch of posts (plus each pool's share); returns the posts' loss.
    fn step(&mut self, chunk: &[usize]) -> f64 {
        let posts = self.batch_loss(Split::Train, chunk, &self.weights);
        let posts_value = scalar(posts.clone());
        let mut loss = posts;
        for k in 0..self.rows.pools.len() {
            let picked = self.state.pools[k].take(self.cfg.pool_per_batch[k]);
            if picked.is_empty() {
                continue;
            }
            let pool_loss = self.batch_loss(Split::Pool(k), &picked, &self.pool_weights);
            loss = loss + pool_loss.mul_scalar(self.cfg.pool_weight);
        }
        let mut grads = loss.backward();
        // The encoder and the heads at their own rates: one optimiser, a step per group of
        // disjoint parameters (a parameter without a gradient in a step is left as it is); with
        // layer-wise decay each encoder depth is a group of its own.
        let encoder_grads = if self.cfg.layer_decay == 1.0 {
            vec![(1.0, GradientsParams::from_module(&mut grads, &self.model.encoder))]
        } else {
            layer_decay::grads_by_depth(&self.model.encoder, &mut grads, self.cfg.layer_decay)
        };
        let head_grads = GradientsParams::from_grads(grads, &self.model);
        let lr = self.lr_at(self.state.step);
        let mut model = self.model.clone();
        for (scale, g) in encoder_grads {
            model = self.optim.step(lr * scale, model, g);
        }
        self.model = self.optim.step(lr * self.cfg.head_lr_scale, model, head_grads);
        self.state.step += 1;
        posts_value
    }

    /// One pass over the posts in a fresh order; returns the mean loss.
    pub(super) fn train_epoch(&mut self, bar: &ProgressBar) -> f64 {
        let epoch = self.state.epoch + 1;
        let started = Instant::now();
        let mut rng = Rng(self.state.rng);
        rng.shuffle(&mut self.state.order);
        let order = if self.cfg.group_by_length {
            let rows = &self.rows.train;
            length_batches::grouped(
                &self.state.order,
                |i| rows[i].ids.len(),
                self.cfg.batch_size,
                &mut rng,
            )
        } else {
            self.state.order.clone()
        };
        self.state.rng = rng.0;
        let (mut total, mut seen) = (0.0, 0);
        for chunk in order.chunks(self.cfg.batch_size) {
            total += self.step(chunk) * chunk.len() as f64;
            seen += chunk.len();
            bar.inc(1);
            if bar.is_hidden() && self.state.step.is_multiple_of(10) {
                eprintln!(
                    "step {}/{} ({:.0} s into epoch {epoch})",
                    self.state.step,
                    self.total_steps,
                    started.elapsed().as_secs_f64()
                );
            }
            bar.set_message(format!("epoch {epoch} loss {:.3}", total / seen as f64));
        }
        total / seen.max(1) as f64
    }

    /// Scores the epoch's model on the validation fold (and the watch set), and keeps it if it
    /// is the best: the highest mean of binary F1 and level weighted F1. Without a validation
    /// fold every epoch is the best so far (the run trains all its epochs). The epoch's model is
    /// the weights being trained, or from `average_from` on their mean over the epochs since;
    /// returns both (the first is what training resumes from).
    pub(super) fn validate(
        &mut self,
        train_loss: f64,
        seconds: f64,
        bar: &ProgressBar,
    ) -> (BertClassifier, BertClassifier) {
        let trained = self.model.valid();
        let epoch = self.state.epoch + 1;
        let averaged = self.cfg.averaged_epochs(epoch);
        let valid = if averaged.is_some() {
            self.average.add(&trained);
            debug_assert_eq!(Some(self.average.count()), averaged);
            self.average.model(trained.clone())
        } else {
            trained.clone()
        };
        let validation = (!self.rows.val.is_empty()).then(|| {
            let val_logits = match &self.frozen {
                Some(f) => f.val_logits(&valid, self.device),
                None => logits(&valid, &self.rows.val, self.device),
            };
            argmax_scores(&self.rows.val, &val_logits)
        });
        let watch_flagged = (!self.rows.watch.is_empty())
            .then(|| flagged_share(&logits(&valid, &self.rows.watch, self.device)));
        let key = validation.as_ref().map_or(epoch as f64, |v| {
            (v.binary_f1.unwrap_or(0.0) + v.level_weighted_f1) / 2.0
        });
        // Printed even without a terminal (the bar is then hidden): a long run's only sign of life.
        bar.suspend(|| {
            eprintln!(
                "epoch {epoch}{}: loss {train_loss:.3}{}{} ({seconds:.0} s)",
                averaged.map_or(String::new(), |n| format!(
                    " (weights averaged over epochs {}–{epoch})",
                    epoch + 1 - n
                )),
                validation.as_ref().map_or(String::new(), |v| format!(
                    ", validation binary F1 {:.4}, level weighted F1 {:.4}",
                    v.binary_f1.unwrap_or(f64::NAN),
                    v.level_weighted_f1
                )),
                watch_flagged.map_or(String::new(), |w| format!(
                    ", watch set flagged {:.1} %",
                    w * 100.0
                )),
            )
        });
        self.state.epochs.push(EpochLog {
            epoch,
            train_loss,
            validation,
            watch_flagged,
            seconds,
            averaged,
        });
        self.state.epoch = epoch;
        if key > self.state.best_key {
            self.state.best_key = key;
            self.state.best_epoch = epoch;
            self.best = Some(valid.clone());
        }
        (trained, valid)
    }
}

/// Which rows a batch comes from.
#[derive(Clone, Copy)]
enum Split {
    Train,
    Pool(usize),
}

impl Split {
    fn row(self, rows: &Rows, i: usize) -> &Row {
        match self {
            Split::Train => &rows.train[i],
            Split::Pool(k) => &rows.pools[k][i],
        }
    }
}
