"""Parity of `rebalance evaluate --format json` with scikit-learn and imbalanced-learn.

Usage: /usr/bin/python3 test_metrics_parity.py PATH_TO_rebalance

Random labels, predictions and scores (binary, 3 and 10 classes, N from 50 to 2000, some with a
class never predicted, one class absent, heavy ties) go through the CLI as .npy files; every
number of its JSON report is compared with the reference implementation to 1e-9.
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

warnings.filterwarnings("ignore")

from imblearn.metrics import (  # noqa: E402
    classification_report_imbalanced,
    geometric_mean_score,
    specificity_score,
)
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
    roc_auc_score,
    top_k_accuracy_score,
)
from sklearn.preprocessing import label_binarize  # noqa: E402

TOL = 1e-9


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def make_case(seed, c, n, *, never_predicted=None, absent=None, ties=False, one_column=False,
              scores=True, single_class=False, margins=False):
    """Imbalanced y_true, y_pred right about 60% of the time, scores leaning to the truth."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(c, 2.0))
    if absent is not None:
        weights[absent] = 0
        weights /= weights.sum()
    y = rng.choice(c, size=n, p=weights)
    if single_class:
        y[:] = c - 1
    guess = rng.integers(0, c, size=n)
    if absent is not None:
        guess[guess == absent] = (absent + 1) % c
    p = np.where(rng.random(n) < 0.6, y, guess)
    if never_predicted is not None:
        p[p == never_predicted] = (never_predicted + 1) % c
    s = None
    if scores:
        if ties:
            # Few distinct values: ties inside rows and across rows, rows still summing to 1.
            a = rng.integers(1, 5, size=(n, c)).astype(np.float64)
            a[np.arange(n), y] += rng.integers(0, 3, size=n)
            s = a / a.sum(axis=1, keepdims=True)
            if c == 2:
                v = rng.integers(1, 10, size=n) / 10.0
                s = v if one_column else np.stack([1.0 - v, v], axis=1)
        else:
            logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
            s = softmax(logits)
            if one_column:
                # Margins instead of probabilities exercise scikit-learn's cut at 0.
                s = logits[:, 1] - logits[:, 0] if margins else s[:, 1]
    return y.astype(np.int64), p.astype(np.int64), None if s is None else s.astype(np.float64)


def map_at_k(y, s, k):
    """Kaggle MAP@k, one true label per sample; ties: lower class index first."""
    total = 0.0
    for i, t in enumerate(y):
        if s.ndim == 1:
            cut = 0.5 if s.min() >= 0 and s.max() <= 1 else 0.0
            rank = 1 if int(s[i] > cut) == t else 2
        else:
            row = s[i]
            rank = 1 + int(np.sum(row > row[t])) + int(np.sum(row[:t] == row[t]))
        if rank <= k:
            total += 1.0 / rank
    return total / len(y)


def reference(y, p, s, c, k):
    """Every number of the report, from scikit-learn / imbalanced-learn."""
    labels = list(range(c))
    names = [str(i) for i in labels]
    ref = {"n": len(y), "classes": names}
    pre, rec, f1, sup = precision_recall_fscore_support(y, p, labels=labels, average=None)
    spe = specificity_score(y, p, labels=labels, average=None)
    geo = geometric_mean_score(y, p, labels=labels, average=None)
    rep = classification_report_imbalanced(y, p, labels=labels, output_dict=True)
    per = {}
    for i in labels:
        r = rep[i]
        # The report and the individual functions must agree with each other too.
        for a, b in [(r["pre"], pre[i]), (r["rec"], rec[i]), (r["f1"], f1[i]), (r["spe"], spe[i]),
                     (r["geo"], geo[i]), (r["sup"], sup[i])]:
            assert abs(a - b) <= TOL, (a, b)
        per[names[i]] = {"precision": r["pre"], "recall": r["rec"], "specificity": r["spe"],
                         "f1": r["f1"], "gmean": r["geo"], "iba": r["iba"], "support": int(r["sup"])}
    ref["per_class"] = per
    ref["average"] = {"precision": rep["avg_pre"], "recall": rep["avg_rec"],
                      "specificity": rep["avg_spe"], "f1": rep["avg_f1"], "gmean": rep["avg_geo"],
                      "iba": rep["avg_iba"], "support": int(rep["total_support"])}
    ref["confusion_matrix"] = confusion_matrix(y, p, labels=labels).tolist()
    ref["accuracy"] = accuracy_score(y, p)
    ref["f1_macro"] = f1_score(y, p, average="macro")
    ref["f1_micro"] = f1_score(y, p, average="micro")
    ref["f1_weighted"] = f1_score(y, p, average="weighted")
    ref["acsa"] = balanced_accuracy_score(y, p)
    ref["gmean"] = geometric_mean_score(y, p)
    ref["mcc"] = matthews_corrcoef(y, p)
    ref["misclassified"] = int(np.sum(y != p))
    if s is None:
        return ref
    s1 = s if s.ndim == 1 else (s[:, 1] if c == 2 else None)
    try:
        if c == 2:
            ref["roc_auc"] = roc_auc_score(y, s1)
        else:
            ref["roc_auc"] = roc_auc_score(y, s, multi_class="ovr", average="macro", labels=labels)
    except ValueError:
        pass  # undefined (a class without samples): the report must leave it out
    if c == 2:
        ref["average_precision"] = average_precision_score(y, s1)
        ref["top_k_accuracy"] = top_k_accuracy_score(y, s1, k=k, labels=labels)
    else:
        ref["average_precision"] = average_precision_score(label_binarize(y, classes=labels), s,
                                                           average="macro")
        ref["top_k_accuracy"] = top_k_accuracy_score(y, s, k=k, labels=labels)
    ref["map_at_k"] = map_at_k(y, s, k)
    ref["k"] = k
    return ref


