//! Classification metrics with scikit-learn's definitions (checked against committed sklearn
//! output in `tests/metrics_sklearn.rs`), so our numbers compare with the paper's.

use serde::{Deserialize, Serialize};

/// Per-class scores, as in one row of sklearn's `classification_report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub label: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// `ratio(a, b)` is a / b, or 0 when b is 0 (sklearn's `zero_division=0` behaviour).
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

fn check_lengths(y_true: &[usize], y_pred: &[usize]) {
    assert_eq!(
        y_true.len(),
        y_pred.len(),
        "metrics need as many predictions as labels"
    );
}

/// The sorted labels present in either vector (sklearn's `unique_labels`).
pub fn present_labels(y_true: &[usize], y_pred: &[usize]) -> Vec<usize> {
    let mut labels: Vec<usize> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

/// Precision, recall, F1 and support for each label in `labels`.
pub fn per_class(y_true: &[usize], y_pred: &[usize], labels: &[usize]) -> Vec<ClassScore> {
    check_lengths(y_true, y_pred);
    labels
        .iter()
        .map(|&label| {
            let (mut tp, mut fp, mut fn_) = (0, 0, 0);
            for (&t, &p) in y_true.iter().zip(y_pred) {
                match (t == label, p == label) {
                    (true, true) => tp += 1,
                    (false, true) => fp += 1,
                    (true, false) => fn_ += 1,
                    (false, false) => {}
                }
            }
            ClassScore {
                label,
                precision: ratio(tp, tp + fp),
                recall: ratio(tp, tp + fn_),
                f1: ratio(2 * tp, 2 * tp + fp + fn_),
                support: tp + fn_,
            }
        })
        .collect()
}

pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    check_lengths(y_true, y_pred);
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    ratio(hits, y_true.len())
}

/// F1 of one class (sklearn `f1_score(average="binary", pos_label=positive)`).
pub fn f1_for(y_true: &[usize], y_pred: &[usize], positive: usize) -> f64 {
    per_class(y_true, y_pred, &[positive])[0].f1
}

/// Unweighted mean F1 over the labels present in either vector.
pub fn macro_f1(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let scores = per_class(y_true, y_pred, &present_labels(y_true, y_pred));
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().map(|s| s.f1).sum::<f64>() / scores.len() as f64
}

/// Support-weighted mean F1 over the labels present in either vector.
pub fn weighted_f1(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let scores = per_class(y_true, y_pred, &present_labels(y_true, y_pred));
    let total: usize = scores.iter().map(|s| s.support).sum();
    if total == 0 {
        return 0.0;
    }
    scores.iter().map(|s| s.f1 * s.support as f64).sum::<f64>() / total as f64
}

/// Share of predictions at most `k` levels from the truth.
pub fn within_k_accuracy(y_true: &[usize], y_pred: &[usize], k: usize) -> f64 {
    check_lengths(y_true, y_pred);
    let hits = y_true
        .iter()
        .zip(y_pred)
        .filter(|(t, p)| t.abs_diff(**p) <= k)
        .count();
    ratio(hits, y_true.len())
}

pub fn mean_absolute_error(y_true: &[usize], y_pred: &[usize]) -> f64 {
    check_lengths(y_true, y_pred);
    if y_true.is_empty() {
        return 0.0;
    }
    let sum: usize = y_true.iter().zip(y_pred).map(|(t, p)| t.abs_diff(*p)).sum();
    sum as f64 / y_true.len() as f64
}

/// `n_classes × n_classes` counts; row = true class, column = predicted class.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<Vec<usize>> {
    check_lengths(y_true, y_pred);
    let mut m = vec![vec![0; n_classes]; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        m[t][p] += 1;
    }
    m
}

/// Expected calibration error of top-class confidences over `bins` equal-width bins.
pub fn expected_calibration_error(confidence: &[f64], correct: &[bool], bins: usize) -> f64 {
    assert_eq!(confidence.len(), correct.len());
    if confidence.is_empty() {
        return 0.0;
    }
    let mut sum_conf = vec![0.0; bins];
    let mut sum_acc = vec![0.0; bins];
    let mut count = vec![0usize; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c * bins as f64) as usize).min(bins - 1);
        sum_conf[b] += c;
        sum_acc[b] += if ok { 1.0 } else { 0.0 };
        count[b] += 1;
    }
    let n = confidence.len() as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_conf[b] - sum_acc[b]).abs() / n)
        .sum()
}

