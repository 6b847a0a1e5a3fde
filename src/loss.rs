//! The cross-entropies every trainer uses. One soft form serves both the level head's ordinal
//! targets ([`crate::ordinal`]) and distillation from a teacher ([`crate::finetune::distill`]):
//! each row brings a target distribution and a weight. The hard form (one class per row) stays a
//! gather: it is the loss every shipped model trained through, so its arithmetic is kept as it
//! was.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Cross-entropy over the rows whose class is known, each weighted by its class's weight,
/// normalised by the summed weight.
pub(crate) fn weighted_cross_entropy(
    logits: Tensor<2>,
    targets: &[Option<usize>],
    class_weight: &[f32],
    device: &Device,
) -> Tensor<1> {
    let n = targets.len();
    let idx: Vec<i64> = targets.iter().map(|t| t.unwrap_or(0) as i64).collect();
    let weight: Vec<f32> = targets
        .iter()
        .map(|t| t.map_or(0.0, |c| class_weight[c]))
        .collect();
    let known = weight.iter().sum::<f32>().max(f32::EPSILON);
    let idx = Tensor::<2, Int>::from_data(TensorData::new(idx, [n, 1]), device);
    let weight = Tensor::<2>::from_data(TensorData::new(weight, [n, 1]), device);
    let picked = log_softmax(logits, 1).gather(1, idx);
    (picked * weight).sum().neg() / known
}

/// `T² · Σ_i w_i Σ_k −q_ik · log softmax(z_i / T)_k / Σ_i w_i` over the rows with a target `q_i`
/// (a distribution over the logits' classes) and a weight `w_i`; rows without one count for
/// nothing. `T²` keeps the gradient's scale independent of the temperature `T`.
pub fn soft_cross_entropy(
    logits: Tensor<2>,
    targets: &[Option<(&[f32], f32)>],
    temperature: f64,
    device: &Device,
) -> Tensor<1> {
    let [n, width] = logits.dims();
    let mut values = vec![0f32; n * width];
    let mut weights = vec![0f32; n];
    for (i, target) in targets.iter().enumerate() {
        if let Some((q, w)) = target {
            values[i * width..(i + 1) * width].copy_from_slice(q);
            weights[i] = *w;
        }
    }
    let known = f64::from(weights.iter().sum::<f32>().max(f32::EPSILON));
    let target = Tensor::<2>::from_data(TensorData::new(values, [n, width]), device);
    let weight = Tensor::<2>::from_data(TensorData::new(weights, [n, 1]), device);
    let log_p = log_softmax(logits.div_scalar(temperature), 1);
    (log_p * target * weight)
        .sum()
        .neg()
        .mul_scalar(temperature * temperature / known)
}

/// R-Drop's consistency term (Liang et al., 2021): the mean over rows of the symmetric
/// Kullback–Leibler divergence ½ (KL(p‖q) + KL(q‖p)) = ½ Σ_k (p_k − q_k)(log p_k − log q_k)
/// between the softmaxes of two passes' logits over the same rows.
pub fn symmetric_kl(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let [n, _] = a.dims();
    let (log_p, log_q) = (log_softmax(a, 1), log_softmax(b, 1));
    ((log_p.clone().exp() - log_q.clone().exp()) * (log_p - log_q))
        .sum()
        .mul_scalar(0.5 / n.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_into_vec::<f32>().expect("f32")[0]
    }

    fn logits(device: &Device) -> Tensor<2> {
        let raw: Vec<f32> = (0..9).map(|i| ((i * 5) % 7) as f32 - 3.0).collect();
        Tensor::<2>::from_data(TensorData::new(raw, [3, 3]), device)
    }

    #[test]
    fn the_symmetric_divergence_is_zero_for_one_distribution_and_matches_its_definition() {
        let device = Device::flex();
        assert!(value(symmetric_kl(logits(&device), logits(&device))).abs() < 1e-6);
        let other = logits(&device).mul_scalar(0.5).add_scalar(0.25);
        let got = value(symmetric_kl(logits(&device), other.clone()));
        let rows = |t: Tensor<2>| {
            let v = t.into_data().try_into_vec::<f32>().expect("f32");
            v.chunks(3)
                .map(|r| {
                    let z: f32 = r.iter().map(|x| x.exp()).sum();
                    r.iter().map(|x| x.exp() / z).collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        let (p, q) = (rows(logits(&device)), rows(other));
        let kl = |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(a, b)| a * (a / b).ln()).sum::<f32>();
        let want = p
            .iter()
            .zip(&q)
            .map(|(p, q)| (kl(p, q) + kl(q, p)) / 2.0)
            .sum::<f32>()
            / 3.0;
        assert!(want > 0.01 && (got - want).abs() < 1e-5, "{got} against {want}");
    }

    #[test]
    fn one_hot_soft_targets_give_the_hard_loss() {
        let device = Device::flex();
        let class_weight = [0.5f32, 2.0, 1.0];
        let labels = [Some(1), None, Some(2)];
        let hard = value(weighted_cross_entropy(
            logits(&device),
            &labels,
            &class_weight,
            &device,
        ));
        let one_hot: Vec<[f32; 3]> = labels
            .iter()
            .map(|l| {
                let mut q = [0.0; 3];
                q[l.unwrap_or(0)] = 1.0;
                q
            })
            .collect();
        let soft: Vec<Option<(&[f32], f32)>> = labels
            .iter()
            .zip(&one_hot)
            .map(|(l, q)| l.map(|c| (&q[..], class_weight[c])))
            .collect();
        let soft = value(soft_cross_entropy(logits(&device), &soft, 1.0, &device));
        assert!((hard - soft).abs() < 1e-5, "{hard} against {soft}");
    }

    #[test]
    fn a_weight_counts_a_row_that_many_times_and_the_temperature_is_squared_back() {
        let device = Device::flex();
        let q = [0.2f32, 0.3, 0.5];
        let row = |i: usize| logits(&device).slice([i..i + 1, 0..3]);
        let alone = |i: usize| value(soft_cross_entropy(row(i), &[Some((&q, 1.0))], 1.0, &device));
        let mixed = value(soft_cross_entropy(
            logits(&device),
            &[Some((&q, 3.0)), Some((&q, 1.0)), None],
            1.0,
            &device,
        ));
        assert!((mixed - (3.0 * alone(0) + alone(1)) / 4.0).abs() < 1e-5);
        // At temperature T the loss is T² times the cross-entropy of the logits divided by T.
        let t = 2.0;
        let hot = value(soft_cross_entropy(row(0), &[Some((&q, 1.0))], t, &device));
        let divided = value(soft_cross_entropy(
            row(0).div_scalar(t),
            &[Some((&q, 1.0))],
            1.0,
            &device,
        ));
        assert!((hot - 4.0 * divided).abs() < 1e-4, "{hot} against 4 × {divided}");
    }
}
