//! Long texts read whole: a text longer than the model reads at once is read in overlapping
//! windows of the model's length, each starting about half a window after the one before, and
//! each window is classified like a post. **The text's result is the window with the highest
//! P(high risk)** (the first of equals), with that window's level: a risk statement anywhere in
//! a diary entry or a chat log decides, however much ordinary text surrounds it.
//!
//! Absurd input stays bounded: only the first [`MAX_CHARS`] characters are read (the result
//! says so), which also bounds the tokenizer's memory.

use serde::{Deserialize, Serialize};

/// Characters of a text read at most (a long diary entry is a few thousand).
pub const MAX_CHARS: usize = 20_000;

/// A part of a text, in characters: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// One window's result, for reports of long texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowScore {
    pub start: usize,
    pub end: usize,
    pub level: usize,
    pub high_risk_prob: f32,
}

/// `text` cut to at most [`MAX_CHARS`] characters, and whether it was cut.
pub fn bounded(text: &str) -> (&str, bool) {
    match text.char_indices().nth(MAX_CHARS) {
        Some((byte, _)) => (&text[..byte], true),
        None => (text, false),
    }
}

/// Token ranges `[from, to)` of windows of `capacity` tokens over `n` tokens: one when they
/// fit, else windows that start every `capacity / 2` tokens, the last one ending at `n`.
pub fn token_windows(n: usize, capacity: usize) -> Vec<(usize, usize)> {
    let capacity = capacity.max(1);
    if n <= capacity {
        return vec![(0, n)];
    }
    let stride = (capacity / 2).max(1);
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        if from + capacity >= n {
            out.push((n - capacity, n));
            break;
        }
        out.push((from, from + capacity));
        from += stride;
    }
    out
}

/// The character spans of token windows, given each token's character range in the text. The
/// first window starts at the text's start and the last ends at its end, so every character is
/// in some window.
pub fn char_spans(
    token_chars: &[(usize, usize)],
    windows: &[(usize, usize)],
    total_chars: usize,
) -> Vec<Span> {
    let last = windows.len().saturating_sub(1);
    windows
        .iter()
        .enumerate()
        .map(|(k, &(from, to))| Span {
            start: if k == 0 { 0 } else { token_chars[from].0 },
            end: if k == last {
                total_chars
            } else {
                token_chars[to - 1].1
            },
        })
        .collect()
}

/// The index of the window that decides the text's result: the highest P(high risk), the
/// first of equals.
pub fn deciding(p_high: &[f32]) -> usize {
    crate::prediction::argmax(p_high)
}

/// A substring by character span.
pub fn slice(text: &str, span: Span) -> &str {
    let byte = |c: usize| text.char_indices().nth(c).map_or(text.len(), |(b, _)| b);
    &text[byte(span.start)..byte(span.end)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_token_overlapping_by_half() {
        assert_eq!(token_windows(10, 16), [(0, 10)]);
        assert_eq!(token_windows(16, 16), [(0, 16)]);
        let w = token_windows(40, 16);
        assert_eq!(w, [(0, 16), (8, 24), (16, 32), (24, 40)]);
        let w = token_windows(1000, 150);
        assert!(
            w.windows(2).all(|p| p[1].0 > p[0].0 && p[1].0 <= p[0].1),
            "overlapping"
        );
        assert_eq!(w.first().unwrap().0, 0);
        assert_eq!(w.last().unwrap().1, 1000);
        assert!(w.iter().all(|(a, b)| b - a == 150));
    }

    #[test]
    fn spans_reach_both_ends_of_the_text() {
        // Tokens of two characters each over 10 characters (say the text has a trailing space).
        let tokens: Vec<(usize, usize)> = (0..4).map(|i| (i * 2 + 1, i * 2 + 3)).collect();
        let spans = char_spans(&tokens, &token_windows(4, 2), 10);
        assert_eq!(
            spans,
            [
                Span { start: 0, end: 5 },
                Span { start: 3, end: 7 },
                Span { start: 5, end: 10 }
            ]
        );
    }

    #[test]
    fn the_highest_window_decides_and_absurd_input_is_bounded() {
        assert_eq!(deciding(&[0.1, 0.9, 0.9, 0.2]), 1);
        let long = "字".repeat(MAX_CHARS + 5);
        let (cut, was) = bounded(&long);
        assert_eq!((cut.chars().count(), was), (MAX_CHARS, true));
        assert_eq!(bounded("短"), ("短", false));
        assert_eq!(slice("一二三四", Span { start: 1, end: 3 }), "二三");
    }
}
