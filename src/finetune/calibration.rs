//! Temperature scaling of each head and its expected calibration error, fitted on the
//! validation fold's logits after training.

use serde::{Deserialize, Serialize};

use crate::infer::argmax;
use crate::metrics::expected_calibration_error;

/// Row-wise softmax of `logits / temperature` (rows of `width`).
pub fn softmax_rows(logits: &[f32], width: usize, temperature: f32) -> Vec<f32> {
    logits
        .chunks(width)
        .flat_map(|row| {
            let max = row.iter().fold(f32::MIN, |m, &v| m.max(v));
            let exp: Vec<f32> = row.iter().map(|v| ((v - max) / temperature).exp()).collect();
            let sum: f32 = exp.iter().sum();
            exp.into_iter().map(move |e| e / sum)
        })
        .collect()
}

/// Mean negative log-likelihood of `targets` under softmax(logits / t).
fn nll(logits: &[f32], width: usize, targets: &[Option<usize>], t: f32) -> f64 {
    let probs = softmax_rows(logits, width, t);
    let (sum, n) = targets
        .iter()
        .enumerate()
        .filter_map(|(i, y)| y.map(|y| -(f64::from(probs[i * width + y]).max(1e-12)).ln()))
        .fold((0.0, 0), |(s, n), v| (s + v, n + 1));
    sum / f64::from(n.max(1))
}

/// The temperature in 0.25–5 (steps of 0.05) with the lowest validation NLL.
pub fn fit_temperature(logits: &[f32], width: usize, targets: &[Option<usize>]) -> f32 {
    (5..=100)
        .map(|k| k as f32 * 0.05)
        .min_by(|&a, &b| nll(logits, width, targets, a).total_cmp(&nll(logits, width, targets, b)))
        .expect("non-empty range")
}

/// Expected calibration error (15 bins) of the most probable class.
fn ece(logits: &[f32], width: usize, targets: &[Option<usize>], t: f32) -> f64 {
    let probs = softmax_rows(logits, width, t);
    let (conf, correct): (Vec<f64>, Vec<bool>) = targets
        .iter()
        .enumerate()
        .filter_map(|(i, y)| {
            let row = &probs[i * width..(i + 1) * width];
            let best = argmax(row);
            y.map(|y| (f64::from(row[best]), best == y))
        })
        .unzip();
    expected_calibration_error(&conf, &correct, 15)
}

/// Calibration of one head on one split: ECE before and after temperature scaling.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub temperature: f32,
    pub validation_ece: (f64, f64),
    pub test_ece: Option<(f64, f64)>,
}

/// Fits one head's temperature on the validation logits and measures ECE before and after.
pub fn calibrate(
    width: usize,
    val: (&[f32], &[Option<usize>]),
    test: Option<(&[f32], Vec<Option<usize>>)>,
) -> Calibration {
    let t = fit_temperature(val.0, width, val.1);
    let both = |l: &[f32], y: &[Option<usize>]| (ece(l, width, y, 1.0), ece(l, width, y, t));
    Calibration {
        temperature: t,
        validation_ece: both(val.0, val.1),
        test_ece: test.map(|(l, y)| both(l, &y)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_scaling_recovers_an_overconfidence_of_two() {
        // Logits [2, 0] everywhere, but class 0 is right only as often as softmax([1, 0]) says.
        let p0 = 1.0 / (1.0 + (-1.0f64).exp());
        let n = 1000;
        let right = (p0 * n as f64).round() as usize;
        let logits: Vec<f32> = (0..n).flat_map(|_| [2.0, 0.0]).collect();
        let targets: Vec<Option<usize>> = (0..n).map(|i| Some(usize::from(i >= right))).collect();
        let t = fit_temperature(&logits, 2, &targets);
        assert!((t - 2.0).abs() < 0.051, "temperature {t}");
        let cal = calibrate(2, (&logits, &targets), None);
        assert!(
            cal.validation_ece.1 < 0.01 && cal.validation_ece.0 > 0.1,
            "{:?}",
            cal.validation_ece
        );
    }
}
