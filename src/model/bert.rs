//! A BERT-layout encoder (XLM-R / multilingual-e5-small): word + position + token-type
//! embeddings, post-LayerNorm transformer layers with erf GELU, and mean pooling over the real
//! tokens. Parameter names follow Hugging Face's `BertModel`, so imported weights map by name.

use burn::module::Param;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use crate::labels::N_LEVELS;
use crate::model::Logits;
use crate::model::dense::linear;
use crate::model::gelu::gelu;

#[derive(Config, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    #[config(default = 384)]
    pub hidden: usize,
    #[config(default = 12)]
    pub layers: usize,
    #[config(default = 12)]
    pub heads: usize,
    #[config(default = 1536)]
    pub intermediate: usize,
    #[config(default = 512)]
    pub max_positions: usize,
    #[config(default = 2)]
    pub type_vocab_size: usize,
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
}

impl BertConfig {
    /// The encoder with freshly initialised heads (weights are loaded over them).
    pub fn init_classifier(&self, device: &Device) -> BertClassifier {
        BertClassifier::new(self.init(device), self.hidden, 0.0, device)
    }

    pub fn init(&self, device: &Device) -> BertEncoder {
        let ln = || {
            LayerNormConfig::new(self.hidden)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        BertEncoder {
            word_embeddings: EmbeddingConfig::new(self.vocab_size, self.hidden).init(device),
            position_embeddings: EmbeddingConfig::new(self.max_positions, self.hidden).init(device),
            token_type_embeddings: EmbeddingConfig::new(self.type_vocab_size, self.hidden).init(device),
            embeddings_layer_norm: ln(),
            dropout: DropoutConfig::new(0.0).init(),
            layers: (0..self.layers)
                .map(|_| BertLayer {
                    query: linear(self.hidden, self.hidden),
                    key: linear(self.hidden, self.hidden),
                    value: linear(self.hidden, self.hidden),
                    attention_output: linear(self.hidden, self.hidden),
                    attention_layer_norm: ln(),
                    intermediate: linear(self.hidden, self.intermediate),
                    output: linear(self.intermediate, self.hidden),
                    output_layer_norm: ln(),
                    dropout: DropoutConfig::new(0.0).init(),
                    heads: self.heads,
                })
                .collect(),
        }
    }
}

#[derive(Module, Debug)]
pub struct BertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_layer_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_layer_norm: LayerNorm,
    /// On each sub-layer's output before its residual sum, as BERT trains (off unless
    /// [`BertEncoder::with_dropout`]; a no-op outside training).
    dropout: Dropout,
    heads: usize,
}

impl BertLayer {
    /// `padding`: `[batch, heads, tokens, tokens]`, true where the key is a padding token.
    fn forward(&self, x: Tensor<3>, padding: Tensor<4, Bool>) -> Tensor<3> {
        let [b, t, h] = x.dims();
        let d = h / self.heads;
        let split = |y: Tensor<3>| y.reshape([b, t, self.heads, d]).swap_dims(1, 2);
        let q = split(linear(&self.query, x.clone()));
        let k = split(linear(&self.key, x.clone()));
        let v = split(linear(&self.value, x.clone()));
        // burn's attention op: one fused kernel per (text, head) on flex, where scaling,
        // masking and softmax were five passes over the scores; autodiff and wgpu get the
        // same arithmetic from their own implementations.
        let context = attention(q, k, v, Some(padding), None, AttentionModuleOptions::default())
            .swap_dims(1, 2)
            .reshape([b, t, h]);
        let x = self
            .attention_layer_norm
            .forward(x + self.dropout.forward(linear(&self.attention_output, context)));
        let y = self
            .dropout
            .forward(linear(&self.output, gelu(linear(&self.intermediate, x.clone()))));
        self.output_layer_norm.forward(x + y)
    }
}

#[derive(Module, Debug)]
pub struct BertEncoder {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    embeddings_layer_norm: LayerNorm,
    /// On the embeddings' output (see [`BertLayer`]'s).
    dropout: Dropout,
    layers: Vec<BertLayer>,
}

impl BertEncoder {
    /// The embeddings (word, position, token type) and their LayerNorm: the encoder's bottom,
    /// for training that treats its depths differently (layer-wise learning-rate decay).
    pub fn embeddings(&self) -> (Embedding, Embedding, Embedding, LayerNorm) {
        (
            self.word_embeddings.clone(),
            self.position_embeddings.clone(),
            self.token_type_embeddings.clone(),
            self.embeddings_layer_norm.clone(),
        )
    }

