//! Distillation targets: a teacher's (e.g. the fold models' average) probabilities for a text,
//! softened by a temperature, and the student's soft cross-entropy against them.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// How much of the loss comes from the teacher, and at what temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distill {
    /// Share of the soft loss: `(1 − alpha)·hard + alpha·T²·soft` on rows with targets.
    pub alpha: f64,
    pub temperature: f64,
    /// Pools that keep their hard label only (by their CLI names); absent from the settings
    /// when empty, so that runs from before the option compare equal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untaught: Vec<String>,
}

/// A teacher's probabilities for one text, both heads, already softened (see [`Soft::soften`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Soft {
    pub level: Vec<f32>,
    pub binary: [f32; 2],
}

impl Soft {
    /// A label as a target: all of the probability on `level` and on `binary` (0 low, 1 high).
    pub fn one_hot(level: usize, binary: usize) -> Self {
        let mut levels = vec![0.0; crate::labels::N_LEVELS];
        levels[level] = 1.0;
        let mut b = [0.0; 2];
        b[binary] = 1.0;
        Self {
            level: levels,
            binary: b,
        }
    }

    /// `softmax(z / T)` from `softmax(z)`: each probability to the power 1/T, renormalised
    /// (the teacher's logits are not needed).
    pub fn soften(level: &[f32], p_high: f32, temperature: f64) -> Self {
        let power = |ps: &[f32]| {
            let raised: Vec<f64> = ps
                .iter()
                .map(|&p| f64::from(p.max(1e-12)).powf(1.0 / temperature))
                .collect();
            let sum: f64 = raised.iter().sum();
            raised.into_iter().map(|p| (p / sum) as f32).collect::<Vec<f32>>()
        };
        let binary = power(&[1.0 - p_high, p_high]);
        Self {
            level: power(level),
            binary: [binary[0], binary[1]],
        }
    }
}

/// Mean over the rows with a target of `T² · Σ_k −target_k · log softmax(logits / T)_k`
/// ([`crate::loss::soft_cross_entropy`] with every such row weighing the same); rows without one
/// count for nothing.
pub fn soft_cross_entropy(
    logits: Tensor<2>,
    targets: &[Option<&[f32]>],
    temperature: f64,
    device: &Device,
) -> Tensor<1> {
    let rows: Vec<Option<(&[f32], f32)>> = targets.iter().map(|t| t.map(|t| (t, 1.0))).collect();
    crate::loss::soft_cross_entropy(logits, &rows, temperature, device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::activation::softmax;

    #[test]
    fn a_label_as_a_target_is_one_hot() {
        let s = Soft::one_hot(8, 1);
        assert_eq!(s.level.len(), crate::labels::N_LEVELS);
        assert_eq!((s.level[8], s.level.iter().sum::<f32>()), (1.0, 1.0));
        assert_eq!(s.binary, [0.0, 1.0]);
    }

    #[test]
    fn settings_without_untaught_pools_are_those_of_earlier_runs() {
        // A resumed cross-validation compares its settings with the run directory's.
        let before = serde_json::json!({ "alpha": 0.5, "temperature": 2.0 });
        let d = Distill {
            alpha: 0.5,
            temperature: 2.0,
            untaught: Vec::new(),
        };
        assert_eq!(serde_json::to_value(&d).unwrap(), before);
        assert_eq!(serde_json::from_value::<Distill>(before).unwrap(), d);
        let some = Distill {
            untaught: vec!["generated".into()],
            ..d
        };
        assert_eq!(serde_json::to_value(&some).unwrap()["untaught"][0], "generated");
    }

    #[test]
    fn softening_at_temperature_one_keeps_the_probabilities() {
        let s = Soft::soften(&[0.7, 0.2, 0.1], 0.3, 1.0);
        assert!((s.level[0] - 0.7).abs() < 1e-6 && (s.binary[1] - 0.3).abs() < 1e-6);
        let hot = Soft::soften(&[0.7, 0.2, 0.1], 0.3, 2.0);
        assert!(
            hot.level[0] < 0.7 && hot.level[2] > 0.1,
            "a higher temperature flattens"
        );
        assert!((hot.level.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    fn kl(teacher: &[Vec<f32>], student: &Tensor<2>) -> f64 {
        let p = student.clone().into_data().try_into_vec::<f32>().expect("f32");
        let w = teacher[0].len();
        teacher
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.iter()
                    .enumerate()
                    .map(|(k, &q)| f64::from(q) * (f64::from(q) / f64::from(p[i * w + k])).ln())
                    .sum::<f64>()
            })
            .sum::<f64>()
            / teacher.len() as f64
    }

    #[test]
    fn distilling_a_fixed_teacher_reduces_the_students_kl() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let inputs: Vec<f32> = (0..8 * 4).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(inputs, [8, 4]), &device);
        // A teacher with its own opinion per row (not one-hot).
        let teacher: Vec<Vec<f32>> = (0..8)
            .map(|i| {
                let raw = [1.0 + i as f32, 2.0, 0.5 + (i % 3) as f32];
                let s: f32 = raw.iter().sum();
                raw.iter().map(|r| r / s).collect()
            })
            .collect();
        let targets: Vec<Option<&[f32]>> = teacher.iter().map(|t| Some(t.as_slice())).collect();
        let mut student: Linear = LinearConfig::new(4, 3).init(&device);
        let before = kl(&teacher, &softmax(student.forward(x.clone()), 1));
        let mut optim = AdamWConfig::new().init();
        for _ in 0..200 {
            let loss = soft_cross_entropy(student.forward(x.clone()), &targets, 2.0, &device);
            let grads = GradientsParams::from_grads(loss.backward(), &student);
            student = optim.step(0.05, student, grads);
        }
        let after = kl(&teacher, &softmax(student.forward(x), 1));
        assert!(after < before * 0.5, "KL {before} → {after}");
    }

    #[test]
    fn rows_without_targets_count_for_nothing() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 5.0, -5.0], [2, 2]), &device);
        let t = [0.5f32, 0.5];
        let one = soft_cross_entropy(logits.clone().slice([0..1, 0..2]), &[Some(&t)], 1.0, &device);
        let both = soft_cross_entropy(logits, &[Some(&t), None], 1.0, &device);
        let v = |x: Tensor<1>| x.into_data().try_into_vec::<f32>().expect("f32")[0];
        assert!((v(one) - v(both)).abs() < 1e-6);
    }
}
