"""Reference metric values from scikit-learn for tests/metrics_sklearn.rs.

Run: python3 tests/reference/metrics_reference.py > tests/reference/metrics_reference.json
The label vectors are generated here with a fixed seed and written into the JSON with the
expected numbers, so the Rust test needs neither Python nor scikit-learn.
"""
import json
import random

import sklearn
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, precision_recall_fscore_support

rng = random.Random(20240412)


def noisy(y, n_classes, p):
    return [rng.randrange(n_classes) if rng.random() < p else t for t in y]


cases = []
# Eleven-level cases: mostly right, very noisy, classes missing from truth or predictions.
for name, n, n_classes, p in [("levels_good", 250, 11, 0.4), ("levels_noisy", 120, 11, 0.9), ("small", 7, 11, 0.5)]:
    y = [rng.randrange(n_classes) for _ in range(n)]
    cases.append((name, y, noisy(y, n_classes, p)))
cases.append(("pred_has_extra_class", [0, 0, 1, 1, 2], [0, 3, 1, 1, 2]))
cases.append(("truth_class_never_predicted", [0, 5, 5, 7, 7, 7], [0, 0, 0, 7, 7, 7]))
cases.append(("binary", [rng.randrange(2) for _ in range(50)], [rng.randrange(2) for _ in range(50)]))
cases.append(("binary_no_positive_predicted", [1, 1, 0, 0], [0, 0, 0, 0]))

out = {"sklearn_version": sklearn.__version__, "cases": []}
for name, y, p in cases:
    labels = sorted(set(y) | set(p))
    prec, rec, f1, sup = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    out["cases"].append({
        "name": name,
        "y_true": y,
        "y_pred": p,
        "accuracy": accuracy_score(y, p),
        "weighted_f1": f1_score(y, p, average="weighted", zero_division=0),
        "macro_f1": f1_score(y, p, average="macro", zero_division=0),
        "f1_pos1": f1_score(y, p, labels=[1], average="macro", zero_division=0),
        "mae": mean_absolute_error(y, p),
        "labels": labels,
        "precision": list(prec),
        "recall": list(rec),
        "f1": list(f1),
        "support": [int(s) for s in sup],
    })
print(json.dumps(out, indent=1))
