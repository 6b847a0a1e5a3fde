//! The from-scratch model: TF-IDF-weighted character n-gram embeddings, pooled two ways, a small
//! hidden layer, and two heads (11 risk levels; binary high/low, which is its own annotation).
//!
//! Each position sums the embeddings of its character, bigram and trigram, each scaled by that
//! n-gram's inverse document frequency in the training set (a fixed, saved weight). Summing over
//! positions and dividing by the weights' norm is exactly a linear map of the text's L2-normalised
//! TF-IDF vector — the representation of the strong linear baseline — and an attention pooling
//! over positions lets the model also weigh where things are said.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Gelu, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::labels::N_LEVELS;
use crate::tokenize::NGRAM_ORDERS;

#[derive(Config, Debug, PartialEq)]
pub struct NgramModelConfig {
    /// Entries in the tokenizer: `[PAD]`, `[UNK]`, characters, bigrams and trigrams.
    pub vocab_size: usize,
    #[config(default = 64)]
    pub d_model: usize,
    #[config(default = 128)]
    pub d_hidden: usize,
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Longer texts are cut to their first `max_chars` characters.
    #[config(default = 512)]
    pub max_chars: usize,
    /// Models averaged in the ensemble (one per cross-validation fold, or one).
    #[config(default = 1)]
    pub members: usize,
}

impl NgramModelConfig {
    /// A model with every feature weight 1 but `[PAD]`'s (0); training sets them to IDF values.
    pub fn init(&self, device: &Device) -> NgramModel {
        NgramModel {
            // Small initial embeddings: with N(0, 1) the first epochs only undo the random scale.
            embedding: EmbeddingConfig::new(self.vocab_size, self.d_model)
                .with_initializer(Initializer::Normal { mean: 0.0, std: 0.1 })
                .init(device),
            feature_weight: Param::from_tensor(
                Tensor::ones([self.vocab_size], device).slice_assign(0..1, Tensor::zeros([1], device)),
            )
            .set_require_grad(false),
            attention: LinearConfig::new(self.d_model, 1).init(device),
            hidden: (self.d_hidden > 0)
                .then(|| LinearConfig::new(2 * self.d_model, self.d_hidden).init(device)),
            level_head: LinearConfig::new(self.head_input(), N_LEVELS).init(device),
            binary_head: LinearConfig::new(self.head_input(), 2).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: Gelu::new(),
        }
    }

    fn head_input(&self) -> usize {
        if self.d_hidden > 0 {
            self.d_hidden
        } else {
            2 * self.d_model
        }
    }

    pub fn init_ensemble(&self, device: &Device) -> Ensemble {
        Ensemble {
            members: (0..self.members).map(|_| self.init(device)).collect(),
        }
    }

    /// Pads the texts' per-position feature ids into one batch (id 0, `[PAD]`, has weight 0
    /// and is masked out of the attention).
    pub fn batch(&self, texts: &[&[[u32; NGRAM_ORDERS]]], device: &Device) -> Batch {
        self.batch_shaped(texts, (texts.len(), 0), device)
    }

    /// [`Self::batch`] of at least `min_rows` rows of at least `min_len` positions: extra rows
    /// repeat the first (a row of only padding would divide by zero in the pooling), extra
    /// positions are masked padding. A GPU then sees a few shapes only.
    pub fn batch_shaped(
        &self,
        texts: &[&[[u32; NGRAM_ORDERS]]],
        (min_rows, min_len): (usize, usize),
        device: &Device,
    ) -> Batch {
        let (texts, len) = super::shaped_rows(texts, (min_rows, min_len), self.max_chars);
        let mut ids = vec![0i64; texts.len() * len * NGRAM_ORDERS];
        let mut mask = vec![0f32; texts.len() * len];
        for (row, text) in texts.iter().enumerate() {
            for (pos, feats) in text.iter().take(self.max_chars).enumerate() {
                let at = (row * len + pos) * NGRAM_ORDERS;
                for (k, f) in feats.iter().enumerate() {
                    ids[at + k] = i64::from(*f);
                }
                mask[row * len + pos] = 1.0;
            }
        }
        Batch {
            ids: Tensor::from_data(TensorData::new(ids, [texts.len(), len, NGRAM_ORDERS]), device),
            mask: Tensor::from_data(TensorData::new(mask, [texts.len(), len]), device),
        }
    }
}

/// Model input: n-gram rows `[batch, chars, 3]` and a 0/1 mask `[batch, chars]`.
#[derive(Debug, Clone)]
pub struct Batch {
    pub ids: Tensor<3, Int>,
    pub mask: Tensor<2>,
}

/// Unnormalised scores of both heads.
#[derive(Debug, Clone)]
pub struct Logits {
    pub level: Tensor<2>,
    pub binary: Tensor<2>,
}