    /// The encoder with hidden-state dropout `p` on the embeddings and on every sub-layer's
    /// output, as BERT was pretrained and is usually fine-tuned (attention probabilities are left
    /// undropped: burn's fused attention op has no dropout). Imported encoders come with none.
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.dropout = DropoutConfig::new(p).init();
        for layer in &mut self.layers {
            layer.dropout = DropoutConfig::new(p).init();
        }
        self
    }

    /// The transformer layers, from the input up.
    pub fn layers(&self) -> &[BertLayer] {
        &self.layers
    }

    /// Hidden states `[batch, tokens, hidden]` for token ids `[batch, tokens]` with a 0/1 mask.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        self.forward_tapped(ids, mask, None, self.layers.len()).0
    }

    /// The hidden states after the first `depth` layers, and with `tap` also those after the
    /// first `tap` layers (one pass).
    fn forward_tapped(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2>,
        tap: Option<usize>,
        depth: usize,
    ) -> (Tensor<3>, Option<Tensor<3>>) {
        let [b, t] = ids.dims();
        let device = ids.device();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &device)
            .reshape([1, t])
            .repeat_dim(0, b);
        let types = Tensor::<2, Int>::zeros([b, t], &device);
        let x = self.word_embeddings.forward(ids)
            + self.position_embeddings.forward(positions)
            + self.token_type_embeddings.forward(types);
        let mut x = self.dropout.forward(self.embeddings_layer_norm.forward(x));
        // Expanded (a view, no copy) to the scores' full shape: flex's attention broadcasts a
        // mask over heads, but burn's generic one (autodiff, wgpu) hands it to `mask_fill` as is.
        let heads = self.layers.first().map_or(1, |l| l.heads);
        let padding = mask
            .equal_elem(0.0)
            .reshape([b, 1, 1, t])
            .expand([b, heads, t, t]);
        let mut tapped = None;
        for (i, layer) in self.layers.iter().take(depth).enumerate() {
            if tap == Some(i) {
                tapped = Some(x.clone());
            }
            x = layer.forward(x, padding.clone());
        }
        if tap == Some(depth) {
            tapped = Some(x.clone());
        }
        (x, tapped)
    }

    /// Mean of the hidden states over the real tokens: `[batch, hidden]`.
    pub fn pooled(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        self.pooled_tapped(ids, mask, None).0
    }

    /// The mean of the hidden states after the first `depth` layers only (the rest not computed).
    pub fn pooled_after(&self, ids: Tensor<2, Int>, mask: Tensor<2>, depth: usize) -> Tensor<2> {
        let layers = self.layers.len();
        assert!(depth <= layers, "{depth} layers of {layers}");
        let (hidden, _) = self.forward_tapped(ids, mask.clone(), None, depth);
        mean_pooled(hidden, mask)
    }

    /// [`Self::pooled`], and with `tap` also the mean of the hidden states after the first
    /// `tap` layers.
    pub fn pooled_tapped(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2>,
        tap: Option<usize>,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let (hidden, tapped) = self.forward_tapped(ids, mask.clone(), tap, self.layers.len());
        let tapped = tapped.map(|t| mean_pooled(t, mask.clone()));
        (mean_pooled(hidden, mask), tapped)
    }
}

/// The mean of hidden states `[batch, tokens, hidden]` over the real tokens of a 0/1 mask.
fn mean_pooled(hidden: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [b, _, h] = hidden.dims();
    let m = mask.unsqueeze_dim::<3>(2);
    (hidden * m.clone()).sum_dim(1).reshape([b, h]) / m.sum_dim(1).reshape([b, 1])
}

/// The encoder with the two heads on its mean-pooled output, for fine-tuning.
#[derive(Module, Debug)]
pub struct BertClassifier {
    pub encoder: BertEncoder,
    dropout: Dropout,
    level_head: Linear,
    binary_head: Linear,
}

impl BertClassifier {
    pub fn new(encoder: BertEncoder, hidden: usize, dropout: f64, device: &Device) -> Self {
        Self {
            encoder,
            dropout: DropoutConfig::new(dropout).init(),
            level_head: LinearConfig::new(hidden, N_LEVELS).init(device),
            binary_head: LinearConfig::new(hidden, 2).init(device),
        }
    }

    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Logits {
        self.heads(self.encoder.pooled(ids, mask))
    }

    /// The heads (after dropout) on mean-pooled encoder outputs `[batch, hidden]`: with a frozen
    /// encoder those are computed once, not at every step.
    pub fn heads(&self, pooled: Tensor<2>) -> Logits {
        let pooled = self.dropout.forward(pooled);
        Logits {
            level: self.level_head.forward(pooled.clone()),
            binary: self.binary_head.forward(pooled),
        }
    }

