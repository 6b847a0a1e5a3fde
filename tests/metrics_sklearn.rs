//! Our metrics must equal scikit-learn's on fixed label vectors. The expected values were
//! computed by `tests/reference/metrics_reference.py` and committed; if a definition in
//! `src/metrics.rs` drifts, this fails.

use serde_json::Value;
use sosrisk::metrics::{
    accuracy, f1_for, macro_f1, mean_absolute_error, per_class, present_labels, weighted_f1,
};

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(name: &str, what: &str, ours: f64, theirs: &Value) {
    let theirs = theirs.as_f64().unwrap();
    assert!(
        (ours - theirs).abs() < 1e-12,
        "{name}: {what} is {ours}, sklearn says {theirs}"
    );
}

#[test]
fn metrics_equal_sklearn() {
    let text = include_str!("reference/metrics_reference.json");
    let reference: Value = serde_json::from_str(text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (y, p) = (usizes(&case["y_true"]), usizes(&case["y_pred"]));
        close(name, "accuracy", accuracy(&y, &p), &case["accuracy"]);
        close(name, "weighted F1", weighted_f1(&y, &p), &case["weighted_f1"]);
        close(name, "macro F1", macro_f1(&y, &p), &case["macro_f1"]);
        close(name, "F1 of class 1", f1_for(&y, &p, 1), &case["f1_pos1"]);
        close(name, "MAE", mean_absolute_error(&y, &p), &case["mae"]);
        let labels = present_labels(&y, &p);
        assert_eq!(labels, usizes(&case["labels"]), "{name}: labels");
        for (i, score) in per_class(&y, &p, &labels).iter().enumerate() {
            close(name, "precision", score.precision, &case["precision"][i]);
            close(name, "recall", score.recall, &case["recall"][i]);
            close(name, "per-class F1", score.f1, &case["f1"][i]);
            assert_eq!(score.support as u64, case["support"][i].as_u64().unwrap());
        }
    }
}
