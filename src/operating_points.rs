//! Operating points: what other binary thresholds would do. The shipped threshold is the one
//! with the best F1 on the validation fold, but a screening tool must also know what it costs on
//! ordinary text and how many high-risk posts it still flags, and choose with both in view. For
//! each threshold: among posts labelled high risk, the share called high and the share flagged
//! (high or review, [`crate::assessment`]); among posts labelled low, the share flagged; the
//! precision and F1 of the high call; and for a screening set the flagged share of each group.

use serde::Serialize;

use crate::data::ScreeningText;
use crate::infer::Prediction;
use crate::screening::{self, GroupRates};

/// The calls at one threshold (shares 0–1; `None` where no post has that label).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    pub threshold: f32,
    /// Posts labelled high risk called high (the binary head's recall).
    pub high_called: Option<f64>,
    /// Posts labelled high risk flagged (high or review): the screening recall.
    pub high_flagged: Option<f64>,
    /// Posts labelled low risk flagged.
    pub low_flagged: Option<f64>,
    /// Precision and F1 of the high call.
    pub precision: Option<f64>,
    pub f1: Option<f64>,
    /// A screening set's groups at this threshold.
    pub groups: Vec<GroupRates>,
}

fn share(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// The point of each threshold. `binary` holds each prediction's binary label (if any);
/// `screening`, if given, the same texts as a screening set (same order).
pub fn points(
    preds: &[Prediction],
    binary: &[Option<usize>],
    screening: Option<&[ScreeningText]>,
    thresholds: &[f32],
) -> Vec<Point> {
    thresholds
        .iter()
        .map(|&t| {
            let at: Vec<Prediction> = preds.iter().map(|p| p.at_threshold(t)).collect();
            let count = |label: usize, f: &dyn Fn(&Prediction) -> bool| {
                let of = at.iter().zip(binary).filter(|(_, b)| **b == Some(label));
                let (n, hits) = of.fold((0, 0), |(n, h), (p, _)| (n + 1, h + usize::from(f(p))));
                (hits, n)
            };
            let (tp, positives) = count(1, &|p| p.high_risk);
            let (fp, _) = count(0, &|p| p.high_risk);
            let (high_flagged, _) = count(1, &Prediction::flagged);
            let (low_flagged, negatives) = count(0, &Prediction::flagged);
            Point {
                threshold: t,
                high_called: share(tp, positives),
                high_flagged: share(high_flagged, positives),
                low_flagged: share(low_flagged, negatives),
                // Without posts labelled high (an all-ordinary file) precision and F1 say
                // nothing: the flagged share of the low-risk posts is the false-alarm rate.
                precision: share(tp, tp + fp).filter(|_| positives > 0),
                // 2·TP / (2·TP + FP + FN): 0 when nothing is called high, not undefined.
                f1: share(2 * tp, tp + fp + positives).filter(|_| positives > 0),
                groups: screening.map_or_else(Vec::new, |texts| screening::rates(texts, &at)),
            }
        })
        .collect()
}

/// A Markdown table: a row per threshold, the labelled shares, then each group's flagged share.
pub fn table(points: &[Point]) -> String {
    let Some(first) = points.first() else {
        return String::new();
    };
    let labelled = first.high_called.is_some() || first.low_flagged.is_some();
    let mut head = vec!["threshold".to_string()];
    if labelled {
        head.extend(
            [
                "high-risk posts called high",
                "high-risk posts flagged",
                "low-risk posts flagged",
                "precision",
                "F1",
            ]
            .map(String::from),
        );
    }
    head.extend(first.groups.iter().map(|g| format!("{} flagged", g.group)));
    let mut s = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    let pct = |x: Option<f64>| x.map_or("–".into(), |x| format!("{:.1} %", x * 100.0));
    for p in points {
        let mut cells = vec![format!("{:.2}", p.threshold)];
        if labelled {
            cells.extend([p.high_called, p.high_flagged, p.low_flagged, p.precision, p.f1].map(pct));
        }
        cells.extend(p.groups.iter().map(|g| pct(Some(g.flagged))));
        s += &format!("| {} |\n", cells.join(" | "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Expect;

    fn pred(level: usize, p_high: f32, text: &str) -> Prediction {
        let mut probs = vec![0.0; crate::labels::N_LEVELS];
        probs[level] = 1.0;
        Prediction::from_probabilities(probs, p_high, 0.5, (1, false)).screen(text)
    }

    #[test]
    fn each_threshold_recounts_the_calls() {
        // Synthetic: two high-risk posts (P 0.9 at level 7, P 0.4 at level 2), two low ones
        // (P 0.6 at level 1, P 0.1 at level 0 with a phrase of the net).
        let preds = [
            pred(7, 0.9, ""),
            pred(2, 0.4, ""),
            pred(1, 0.6, ""),
            pred(0, 0.1, "遗书"),
        ];
        let binary = [Some(1), Some(1), Some(0), Some(0)];
        let p = points(&preds, &binary, None, &[0.3, 0.5, 0.95]);
        let close = |a: Option<f64>, b: f64| assert!((a.unwrap() - b).abs() < 1e-9, "{a:?} vs {b}");
        // 0.3: everything but the last is called high (two of them with a low level: review).
        close(p[0].high_called, 1.0);
        close(p[0].precision, 2.0 / 3.0);
        close(p[0].f1, 0.8);
        close(p[0].low_flagged, 1.0);
        // 0.5: the second high-risk post is low (level 2, no phrase): missed.
        close(p[1].high_called, 0.5);
        close(p[1].high_flagged, 0.5);
        close(p[1].low_flagged, 1.0);
        // 0.95: nothing is called high; the net still flags the last.
        close(p[2].high_called, 0.0);
        close(p[2].f1, 0.0);
        assert_eq!(p[2].precision, None);
        close(p[2].high_flagged, 0.5);
        close(p[2].low_flagged, 0.5);
        assert!(table(&p).contains("| 0.50 | 50.0 % | 50.0 % | 100.0 % | 50.0 % | 50.0 % |"));
    }

    #[test]
    fn a_screening_set_gets_a_column_per_group() {
        let texts: Vec<ScreeningText> = ["a", "a", "b"]
            .iter()
            .map(|g| ScreeningText {
                id: String::new(),
                text: String::new(),
                group: g.to_string(),
                expect: Some(Expect::None),
            })
            .collect();
        let preds = [pred(0, 0.7, ""), pred(0, 0.2, ""), pred(0, 0.4, "")];
        let p = points(&preds, &[None, Some(0), Some(0)], Some(&texts), &[0.3, 0.5]);
        assert_eq!((p[0].high_called, p[0].precision, p[0].f1), (None, None, None));
        assert_eq!(p[0].low_flagged, Some(0.5));
        let flagged: Vec<Vec<f64>> = p
            .iter()
            .map(|q| q.groups.iter().map(|g| g.flagged).collect())
            .collect();
        assert_eq!(
            flagged,
            vec![vec![0.5, 1.0, 2.0 / 3.0], vec![0.5, 0.0, 1.0 / 3.0]]
        );
        let t = table(&p);
        assert!(t.contains("| F1 | a flagged | b flagged | all flagged |"), "{t}");
        assert!(
            t.contains("| 0.30 | – | – | 50.0 % | – | – | 50.0 % | 100.0 % | 66.7 % |"),
            "{t}"
        );
    }
}
