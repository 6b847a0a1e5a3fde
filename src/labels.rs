//! The label scheme of SOS-1K: eleven risk levels and a separately annotated binary call.

/// Number of fine-grained risk levels (0 to 10).
pub const N_LEVELS: usize = 11;

/// Index of the high-risk class in the binary head.
pub const HIGH_RISK: usize = 1;

/// Short English descriptions of each level, paraphrasing the annotation guide.
pub const LEVEL_DESCRIPTIONS: [&str; N_LEVELS] = [
    "only everyday negative emotion",
    "some existential pain",
    "clear existential pain",
    "strong existential pain, no suicidal wish",
    "suicidal wish, no method or plan",
    "strong suicidal wish, method unclear",
    "suicide being planned, date unclear",
    "method decided, date unclear",
    "planned, date roughly set",
    "method decided, may act within days",
    "suicide possibly in progress",
];

/// Plain-language band for a level, for people who do not know the 0–10 scale.
pub fn band(level: usize) -> &'static str {
    match level {
        0..=3 => "low",
        4..=5 => "moderate",
        6..=8 => "high",
        _ => "severe",
    }
}

/// Human name of a binary class.
pub fn binary_name(class: usize) -> &'static str {
    if class == HIGH_RISK { "high" } else { "low" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_level_in_order() {
        let bands: Vec<_> = (0..N_LEVELS).map(band).collect();
        assert_eq!(bands[0], "low");
        assert_eq!(bands[4], "moderate");
        assert_eq!(bands[6], "high");
        assert_eq!(bands[10], "severe");
        assert_eq!(binary_name(HIGH_RISK), "high");
        assert_eq!(binary_name(0), "low");
    }
}
