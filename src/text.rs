//! What counts as something to classify, the same in the CLI, the worker and the page.

/// True when `text` has nothing to classify: only whitespace, control characters or invisible
/// formatting (zero-width spaces and joiners, direction marks, the byte-order mark, soft
/// hyphens, variation selectors, filler characters). Such a text looks empty on screen, but the
/// models would score the unknown tokens it becomes: two zero-width spaces came out high risk.
pub fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
}

/// Unicode's default-ignorable code points (DerivedCoreProperties), which render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_text_is_blank_and_anything_visible_is_not() {
        for blank in [
            "",
            " \n\t",
            "\u{3000}",
            "\u{200B}\u{200B}",
            "\u{FEFF}",
            "\u{1}\u{7F}",
            "\u{200D}\u{FE0F} \u{2066}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in [
            "好",
            " a ",
            "😀",
            "\u{2764}\u{FE0F}",
            "。",
            "\u{200B}累\u{200B}",
            "1",
        ] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