    /// Level and binary probabilities, each head's logits divided by its temperature first.
    pub fn probabilities(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2>,
        temperatures: [f32; 2],
    ) -> (Tensor<2>, Tensor<2>) {
        let (level, binary, _) = self.probabilities_tapped(ids, mask, temperatures, None);
        (level, binary)
    }

    /// [`Self::probabilities`], and with `tap` the mean-pooled hidden states after that many
    /// layers as well, from the same pass ([`crate::novelty`]).
    pub fn probabilities_tapped(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2>,
        temperatures: [f32; 2],
        tap: Option<usize>,
    ) -> (Tensor<2>, Tensor<2>, Option<Tensor<2>>) {
        let (pooled, tapped) = self.encoder.pooled_tapped(ids, mask, tap);
        let logits = self.heads(pooled);
        (
            softmax(logits.level.div_scalar(temperatures[0]), 1),
            softmax(logits.binary.div_scalar(temperatures[1]), 1),
            tapped,
        )
    }
}

/// XLM-R's `<pad>` id (kept at 1 by the vocabulary pruning).
pub const PAD_ID: u32 = 1;

/// Pads token-id rows to the longest with `<pad>` and a 0 mask: `(ids, mask)`, `[rows, longest]`.
pub fn batch(rows: &[&[u32]], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    batch_shaped(rows, (rows.len(), 0), device)
}

/// [`batch`] of at least `min_rows` rows of at least `min_len` tokens: extra rows repeat the
/// first (a row of only padding would divide by zero in the pooling), extra tokens are masked
/// padding. A GPU then sees a few shapes only, and compiles no kernel for a new one.
pub fn batch_shaped(
    rows: &[&[u32]],
    (min_rows, min_len): (usize, usize),
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2>) {
    let (rows, len) = super::shaped_rows(rows, (min_rows, min_len), usize::MAX);
    let mut ids = vec![i64::from(PAD_ID); rows.len() * len];
    let mut mask = vec![0f32; rows.len() * len];
    for (i, row) in rows.iter().enumerate() {
        for (j, &id) in row.iter().enumerate() {
            ids[i * len + j] = i64::from(id);
            mask[i * len + j] = 1.0;
        }
    }
    (
        Tensor::from_data(TensorData::new(ids, [rows.len(), len]), device),
        Tensor::from_data(TensorData::new(mask, [rows.len(), len]), device),
    )
}

/// Where imported weights come from: a tensor by its Hugging Face `BertModel` name and shape
/// (matrices as `[out, in]`, as PyTorch stores them).
pub trait TensorSource {
    type Error;
    fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, Self::Error>;
}

fn param<const D: usize, S: TensorSource>(
    source: &mut S,
    name: &str,
    shape: [usize; D],
    device: &Device,
) -> Result<Param<Tensor<D>>, S::Error> {
    let values = source.tensor(name, &shape)?;
    Ok(Param::from_tensor(Tensor::from_data(
        TensorData::new(values, shape),
        device,
    )))
}

fn load_linear<S: TensorSource>(
    linear: &mut Linear,
    source: &mut S,
    name: &str,
    device: &Device,
) -> Result<(), S::Error> {
    let [input, output] = linear.weight.dims();
    // burn keeps `[in, out]`; the file has PyTorch's `[out, in]`.
    let w: Param<Tensor<2>> = param(source, &format!("{name}.weight"), [output, input], device)?;
    linear.weight = Param::from_tensor(w.val().transpose());
    linear.bias = Some(param(source, &format!("{name}.bias"), [output], device)?);
    Ok(())
}

fn load_layer_norm<S: TensorSource>(
    norm: &mut LayerNorm,
    source: &mut S,
    name: &str,
    device: &Device,
) -> Result<(), S::Error> {
    let [d] = norm.gamma.dims();
    norm.gamma = param(source, &format!("{name}.weight"), [d], device)?;
    norm.beta = Some(param(source, &format!("{name}.bias"), [d], device)?);
    Ok(())
}

fn load_embedding<S: TensorSource>(
    embedding: &mut Embedding,
    source: &mut S,
    name: &str,
    device: &Device,
) -> Result<(), S::Error> {
    let [n, d] = embedding.weight.dims();
    embedding.weight = param(source, &format!("{name}.weight"), [n, d], device)?;
    Ok(())
}

