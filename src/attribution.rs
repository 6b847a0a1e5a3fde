//! Why a prediction came out as it did: occlusion attribution. For each character read (each
//! span of neighbouring characters, in long texts), P(high risk) of the text minus P(high risk)
//! of the text without it; at most [`MAX_OCCLUSIONS`] variants, so that explaining stays cheap in
//! a browser. A long text read in windows is explained over its deciding window.

use crate::prediction::Prediction;
use crate::text::is_blank;
use crate::windows::{self, Span};

/// The part of `text` an explanation covers: the deciding window of a long text, else what was
/// read. Attribution weights are per character of this part, which starts at
/// `prediction.window`'s start (or the text's).
pub fn explained_part<'t>(text: &'t str, prediction: &Prediction) -> &'t str {
    let span = prediction.window.unwrap_or(Span {
        start: 0,
        end: prediction.chars_used,
    });
    windows::slice(text, span)
}

/// Texts scored per forward pass while explaining.
pub const OCCLUSION_BATCH: usize = 32;
/// At most this many texts are scored to explain one: longer texts are left out in spans of
/// neighbouring characters, which keeps the encoder's cost bounded in a browser.
const MAX_OCCLUSIONS: usize = 32;

/// For each character read, the text without it (or without its span, for long texts) and the
/// index of that variant; `None` where leaving it out leaves nothing to classify.
pub fn occlusions(text: &str, chars_used: usize) -> (Vec<Option<String>>, Vec<usize>) {
    let chars: Vec<char> = text.chars().collect();
    let used = chars_used.min(chars.len());
    let span = used.div_ceil(MAX_OCCLUSIONS).max(1);
    let variants = (0..used.div_ceil(span))
        .map(|k| {
            let (from, to) = (k * span, ((k + 1) * span).min(used));
            // The model never reads past `used`, so the variants stop there too (a 1 MB text
            // must not become 32 copies of itself).
            let rest: String = chars[..from].iter().chain(&chars[to..used]).collect();
            let span: String = chars[from..to].iter().collect();
            (!is_blank(&rest) && !is_blank(&span)).then_some(rest)
        })
        .collect();
    (variants, (0..used).map(|i| i / span).collect())
}

/// `probs` holds P(high) of the `Some` variants only, in order.
pub fn attribution(variants: &[Option<String>], of_char: &[usize], probs: &[f32], full: f32) -> Vec<f32> {
    let mut scored = probs.iter();
    let per_variant: Vec<f32> = variants
        .iter()
        .map(|v| match v {
            Some(_) => full - scored.next().expect("one probability per scored variant"),
            None => 0.0,
        })
        .collect();
    of_char.iter().map(|&k| per_variant[k]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occlusions_cover_every_character_read_in_at_most_32_variants() {
        let (variants, of_char) = occlusions("ab c", 4);
        assert_eq!(variants.len(), 4);
        assert_eq!(variants[0].as_deref(), Some("b c"));
        assert_eq!(variants[2], None, "leaving out a space explains nothing");
        let long: String = "字".repeat(100);
        let (variants, of_char_long) = occlusions(&long, 90);
        assert!(variants.len() <= MAX_OCCLUSIONS);
        assert_eq!(of_char_long.len(), 90);
        assert_eq!(
            variants[0].as_ref().unwrap().chars().count(),
            87,
            "spans of 3, up to what is read"
        );
        assert_eq!(of_char, [0, 1, 2, 3]);
        let weights = attribution(&[None, Some("x".into())], &[0, 1, 1], &[0.25], 0.75);
        assert_eq!(weights, [0.0, 0.5, 0.5]);
        assert_eq!(occlusions("我", 1).0, [None], "a single character leaves nothing");
    }
}