#[derive(Module, Debug)]
pub struct NgramModel {
    embedding: Embedding,
    /// IDF of each vocabulary entry in the training texts; 0 for `[PAD]`, `[UNK]` and unseen ids.
    feature_weight: Param<Tensor<1>>,
    attention: Linear,
    /// Absent when `d_hidden` is 0: the heads then read the pooled vector directly.
    hidden: Option<Linear>,
    level_head: Linear,
    binary_head: Linear,
    dropout: Dropout,
    activation: Gelu,
}

impl NgramModel {
    /// Replaces the feature weights (one per vocabulary entry).
    pub fn with_feature_weights(mut self, weights: Vec<f32>, device: &Device) -> Self {
        let n = weights.len();
        self.feature_weight = Param::from_tensor(Tensor::from_data(TensorData::new(weights, [n]), device))
            .set_require_grad(false);
        self
    }

    pub fn forward(&self, batch: Batch) -> Logits {
        let [b, t, k] = batch.ids.dims();
        let d = self.embedding.weight.dims()[1];
        let flat = batch.ids.reshape([b, t * k]);
        let w: Tensor<4> = self
            .feature_weight
            .val()
            .select(0, flat.clone().reshape([b * t * k]))
            .reshape([b, t, k, 1])
            // Padding positions add nothing, whatever weight row 0 holds.
            * batch.mask.clone().reshape([b, t, 1, 1]);
        let norm = w
            .clone()
            .powi_scalar(2)
            .sum_dims(&[1, 2, 3])
            .reshape([b, 1])
            .sqrt()
            .add_scalar(1e-6);
        let e: Tensor<4> = self.embedding.forward(flat).reshape([b, t, k, d]);
        let x: Tensor<3> = (e * w).sum_dim(2).reshape([b, t, d]);
        let x = self.dropout.forward(x);

        let bag = x.clone().sum_dim(1).reshape([b, d]) / norm;
        let mask = batch.mask.unsqueeze_dim::<3>(2); // [b, t, 1]
        let scores = self
            .attention
            .forward(x.clone())
            .mask_fill(mask.equal_elem(0.0), -1e9);
        let attended = (x * softmax(scores, 1)).sum_dim(1).reshape([b, d]);

        let pooled = Tensor::cat(vec![bag, attended], 1);
        let pooled = self.dropout.forward(pooled);
        let h = match &self.hidden {
            Some(hidden) => self
                .dropout
                .forward(self.activation.forward(hidden.forward(pooled))),
            None => pooled,
        };
        Logits {
            level: self.level_head.forward(h.clone()),
            binary: self.binary_head.forward(h),
        }
    }
}

/// Several models over the same vocabulary whose probabilities are averaged.
#[derive(Module, Debug)]
pub struct Ensemble {
    pub members: Vec<NgramModel>,
}

impl Ensemble {
    /// Mean level and binary probabilities over the members: `[batch, 11]`, `[batch, 2]`.
    pub fn probabilities(&self, batch: Batch) -> (Tensor<2>, Tensor<2>) {
        let n = self.members.len() as f64;
        let mut sums: Option<(Tensor<2>, Tensor<2>)> = None;
        for member in &self.members {
            let logits = member.forward(batch.clone());
            let (l, b) = (softmax(logits.level, 1), softmax(logits.binary, 1));
            sums = Some(match sums {
                None => (l, b),
                Some((sl, sb)) => (sl + l, sb + b),
            });
        }
        let (l, b) = sums.expect("an ensemble has at least one member");
        (l.div_scalar(n), b.div_scalar(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_shapes_and_padding_do_not_change_outputs() {
        let device = Device::flex();
        device.seed(7);
        let cfg = NgramModelConfig::new(20).with_d_model(8).with_d_hidden(8);
        let model = cfg.init(&device);
        let short: &[[u32; 3]] = &[[2, 0, 0], [3, 9, 0]];
        let long: &[[u32; 3]] = &[[4, 0, 0], [5, 10, 0], [6, 11, 12], [7, 13, 14], [8, 15, 16]];
        let alone = model.forward(cfg.batch(&[short], &device));
        let padded = model.forward(cfg.batch(&[short, long], &device));
        assert_eq!(padded.level.dims(), [2, N_LEVELS]);
        assert_eq!(padded.binary.dims(), [2, 2]);
        let a = alone.level.into_data().try_into_vec::<f32>().unwrap();
        let p = padded.level.into_data().try_into_vec::<f32>().unwrap();
        for i in 0..N_LEVELS {
            assert!((a[i] - p[i]).abs() < 1e-5, "padding changed logit {i}");
        }
    }
}