/// The headline scores of an evaluation; the field names are the `eval --json` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub n: usize,
    /// F1 of the high-risk class from the binary head; `None` without binary labels.
    pub binary_f1: Option<f64>,
    pub binary_accuracy: Option<f64>,
    pub level_weighted_f1: f64,
    pub level_macro_f1: f64,
    pub level_accuracy: f64,
    pub level_within1_accuracy: f64,
    pub level_mae: f64,
}

impl Scores {
    /// Names of the metric fields (all but `n`), in report order.
    pub const METRICS: [&str; 7] = [
        "binary_f1",
        "binary_accuracy",
        "level_weighted_f1",
        "level_macro_f1",
        "level_accuracy",
        "level_within1_accuracy",
        "level_mae",
    ];

    /// Field-wise mean of several evaluations (e.g. of cross-validation folds); `n` is the total.
    pub fn mean(runs: &[Scores]) -> Scores {
        let k = runs.len().max(1) as f64;
        let avg = |f: &dyn Fn(&Scores) -> f64| runs.iter().map(f).sum::<f64>() / k;
        let avg_opt = |f: &dyn Fn(&Scores) -> Option<f64>| {
            runs.iter()
                .map(f)
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.iter().sum::<f64>() / k)
        };
        Scores {
            n: runs.iter().map(|s| s.n).sum(),
            binary_f1: avg_opt(&|s| s.binary_f1),
            binary_accuracy: avg_opt(&|s| s.binary_accuracy),
            level_weighted_f1: avg(&|s| s.level_weighted_f1),
            level_macro_f1: avg(&|s| s.level_macro_f1),
            level_accuracy: avg(&|s| s.level_accuracy),
            level_within1_accuracy: avg(&|s| s.level_within1_accuracy),
            level_mae: avg(&|s| s.level_mae),
        }
    }

    /// Scores of predictions `(level, binary)` against labels `(level, binary if annotated)`;
    /// the binary scores use the rows with a binary label and are `None` when no row has one.
    pub fn of_predictions(labels: &[(usize, Option<usize>)], preds: &[(usize, usize)]) -> Self {
        let level_true: Vec<usize> = labels.iter().map(|l| l.0).collect();
        let level_pred: Vec<usize> = preds.iter().map(|p| p.0).collect();
        let (bt, bp): (Vec<usize>, Vec<usize>) = labels
            .iter()
            .zip(preds)
            .filter_map(|(l, p)| l.1.map(|b| (b, p.1)))
            .unzip();
        Self::compute(
            &level_true,
            &level_pred,
            (!bt.is_empty()).then_some((&bt[..], &bp[..])),
        )
    }

    /// `binary` holds (true, predicted) binary labels where the data has them.
    pub fn compute(level_true: &[usize], level_pred: &[usize], binary: Option<(&[usize], &[usize])>) -> Self {
        Scores {
            n: level_true.len(),
            binary_f1: binary.map(|(t, p)| f1_for(t, p, crate::labels::HIGH_RISK)),
            binary_accuracy: binary.map(|(t, p)| accuracy(t, p)),
            level_weighted_f1: weighted_f1(level_true, level_pred),
            level_macro_f1: macro_f1(level_true, level_pred),
            level_accuracy: accuracy(level_true, level_pred),
            level_within1_accuracy: within_k_accuracy(level_true, level_pred, 1),
            level_mae: mean_absolute_error(level_true, level_pred),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_predictions_score_one() {
        let y = [0, 1, 2, 2, 10];
        assert_eq!(weighted_f1(&y, &y), 1.0);
        assert_eq!(macro_f1(&y, &y), 1.0);
        assert_eq!(mean_absolute_error(&y, &y), 0.0);
    }

    #[test]
    fn metric_names_are_the_serialised_fields() {
        let v = serde_json::to_value(Scores::compute(&[0, 1], &[0, 1], None)).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = Scores::METRICS.iter().copied().chain(["n"]).collect();
        keys.sort_unstable();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }

    #[test]
    fn confusion_rows_are_true_labels() {
        let m = confusion_matrix(&[0, 0, 1], &[1, 0, 1], 2);
        assert_eq!(m, vec![vec![1, 1], vec![0, 1]]);
    }

    #[test]
    fn calibration_error_of_perfectly_calibrated_bins_is_zero() {
        let ece = expected_calibration_error(&[1.0, 1.0, 0.5, 0.5], &[true, true, true, false], 10);
        assert!(ece.abs() < 1e-12);
    }
}
