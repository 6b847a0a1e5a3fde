//! Ordinal targets for the level head. The levels 0–10 are ordered, and a level off by one is a
//! near miss, not an unrelated class; plain cross-entropy treats both the same. With a width
//! σ > 0 the one-hot target of level y becomes a discrete Gaussian around it,
//! q_k ∝ exp(−(k − y)² / 2σ²) (soft ordinal labels, "SORD", Díaz & Marathe, CVPR 2019), and the
//! loss is the cross-entropy against q. σ = 0 is the one-hot label, so the option costs nothing
//! where it is off.

use burn::prelude::*;

use crate::labels::N_LEVELS;

/// The soft target of `level` at width `sigma` (one-hot at 0).
pub fn targets(level: usize, sigma: f64) -> [f32; N_LEVELS] {
    let mut q = [0f32; N_LEVELS];
    if sigma <= 0.0 {
        q[level] = 1.0;
        return q;
    }
    let raw: Vec<f64> = (0..N_LEVELS)
        .map(|k| (-((k as f64 - level as f64).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    for (q, r) in q.iter_mut().zip(raw) {
        *q = (r / sum) as f32;
    }
    q
}

/// The class-weighted cross-entropy of the level head against each row's soft target:
/// `−Σ_i w(y_i) Σ_k q_k(y_i) log p_ik / Σ_i w(y_i)`, where a row's weight is its own level's
/// (the same balancing as the one-hot loss); rows without a level count for nothing.
pub fn cross_entropy(
    logits: Tensor<2>,
    levels: &[Option<usize>],
    class_weight: &[f32],
    sigma: f64,
    device: &Device,
) -> Tensor<1> {
    let soft: Vec<Option<([f32; N_LEVELS], f32)>> = levels
        .iter()
        .map(|level| level.map(|y| (targets(y, sigma), class_weight[y])))
        .collect();
    let rows: Vec<Option<(&[f32], f32)>> = soft
        .iter()
        .map(|t| t.as_ref().map(|(q, w)| (&q[..], *w)))
        .collect();
    crate::loss::soft_cross_entropy(logits, &rows, 1.0, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_into_vec::<f32>().expect("f32")[0]
    }

    #[test]
    fn a_target_is_a_distribution_peaked_at_its_level() {
        for sigma in [0.0, 0.5, 1.0, 2.0] {
            for level in [0, 5, 10] {
                let q = targets(level, sigma);
                assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                let peak = (0..N_LEVELS).max_by(|&a, &b| q[a].total_cmp(&q[b])).unwrap();
                assert_eq!(peak, level);
            }
        }
        assert_eq!(targets(3, 0.0)[3], 1.0);
        // Symmetric around the level, falling with distance.
        let q = targets(5, 1.0);
        assert!((q[4] - q[6]).abs() < 1e-6 && q[4] > q[3] && q[3] > q[2]);
    }

    #[test]
    fn a_near_miss_costs_less_than_a_far_one_and_width_zero_is_one_hot() {
        let device = Device::flex();
        let confident = |k: usize| {
            let mut row = vec![0f32; N_LEVELS];
            row[k] = 8.0;
            Tensor::<2>::from_data(TensorData::new(row, [1, N_LEVELS]), &device)
        };
        let ones = [1.0f32; N_LEVELS];
        let loss =
            |k: usize, sigma: f64| value(cross_entropy(confident(k), &[Some(5)], &ones, sigma, &device));
        assert!(
            loss(6, 1.0) < loss(9, 1.0),
            "off by one must cost less than off by four"
        );
        // One-hot: every wrong level costs the same.
        assert!((loss(6, 0.0) - loss(9, 0.0)).abs() < 1e-5);
        // And equals the plain cross-entropy −log p_y.
        let p_y = 1.0 / (10.0 + 8f32.exp());
        assert!((loss(6, 0.0) + p_y.ln()).abs() < 1e-4);
    }

    #[test]
    fn rows_are_weighted_by_their_levels_weight_and_unlabelled_rows_count_for_nothing() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(
                (0..2 * N_LEVELS).map(|i| (i % 7) as f32).collect::<Vec<_>>(),
                [2, N_LEVELS],
            ),
            &device,
        );
        let mut w = [1.0f32; N_LEVELS];
        let alone = value(cross_entropy(
            logits.clone().slice([0..1, 0..N_LEVELS]),
            &[Some(2)],
            &w,
            1.0,
            &device,
        ));
        let with_unlabelled = value(cross_entropy(logits.clone(), &[Some(2), None], &w, 1.0, &device));
        assert!((alone - with_unlabelled).abs() < 1e-5);
        // A row whose level weighs 3 counts three times as much as one whose level weighs 1.
        w[2] = 3.0;
        let second = value(cross_entropy(
            logits.clone().slice([1..2, 0..N_LEVELS]),
            &[Some(7)],
            &w,
            1.0,
            &device,
        ));
        let both = value(cross_entropy(logits, &[Some(2), Some(7)], &w, 1.0, &device));
        assert!((both - (3.0 * alone + second) / 4.0).abs() < 1e-4);
    }
}
