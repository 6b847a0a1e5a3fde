"""Character 1-3-gram TF-IDF + logistic regression on SOS-1K: the baseline sosrisk must beat.

Trains on the training folds other than --val-fold (the paper's protocol: fold 3) and scores
the fixed 250-post test set; prints JSON with the same keys as `sosrisk eval --json`.
Needs scikit-learn (`pip install scikit-learn`). Reads ../shared at run time; prints numbers only.
"""
import argparse
import csv
import json

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data/sos1k/sos1k.csv")
ap.add_argument("--val-fold", type=int, default=3)
args = ap.parse_args()

rows = list(csv.DictReader(open(args.data, encoding="utf-8", newline="")))
train = [r for r in rows if r["split"] == "train" and int(r["fold"]) != args.val_fold]
test = [r for r in rows if r["split"] == "test"]

vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
x_train = vec.fit_transform([r["text"] for r in train])
x_test = vec.transform([r["text"] for r in test])


def fit_predict(column):
    clf = LogisticRegression(max_iter=5000, C=10.0)
    clf.fit(x_train, [int(r[column]) for r in train])
    return [int(v) for v in clf.predict(x_test)]


level_true = [int(r["level"]) for r in test]
binary_true = [int(r["binary"]) for r in test]
level_pred = fit_predict("level")
binary_pred = fit_predict("binary")
print(json.dumps({
    "model": "char 1-3-gram TF-IDF + logistic regression",
    "n": len(test),
    "binary_f1": f1_score(binary_true, binary_pred),
    "binary_accuracy": accuracy_score(binary_true, binary_pred),
    "level_weighted_f1": f1_score(level_true, level_pred, average="weighted"),
    "level_macro_f1": f1_score(level_true, level_pred, average="macro"),
    "level_accuracy": accuracy_score(level_true, level_pred),
    "level_within1_accuracy": sum(abs(a - b) <= 1 for a, b in zip(level_true, level_pred)) / len(test),
    "level_mae": mean_absolute_error(level_true, level_pred),
}, indent=1))
