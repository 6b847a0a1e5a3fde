//! What the model says about a text: shared by the CLI, the web worker that computes it and the
//! page that shows it (which has no model code of its own).

use serde::{Deserialize, Serialize};

use crate::assessment::{Call, Reason, assess};
use crate::safety_net::{self, Hit};
use crate::windows::{Span, WindowScore};

/// What the model says about one text, and the one answer shown for it.
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
    /// Characters the model read; `truncated` when the text was longer than it reads at all
    /// ([`crate::windows::MAX_CHARS`]).
    pub chars_used: usize,
    pub truncated: bool,
    /// For a text read in several windows: the window this result is (the highest P(high)),
    /// and every window's result ([`crate::windows`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Span>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowScore>,
    /// With `--explain` (CLI) or in the page: per character of the text read, how much
    /// P(high risk) drops when that character is left out (negative: it lowered the risk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Vec<f32>>,
    /// The safety net's phrase in the text, if any ([`crate::safety_net`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase: Option<Hit>,
    /// The answer for the text, and why ([`crate::assessment`]).
    pub call: Call,
    pub reason: Reason,
    /// For a model with landmarks: how unlike the texts it learned from this text is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub novelty: Option<Novelty>,
}

/// How unlike the texts the model learned from a text is (`novelty`, in the model feature): the
/// cosine distance to the nearest landmark, and whether that is beyond the model's threshold.
/// A note beside the answer; it changes no call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Novelty {
    pub distance: f32,
    pub unfamiliar: bool,
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
    /// The prediction for these probabilities (level and P(high)) at `threshold`, before the
    /// safety net has read the text ([`Self::screen`]).
    pub fn from_probabilities(
        level_probs: Vec<f32>,
        high_risk_prob: f32,
        threshold: f32,
        (chars_used, truncated): (usize, bool),
    ) -> Self {
        let level = argmax(&level_probs);
        let high_risk = high_risk_prob >= threshold;
        let (call, reason) = assess(level, high_risk, false);
        Self {
            level,
            band: crate::labels::band(level).into(),
            level_probs,
            high_risk,
            high_risk_prob,
            chars_used,
            truncated,
            window: None,
            windows: Vec::new(),
            attribution: None,
            phrase: None,
            call,
            reason,
            novelty: None,
        }
    }

    /// Runs the safety net over the whole of `text` (also what the model did not read) and
    /// settles the call.
    pub fn screen(mut self, text: &str) -> Self {
        self.phrase = safety_net::find(text);
        (self.call, self.reason) = assess(self.level, self.high_risk, self.phrase.is_some());
        self
    }

    /// The same prediction with the binary head's call made at another threshold (the level and
    /// the safety net's phrase stay): what an operating point would answer.
    pub fn at_threshold(&self, threshold: f32) -> Self {
        let mut p = self.clone();
        p.high_risk = p.high_risk_prob >= threshold;
        (p.call, p.reason) = assess(p.level, p.high_risk, p.phrase.is_some());
        p
    }

    /// A prediction that puts 0.9 on `level`, for tests of what is built on predictions.
    #[cfg(test)]
    pub(crate) fn sample(level: usize, p_high: f32) -> Self {
        let mut probs = vec![0.0; crate::labels::N_LEVELS];
        probs[level] = 0.9;
        Self::from_probabilities(probs, p_high, 0.5, (4, false))
    }

    /// Whether the model's landmarks say the text is unlike the texts it learned from.
    pub fn unfamiliar(&self) -> bool {
        self.novelty.is_some_and(|n| n.unfamiliar)
    }

    /// Whether the answer is anything but low (high, or review).
    pub fn flagged(&self) -> bool {
        self.call != Call::Low
    }

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
        // Members may read different amounts of a long text (their tokenizers differ).
        let used = (
            members.iter().map(|(p, _)| p.chars_used).min().unwrap_or(0),
            members.iter().any(|(p, _)| p.truncated),
        );
        let mut avg = Self::from_probabilities(level_probs, high_risk_prob, threshold, used);
        // Members read long texts in windows of their own: the average keeps the first's.
        avg.window = first.window;
        // The same text for every member, so the same phrase.
        avg.phrase = first.phrase.clone();
        // Each model's landmarks measure its own training texts: one member's note stays, an
        // average of several has none.
        avg.novelty = if members.len() == 1 { first.novelty } else { None };
        (avg.call, avg.reason) = assess(avg.level, avg.high_risk, avg.phrase.is_some());
        avg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(level_probs: Vec<f32>, high_risk_prob: f32, chars_used: usize) -> Prediction {
        Prediction::from_probabilities(level_probs, high_risk_prob, 1.0, (chars_used, false))
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
        let mut lone = a.clone();
        lone.novelty = Some(Novelty {
            distance: 0.3,
            unfamiliar: true,
        });
        let lone = Prediction::average(&[(&lone, 0.35)]);
        assert_eq!((lone.level, lone.high_risk, lone.unfamiliar()), (0, false, true));
        assert_eq!(Prediction::average(&[(&lone, 0.35), (&lone, 0.35)]).novelty, None);
    }

    #[test]
    fn the_safety_net_turns_a_low_call_into_review_with_its_phrase() {
        // Synthetic text, written for this test.
        let mut probs = vec![0.0; 11];
        probs[1] = 0.9;
        let p = Prediction::from_probabilities(probs, 0.1, 0.5, (10, false));
        assert_eq!(p.call, Call::Low);
        let p = p.screen("我已经写好遗书了");
        assert_eq!((p.call, p.reason), (Call::Review, Reason::Phrase));
        assert_eq!(p.phrase.as_ref().map(|h| h.phrase.as_str()), Some("遗书"));
        assert!(p.flagged());
    }
}
