//! The texts of a run, tokenized, and what is computed over all of them at once: both heads'
//! logits, a frozen encoder's pooled outputs, the argmax scores and the flagged share.

use burn::prelude::*;

use super::{Soft, Splits};
use crate::infer::argmax;
use crate::labels::{HIGH_RISK, N_LEVELS};
use crate::metrics::Scores;
use crate::model::bert::{self, BertClassifier};
use crate::tokenize::PieceTokenizer;
use crate::train::Example;

pub(super) struct Row {
    pub(super) ids: Vec<u32>,
    pub(super) level: usize,
    pub(super) binary: Option<usize>,
    pub(super) soft: Option<Soft>,
}

pub(super) fn encode(
    tokenizer: &PieceTokenizer,
    examples: &[Example],
    soft: Option<&[Soft]>,
) -> Result<Vec<Row>, crate::Error> {
    examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(Row {
                ids: tokenizer.encode(&e.text)?.ids,
                level: e.level,
                binary: e.binary,
                soft: soft.map(|s| s[i].clone()),
            })
        })
        .collect()
}

pub(super) fn batch(rows: &[&Row], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let ids: Vec<&[u32]> = rows.iter().map(|r| r.ids.as_slice()).collect();
    bert::batch(&ids, device)
}

/// Runs `f` on `rows` in batches of 32 of similar length (less padding) and returns each of its
/// `K` outputs row-major, in row order.
pub(super) fn by_length<const K: usize>(
    rows: &[Row],
    device: &Device,
    f: impl Fn(Tensor<2, Int>, Tensor<2>) -> [Tensor<2>; K],
) -> [Vec<f32>; K] {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].ids.len());
    let mut out: [Vec<f32>; K] = std::array::from_fn(|_| Vec::new());
    for chunk in order.chunks(32) {
        let batch_rows: Vec<&Row> = chunk.iter().map(|&i| &rows[i]).collect();
        let (ids, mask) = batch(&batch_rows, device);
        for (all, tensor) in out.iter_mut().zip(f(ids, mask)) {
            let width = tensor.dims()[1];
            if all.is_empty() {
                all.resize(rows.len() * width, 0.0);
            }
            let values = tensor.into_data().try_into_vec::<f32>().expect("f32");
            for (k, &i) in chunk.iter().enumerate() {
                all[i * width..(i + 1) * width].copy_from_slice(&values[k * width..(k + 1) * width]);
            }
        }
    }
    out
}

/// Both heads' logits for every row, in row order: `(level, binary)`, row-major.
pub(super) fn logits(model: &BertClassifier, rows: &[Row], device: &Device) -> (Vec<f32>, Vec<f32>) {
    let [level, binary] = by_length(rows, device, |ids, mask| {
        let out = model.forward(ids, mask);
        [out.level, out.binary]
    });
    (level, binary)
}

/// A frozen encoder's pooled outputs, computed once: training then only runs the heads, which
/// gives the same model as running the encoder at every step (it has no dropout of its own).
pub(super) struct Frozen {
    pub(super) hidden: usize,
    pub(super) train: Vec<f32>,
    pub(super) val: Vec<f32>,
    pub(super) pools: Vec<Vec<f32>>,
}

impl Frozen {
    pub(super) fn new(encoder: &bert::BertEncoder, rows: &Rows, hidden: usize, device: &Device) -> Self {
        let pooled = |rows| {
            let [p] = by_length(rows, device, |ids, mask| [encoder.pooled(ids, mask)]);
            p
        };
        Self {
            hidden,
            train: pooled(&rows.train),
            val: pooled(&rows.val),
            pools: rows.pools.iter().map(|p| pooled(p)).collect(),
        }
    }

    /// The pooled outputs of `rows` (indices into `features`) as one `[rows, hidden]` tensor.
    pub(super) fn gather(&self, features: &[f32], rows: &[usize], device: &Device) -> Tensor<2> {
        let h = self.hidden;
        let values: Vec<f32> = rows
            .iter()
            .flat_map(|&i| &features[i * h..(i + 1) * h])
            .copied()
            .collect();
        Tensor::from_data(TensorData::new(values, [rows.len(), h]), device)
    }

    pub(super) fn val_logits(&self, model: &BertClassifier, device: &Device) -> (Vec<f32>, Vec<f32>) {
        let all: Vec<usize> = (0..self.val.len() / self.hidden).collect();
        let out = model.heads(self.gather(&self.val, &all, device));
        let values = |t: Tensor<2>| t.into_data().try_into_vec::<f32>().expect("f32");
        (values(out.level), values(out.binary))
    }
}

/// (level, binary) of each row, for the loss and the scores.
pub(super) fn labels<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<(usize, Option<usize>)> {
    rows.into_iter().map(|r| (r.level, r.binary)).collect()
}

pub(super) fn argmax_scores(rows: &[Row], (level, binary): &(Vec<f32>, Vec<f32>)) -> Scores {
    let preds: Vec<(usize, usize)> = level
        .chunks(N_LEVELS)
        .zip(binary.chunks(2))
        .map(|(l, b)| (argmax(l), argmax(b)))
        .collect();
    Scores::of_predictions(&labels(rows), &preds)
}

/// Share of rows the argmax calls flag: high risk, or a level of 4 or more (a suicidal wish).
pub(super) fn flagged_share((level, binary): &(Vec<f32>, Vec<f32>)) -> f64 {
    let n = binary.len() / 2;
    let flagged = level
        .chunks(N_LEVELS)
        .zip(binary.chunks(2))
        .filter(|(l, b)| argmax(l) >= 4 || argmax(b) == HIGH_RISK)
        .count();
    flagged as f64 / n.max(1) as f64
}

/// Every split, tokenized.
pub(super) struct Rows {
    pub(super) train: Vec<Row>,
    pub(super) val: Vec<Row>,
    pub(super) test: Vec<Row>,
    pub(super) pools: Vec<Vec<Row>>,
    pub(super) watch: Vec<Row>,
}

impl Rows {
    pub(super) fn new(tokenizer: &PieceTokenizer, s: &Splits) -> Result<Self, crate::Error> {
        Ok(Self {
            train: encode(tokenizer, s.train, s.train_soft)?,
            val: encode(tokenizer, s.val, None)?,
            test: encode(tokenizer, s.test, None)?,
            pools: s
                .pools
                .iter()
                .map(|(examples, soft)| encode(tokenizer, examples, *soft))
                .collect::<Result<_, _>>()?,
            watch: encode(tokenizer, s.watch, None)?,
        })
    }
}