impl BertEncoder {
    /// Replaces every parameter with the tensor of the same Hugging Face name from `source`.
    pub fn load_from<S: TensorSource>(mut self, source: &mut S, device: &Device) -> Result<Self, S::Error> {
        load_embedding(
            &mut self.word_embeddings,
            source,
            "embeddings.word_embeddings",
            device,
        )?;
        load_embedding(
            &mut self.position_embeddings,
            source,
            "embeddings.position_embeddings",
            device,
        )?;
        load_embedding(
            &mut self.token_type_embeddings,
            source,
            "embeddings.token_type_embeddings",
            device,
        )?;
        load_layer_norm(
            &mut self.embeddings_layer_norm,
            source,
            "embeddings.LayerNorm",
            device,
        )?;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let n = |s: &str| format!("encoder.layer.{i}.{s}");
            load_linear(&mut layer.query, source, &n("attention.self.query"), device)?;
            load_linear(&mut layer.key, source, &n("attention.self.key"), device)?;
            load_linear(&mut layer.value, source, &n("attention.self.value"), device)?;
            load_linear(
                &mut layer.attention_output,
                source,
                &n("attention.output.dense"),
                device,
            )?;
            load_layer_norm(
                &mut layer.attention_layer_norm,
                source,
                &n("attention.output.LayerNorm"),
                device,
            )?;
            load_linear(&mut layer.intermediate, source, &n("intermediate.dense"), device)?;
            load_linear(&mut layer.output, source, &n("output.dense"), device)?;
            load_layer_norm(
                &mut layer.output_layer_norm,
                source,
                &n("output.LayerNorm"),
                device,
            )?;
        }
        Ok(self)
    }
}

/// A small encoder's shape for tests: 16 wide, 4 heads, a vocabulary of 30.
#[cfg(test)]
pub(crate) fn tiny_config(layers: usize) -> BertConfig {
    BertConfig::new(30)
        .with_hidden(16)
        .with_layers(layers)
        .with_heads(4)
        .with_intermediate(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_dropout_acts_in_training_only() {
        let device = Device::flex();
        device.seed(5);
        let ad = device.clone().autodiff();
        let model = tiny_config(2).init(&ad).with_dropout(0.5);
        let pooled = |m: &BertEncoder, d: &Device| {
            let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 5, 7, 2], [1, 4]), d);
            let mask = Tensor::<2>::ones([1, 4], d);
            m.pooled(ids, mask).into_data().try_into_vec::<f32>().unwrap()
        };
        assert_ne!(
            pooled(&model, &ad),
            pooled(&model, &ad),
            "two training passes, two masks"
        );
        let valid = model.valid();
        assert_eq!(pooled(&valid, &device), pooled(&valid, &device));
        let plain = tiny_config(2).init(&device);
        assert_eq!(
            pooled(&plain, &device),
            pooled(&plain.clone().with_dropout(0.5), &device),
            "outside training the encoder is the same with or without dropout"
        );
    }

    #[test]
    fn padding_does_not_change_the_pooled_vector() {
        let device = Device::flex();
        device.seed(3);
        let cfg = tiny_config(2);
        let model = cfg.init(&device);
        let ids = |v: Vec<i64>, t| Tensor::<2, Int>::from_data(TensorData::new(v, [1, t]), &device);
        let mask = |v: Vec<f32>, t| Tensor::<2>::from_data(TensorData::new(v, [1, t]), &device);
        let short = model.pooled(ids(vec![0, 5, 7, 2], 4), mask(vec![1.0; 4], 4));
        let padded = model.pooled(
            ids(vec![0, 5, 7, 2, 1, 1], 6),
            mask(vec![1., 1., 1., 1., 0., 0.], 6),
        );
        let a = short.into_data().try_into_vec::<f32>().unwrap();
        let p = padded.into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(a.len(), 16);
        for (x, y) in a.iter().zip(&p) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn the_tap_is_the_pooled_vector_of_the_first_layers() {
        let device = Device::flex();
        device.seed(4);
        let cfg = tiny_config(3);
        let model = cfg.init(&device);
        let ids = || Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 5, 7, 2, 9, 1], [2, 3]), &device);
        let mask =
            || Tensor::<2>::from_data(TensorData::new(vec![1f32, 1., 1., 1., 1., 0.], [2, 3]), &device);
        let v = |t: Tensor<2>| t.into_data().try_into_vec::<f32>().unwrap();
        let (full, tapped) = model.pooled_tapped(ids(), mask(), Some(1));
        assert_eq!(v(full.clone()), v(model.pooled(ids(), mask())));
        assert_eq!(v(tapped.unwrap()), v(model.pooled_after(ids(), mask(), 1)));
        assert_eq!(v(full), v(model.pooled_after(ids(), mask(), 3)));
        assert_ne!(
            v(model.pooled_after(ids(), mask(), 1)),
            v(model.pooled_after(ids(), mask(), 3))
        );
    }
}