def compare(got, want, path, errors):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            errors.append(f"{path}: expected an object, got {got!r}")
            return
        for key in sorted(set(got) | set(want)):
            if key not in got:
                errors.append(f"{path}.{key}: missing (expected {want[key]!r})")
            elif key not in want:
                errors.append(f"{path}.{key}: unexpected ({got[key]!r})")
            else:
                compare(got[key], want[key], f"{path}.{key}", errors)
    elif isinstance(want, (list, tuple)):
        if not isinstance(got, list) or len(got) != len(want):
            errors.append(f"{path}: expected {want!r}, got {got!r}")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            compare(g, w, f"{path}[{i}]", errors)
    elif isinstance(want, str):
        if got != want:
            errors.append(f"{path}: expected {want!r}, got {got!r}")
    elif isinstance(want, (int, np.integer)) and not isinstance(want, bool):
        if not isinstance(got, int) or got != int(want):
            errors.append(f"{path}: expected {int(want)}, got {got!r}")
    else:
        if not isinstance(got, (int, float)) or not abs(got - float(want)) <= TOL:
            errors.append(f"{path}: expected {float(want)!r}, got {got!r}")


CASES = [
    # name, seed, classes, n, options
    ("binary-n50", 1, 2, 50, {}),
    ("binary-n500", 2, 2, 500, {}),
    ("binary-n2000", 3, 2, 2000, {}),
    ("binary-1d-scores", 4, 2, 300, {"one_column": True}),
    ("binary-ties-k1", 5, 2, 400, {"ties": True, "k": 1}),
    ("binary-1d-ties-k1", 6, 2, 400, {"ties": True, "one_column": True, "k": 1}),
    ("binary-1d-logits-k1", 9, 2, 300, {"one_column": True, "margins": True, "k": 1}),
    ("binary-never-predicts-1", 7, 2, 120, {"never_predicted": 1}),
    ("binary-single-class", 8, 2, 60, {"single_class": True}),
    ("3-classes-n50", 11, 3, 50, {}),
    ("3-classes-n300", 12, 3, 300, {}),
    ("3-classes-n2000", 13, 3, 2000, {}),
    ("3-classes-never-predicts-2", 14, 3, 200, {"never_predicted": 2}),
    ("3-classes-ties-k1", 15, 3, 500, {"ties": True, "k": 1}),
    ("3-classes-ties-k2", 15, 3, 500, {"ties": True, "k": 2}),
    ("3-classes-no-scores", 16, 3, 150, {"scores": False}),
    ("4-classes-class-3-absent", 17, 4, 250, {"absent": 3}),
    ("10-classes-n200", 21, 10, 200, {}),
    ("10-classes-n2000", 22, 10, 2000, {}),
    ("10-classes-never-predicts-4", 23, 10, 800, {"never_predicted": 4}),
    ("10-classes-ties", 24, 10, 1000, {"ties": True}),
    ("10-classes-k3", 25, 10, 600, {"k": 3}),
]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="rebalance-metrics-parity-") as tmp:
        for name, seed, c, n, opts in CASES:
            opts = dict(opts)
            k = opts.pop("k", None)
            y, p, s = make_case(seed, c, n, **opts)
            files = {"true": os.path.join(tmp, f"{name}-y.npy"), "pred": os.path.join(tmp, f"{name}-p.npy")}
            np.save(files["true"], y)
            np.save(files["pred"], p)
            cmd = [binary, "evaluate", "--true", files["true"], "--pred", files["pred"],
                   "--classes", str(c), "--format", "json"]
            if s is not None:
                files["scores"] = os.path.join(tmp, f"{name}-s.npy")
                np.save(files["scores"], s)
                cmd += ["--scores", files["scores"]]
            if k is not None:
                cmd += ["--k", str(k)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            errors = []
            if run.returncode != 0:
                errors.append(f"exit code {run.returncode}: {run.stderr.strip()}")
            else:
                try:
                    got = json.loads(run.stdout)
                except json.JSONDecodeError as e:
                    errors.append(f"output is not JSON ({e}): {run.stdout[:200]!r}")
                else:
                    want_k = 5 if k is None else k
                    compare(got, reference(y, p, s, c, want_k), "report", errors)
            if errors:
                failed += 1
                print(f"FAIL {name} (C={c}, N={n})")
                for e in errors[:20]:
                    print(f"    {e}")
            else:
                passed += 1
                print(f"ok   {name} (C={c}, N={n})")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
