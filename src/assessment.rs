//! One coherent answer per text. The model has two heads, a level 0–10 and a high/low call,
//! trained on separate annotations, and the safety net ([`crate::safety_net`]) reads the text
//! itself. They can disagree; a screening tool must say so rather than show "level 0" beside
//! "high risk". The rule, used by the CLI, the page and the export:
//!
//! - **high**: the binary head says high and the level is 4 or more (a suicidal wish or more);
//! - **low**: the binary head says low, the level is 3 or less (no suicidal wish) and no phrase
//!   of the safety net is in the text;
//! - **review** otherwise, with the reason: the heads disagree (high with a level ≤ 3, or low
//!   with a level ≥ 6), a suicidal wish without a plan (low with level 4–5, which SOS-1K's own
//!   annotators mostly called low risk), or a phrase of the safety net.
//!
//! "Flagged" in every report means "not low": high or review.

use serde::{Deserialize, Serialize};

/// The answer shown for a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    Low,
    Review,
    High,
}

/// Why the answer is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Both heads agree (and for low, no phrase of the net).
    Agree,
    /// High risk with a level of 3 or less, or low risk with a level of 6 or more.
    HeadsDisagree,
    /// Low risk with a level of 4 or 5.
    WishWithoutPlan,
    /// The heads say low, but the text has a phrase of the safety net.
    Phrase,
}

/// The call for a level, the binary head's call and whether the safety net found a phrase.
pub fn assess(level: usize, high_risk: bool, phrase: bool) -> (Call, Reason) {
    match (high_risk, level) {
        (true, 4..) => (Call::High, Reason::Agree),
        (true, _) => (Call::Review, Reason::HeadsDisagree),
        (false, 0..=3) if phrase => (Call::Review, Reason::Phrase),
        (false, 0..=3) => (Call::Low, Reason::Agree),
        (false, 4 | 5) => (Call::Review, Reason::WishWithoutPlan),
        (false, _) => (Call::Review, Reason::HeadsDisagree),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_has_one_answer() {
        for level in 0..=10 {
            for high in [false, true] {
                for phrase in [false, true] {
                    let (call, reason) = assess(level, high, phrase);
                    // Never a silent contradiction: low only when everything says low.
                    assert_eq!(call == Call::Low, !high && level <= 3 && !phrase);
                    assert_eq!(call == Call::High, high && level >= 4);
                    assert_eq!(reason == Reason::Agree, call != Call::Review);
                }
            }
        }
    }

    #[test]
    fn the_reasons_say_which_disagreement() {
        assert_eq!(assess(0, true, false), (Call::Review, Reason::HeadsDisagree));
        assert_eq!(assess(8, false, false), (Call::Review, Reason::HeadsDisagree));
        assert_eq!(assess(4, false, false), (Call::Review, Reason::WishWithoutPlan));
        assert_eq!(assess(2, false, true), (Call::Review, Reason::Phrase));
        assert_eq!(assess(7, true, true), (Call::High, Reason::Agree));
    }
}
