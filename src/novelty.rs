//! How unlike the texts a model learned from a text is: "this text is unlike the texts the model
//! learned from — read it yourself" (issue 16). SOS-1K is one tree hole, and on text unlike it
//! (an everyday post in social-media style, say) the model's answer means little; a counselor
//! should know when that is so.
//!
//! The measure: the cosine distance from a text's mean-pooled hidden states after the first
//! [`NoveltySpec::depth`] layers to the nearest of a few hundred **landmarks**, the centres of a
//! spherical k-means over the texts the model learned from. The lower layers, not the last: the
//! fine-tuned last layer maps an everyday post next to tree-hole posts (that is the false alarm),
//! while after 4 layers what a text is about and how it is written still show (docs/model.md,
//! "Unlike the texts it learned from"). Centres of many texts, not the texts' own vectors, so
//! that no training post's vector is shipped. A text is *unfamiliar* beyond the threshold: the
//! distance 95 % of the validation fold's posts stay within.
//!
//! The note changes no call: a plainly written plan is unlike the tree hole too, and must stay
//! high. It is shown beside the answer, in the CLI, the page and the export.

use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What `config.json` says about a model's landmarks (`model.novelty`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoveltySpec {
    /// Layers after which the hidden states are pooled.
    pub depth: usize,
    /// Number of landmarks (rows of the tensor appended to the weight file).
    pub landmarks: usize,
    /// Distances above this are unfamiliar.
    pub threshold: f32,
    /// What the landmarks were fitted on, and the threshold on, for the model card.
    pub fitted_on: String,
}

/// The landmarks, unit vectors `[landmarks, hidden]`.
#[derive(Module, Debug)]
pub struct Landmarks {
    pub centres: Param<Tensor<2>>,
}

impl Landmarks {
    /// Zeros of the shape `spec` names, to load a weight file into.
    pub fn zeros(spec: &NoveltySpec, hidden: usize, device: &Device) -> Self {
        Self {
            centres: Param::from_tensor(Tensor::zeros([spec.landmarks, hidden], device)),
        }
    }

    pub fn new(centres: Tensor<2>) -> Self {
        Self {
            centres: Param::from_tensor(unit_rows(centres)),
        }
    }

    /// Cosine distance of each pooled row `[batch, hidden]` to its nearest landmark: `[batch, 1]`.
    pub fn distance(&self, pooled: Tensor<2>) -> Tensor<2> {
        let similarity = unit_rows(pooled).matmul(self.centres.val().transpose());
        similarity.max_dim(1).neg().add_scalar(1.0)
    }
}

/// Each row scaled to length 1 (a zero row stays zero).
fn unit_rows(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Spherical k-means: `k` unit centres for the rows of `x` (`[n, hidden]`), `rounds` rounds of
/// assigning each row to its most similar centre and moving each centre to its rows' mean
/// direction (a centre that loses all its rows stays). Deterministic: it starts from every
/// `n / k`-th row of `order`, a permutation the caller draws.
pub fn spherical_kmeans(x: Tensor<2>, k: usize, rounds: usize, order: &[usize]) -> Tensor<2> {
    let [n, _] = x.dims();
    assert!(
        k > 0 && k <= n && order.len() == n,
        "k-means: {k} centres for {n} rows"
    );
    let device = x.device();
    let x = unit_rows(x);
    let start: Vec<i64> = (0..k).map(|j| order[j * n / k] as i64).collect();
    let mut centres = x
        .clone()
        .select(0, Tensor::<1, Int>::from_data(start.as_slice(), &device));
    for _ in 0..rounds {
        let nearest = x
            .clone()
            .matmul(centres.clone().transpose())
            .argmax(1)
            .reshape([n]);
        // One-hot assignment `[n, k]`, so the sums are one matrix product.
        let one_hot: Tensor<2> = nearest.one_hot(k).float();
        let sums = one_hot.clone().transpose().matmul(x.clone());
        let counts = one_hot.sum_dim(0).reshape([k, 1]);
        let empty = counts.clone().equal_elem(0.0).expand([k, x.dims()[1]]);
        centres = unit_rows(sums).mask_where(empty, centres);
    }
    centres
}

/// The `q`-quantile (0–1) of `values`, the nearest rank: the threshold that `q` of them stay within.
pub fn quantile(values: &[f32], q: f32) -> f32 {
    assert!(!values.is_empty(), "quantile of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = ((q * sorted.len() as f32).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(rows: &[[f32; 3]]) -> Tensor<2> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), 3]), &Device::flex())
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn k_means_finds_two_directions_and_distance_measures_from_them() {
        // Two bundles of directions, around x and around y, of different lengths.
        let x = tensor(&[
            [1.0, 0.1, 0.0],
            [3.0, -0.2, 0.1],
            [2.0, 0.0, -0.1],
            [0.1, 1.0, 0.0],
            [-0.1, 5.0, 0.2],
            [0.0, 2.0, -0.2],
        ]);
        let order = [0, 1, 2, 3, 4, 5];
        let landmarks = Landmarks::new(spherical_kmeans(x, 2, 5, &order));
        let d = values(landmarks.distance(tensor(&[[4.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 1.0]])));
        // Along either bundle: near 0 (whatever the length); orthogonal to both: near 1.
        assert!(d[0] < 0.01 && d[1] < 0.01, "{d:?}");
        assert!(d[2] > 0.95, "{d:?}");
    }

    #[test]
    fn a_centre_left_without_rows_stays_where_it_was() {
        // Both starting centres are the same row: the second never wins a row.
        let x = tensor(&[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        let centres = values(spherical_kmeans(x, 2, 3, &[0, 1, 2]));
        assert!(centres.iter().all(|v| v.is_finite()), "{centres:?}");
    }

    #[test]
    fn quantile_is_the_nearest_rank() {
        let v: Vec<f32> = (1..=20).map(|i| i as f32).collect();
        assert_eq!(quantile(&v, 0.95), 19.0);
        assert_eq!(quantile(&v, 1.0), 20.0);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&[3.0], 0.5), 3.0);
    }
}
