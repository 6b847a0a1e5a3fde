//! What the model says about a text: shared by the CLI, the web worker that computes it and the
//! page that shows it (which has no model code of its own).

use serde::{Deserialize, Serialize};

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Most probable level, 0–10.
    pub level: usize,
    pub level_probs: Vec<f32>,
    /// Plain-language band of `level`.
    pub band: String,
    /// The binary head's call.
    pub high_risk: bool,
    pub high_risk_prob: f32,
    /// Characters the model read; `truncated` when the text was longer than it reads.
    pub chars_used: usize,
    pub truncated: bool,
    /// With `--explain` (CLI) or in the page: per character of the text read, how much
    /// P(high risk) drops when that character is left out (negative: it lowered the risk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Vec<f32>>,
}

/// Index of the largest value (the first of equals); 0 for an empty slice.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

impl Prediction {
    /// Averages several models' predictions of the same text: the mean of their level and
    /// high-risk probabilities, judged against the mean of their binary thresholds (each chosen
    /// on its own validation folds, so the rule is fixed before any test text is seen).
    /// `members` holds each model's prediction with that model's threshold; at least one.
    pub fn average(members: &[(&Prediction, f32)]) -> Prediction {
        let n = members.len() as f32;
        let first = members[0].0;
        let mut level_probs = vec![0.0; first.level_probs.len()];
        for (p, _) in members {
            for (sum, v) in level_probs.iter_mut().zip(&p.level_probs) {
                *sum += v / n;
            }
        }
        let high_risk_prob = members.iter().map(|(p, _)| p.high_risk_prob).sum::<f32>() / n;
        let threshold = members.iter().map(|(_, t)| t).sum::<f32>() / n;
        let level = argmax(&level_probs);
        Prediction {
            level,
            band: crate::labels::band(level).into(),
            level_probs,
            high_risk: high_risk_prob >= threshold,
            high_risk_prob,
            // Members may read different amounts of a long text (their tokenizers differ).
            chars_used: members.iter().map(|(p, _)| p.chars_used).min().unwrap_or(0),
            truncated: members.iter().any(|(p, _)| p.truncated),
            attribution: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(level_probs: Vec<f32>, high_risk_prob: f32, chars_used: usize) -> Prediction {
        Prediction {
            level: argmax(&level_probs),
            band: String::new(),
            level_probs,
            high_risk: false,
            high_risk_prob,
            chars_used,
            truncated: false,
            attribution: None,
        }
    }

    #[test]
    fn average_takes_the_mean_probabilities_against_the_mean_threshold() {
        let a = prediction(vec![0.6, 0.4], 0.30, 10);
        let b = prediction(vec![0.0, 1.0], 0.50, 8);
        let avg = Prediction::average(&[(&a, 0.2), (&b, 0.5)]);
        for (got, want) in avg.level_probs.iter().zip([0.3, 0.7]) {
            assert!((got - want).abs() < 1e-6, "{:?}", avg.level_probs);
        }
        assert_eq!(avg.level, 1);
        assert_eq!(avg.band, crate::labels::band(1));
        assert!((avg.high_risk_prob - 0.40).abs() < 1e-6);
        // 0.40 reaches the mean threshold 0.35, though it is below b's own 0.5.
        assert!(avg.high_risk);
        assert_eq!(avg.chars_used, 8);
        let lone = Prediction::average(&[(&a, 0.35)]);
        assert_eq!((lone.level, lone.high_risk), (0, false));
    }
}
