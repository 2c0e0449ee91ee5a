"""Metrics for imbalanced classification, computed as imbalanced-learn and scikit-learn compute
them (same arguments, same values; tested against both), plus ACSA and MAP@k.

    >>> from rebalance.metrics import geometric_mean_score, classification_report_imbalanced
    >>> geometric_mean_score(y_true, y_pred)
"""
import functools
import sys
from inspect import signature

import numpy as np
from sklearn.utils.multiclass import unique_labels

from . import _core
from . import _pairwise as pairwise

# ``rebalance.metrics.pairwise`` (ValueDifferenceMetric) as imbalanced-learn's ``imblearn.metrics.pairwise``
sys.modules[__name__ + ".pairwise"] = pairwise

__all__ = ["sensitivity_specificity_support", "sensitivity_score", "specificity_score", "geometric_mean_score",
           "make_index_balanced_accuracy", "classification_report_imbalanced", "macro_averaged_mean_absolute_error",
           "acsa_score", "map_at_k"]


def _confusion(y_true, y_pred, labels, sample_weight):
    """Weighted confusion over every label (the given ones first, then the others present, as
    imbalanced-learn orders them), and how many of them were asked for (None: all)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{y_true.shape[0]}, {y_pred.shape[0]}]")
    present = unique_labels(y_true, y_pred)
    if labels is None:
        labels, n_asked = present, None
    else:
        n_asked = len(labels)
        labels = np.hstack([np.asarray(labels), np.setdiff1d(present, labels, assume_unique=True)])
    index = {v: i for i, v in enumerate(labels.tolist())}
    t = np.array([index[v] for v in y_true.tolist()], dtype=np.int64)
    p = np.array([index[v] for v in y_pred.tolist()], dtype=np.int64)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    n = len(labels)
    cm = np.bincount(t * n + p, weights=w, minlength=n * n).reshape(n, n).astype(np.float64)
    return cm, labels, n_asked


def _divide(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / np.where(den == 0, 1, den)
    return np.where(den == 0, 0.0, r)


def _sufficient(y_true, y_pred, labels, sample_weight):
    """tp, predicted, true and true-negative sums of the asked labels. As imbalanced-learn 0.10,
    the true negatives are n_rows - (pred + true - tp) with weighted sums but an unweighted row
    count, so weighted specificities are imbalanced-learn's, not a re-derivation."""
    cm, labels, n_asked = _confusion(y_true, y_pred, labels, sample_weight)
    tp, pred, true = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    tn = len(np.asarray(y_true)) - (pred + true - tp)
    k = len(labels) if n_asked is None else n_asked
    return tp[:k], pred[:k], true[:k], tn[:k], labels[:k]


def sensitivity_specificity_support(y_true, y_pred, *, labels=None, pos_label=1, average=None,
                                    warn_for=("sensitivity", "specificity"), sample_weight=None):
    """Per-class (or averaged) sensitivity, specificity and support, as imbalanced-learn (its
    checks, warnings and errors: scikit-learn's target checks, a zero division warned of as
    scikit-learn's precision/recall warn)."""
    import warnings
    from sklearn.metrics._classification import _check_targets, _prf_divide
    average_options = (None, "micro", "macro", "weighted", "samples")
    if average not in average_options and average != "binary":
        raise ValueError("average has to be one of " + str(average_options))
    y_type, y_true, y_pred = _check_targets(y_true, y_pred)
    present = unique_labels(y_true, y_pred)
    if average == "binary":
        if y_type != "binary":
            raise ValueError(f"Target is {y_type} but average='binary'. Please choose another average setting.")
        if pos_label not in present:
            if len(present) < 2:
                return 0.0, 0.0, 0
            raise ValueError(f"pos_label={pos_label!r} is not a valid label: {present!r}")
        labels = [pos_label]
    elif pos_label not in (None, 1):
        warnings.warn(f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got "
                      f"{average!r}). You may use labels=[pos_label] to specify a single positive class.", UserWarning)
    if y_type.startswith("multilabel"):
        raise ValueError("imblearn does not support multilabel")
    if average == "samples":
        raise ValueError("Sample-based precision, recall, fscore is not meaningful outside multilabel "
                         "classification. See the accuracy_score instead.")
    tp, pred, true, tn, _ = _sufficient(y_true, y_pred, labels, sample_weight)
    if average == "micro":
        tp, pred, true, tn = (np.array([v.sum()]) for v in (tp, pred, true, tn))
    with np.errstate(divide="ignore", invalid="ignore"):
        spe = _prf_divide(tn, tn + pred - tp, "specificity", "predicted", average, warn_for)
        sen = _prf_divide(tp, true, "sensitivity", "true", average, warn_for)
    if average is None:
        return sen, spe, true.astype(np.int64) if sample_weight is None else true
    weights = None
    if average == "weighted":
        weights = true
        if weights.sum() == 0:
            return 0, 0, None
    return float(np.average(sen, weights=weights)), float(np.average(spe, weights=weights)), None


def sensitivity_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None):
    return sensitivity_specificity_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           sample_weight=sample_weight)[0]


def specificity_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None):
    return sensitivity_specificity_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           sample_weight=sample_weight)[1]


def geometric_mean_score(y_true, y_pred, *, labels=None, pos_label=1, average="multiclass", sample_weight=None,
                         correction=0.0):
    """imbalanced-learn's G-mean: with average="multiclass" the geometric mean of the per-class
    recalls (a zero recall replaced by `correction`); otherwise sqrt(sensitivity * specificity)."""
    if average != "multiclass":
        sen, spe, _ = sensitivity_specificity_support(y_true, y_pred, labels=labels, pos_label=pos_label,
                                                      average=average, sample_weight=sample_weight)
        return np.sqrt(np.asarray(sen) * np.asarray(spe)) if average is None else float(np.sqrt(sen * spe))
    tp, _, true, _, _ = _sufficient(y_true, y_pred, labels, sample_weight)
    recall = _divide(tp, true)
    recall[recall == 0] = correction
    if (recall == 0).any():
        return 0.0
    return float(np.exp(np.log(recall).mean()))


def make_index_balanced_accuracy(*, alpha=0.1, squared=True):
    """imbalanced-learn's decorator: the index balanced accuracy (Garcia, Mollineda & Sanchez
    2009) of a metric taking ``y_pred``, ``(1 + alpha * (sensitivity - specificity)) * score``
    (``score ** 2`` when ``squared``), sensitivity and specificity computed with the arguments
    the metric shares with ``sensitivity_specificity_support``."""

    def decorate(scoring_func):
        @functools.wraps(scoring_func)
        def compute_score(*args, **kwargs):
            sig = signature(scoring_func)
            if {"y_score", "y_prob", "y2"} & set(sig.parameters):
                raise AttributeError(f"The function {scoring_func.__name__} has an unsupported attribute. Metric "
                                     f"with`y_pred` are the only supported metrics is the only supported.")
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            score = scoring_func(*bound.args, **bound.kwargs)
            if squared:
                score = np.power(score, 2)
            shared = set(signature(sensitivity_specificity_support).parameters) & set(bound.arguments)
            params = {k: bound.arguments[k] for k in shared}
            if scoring_func.__name__ == "geometric_mean_score" and params.get("average") == "multiclass":
                params["average"] = "macro"
            elif scoring_func.__name__ in ("accuracy_score", "jaccard_score"):
                params["average"] = "binary"
            sen, spe, _ = sensitivity_specificity_support(**params)
            return (1.0 + alpha * (sen - spe)) * score

        return compute_score

    return decorate


def macro_averaged_mean_absolute_error(y_true, y_pred, *, sample_weight=None):
    """Mean absolute error of ordinal labels averaged over the classes of y_true and y_pred
    (each class's rows weighted equally), as imbalanced-learn's."""
    from sklearn.metrics import mean_absolute_error
    from sklearn.metrics._classification import _check_targets
    from sklearn.utils import column_or_1d
    from sklearn.utils.validation import check_consistent_length
    _, y_true, y_pred = _check_targets(y_true, y_pred)
    sample_weight = np.ones(y_true.shape) if sample_weight is None else column_or_1d(sample_weight)
    check_consistent_length(y_true, y_pred, sample_weight)
    labels = unique_labels(y_true, y_pred)
    mae = [mean_absolute_error(y_true[i], y_pred[i], sample_weight=sample_weight[i])
           for i in (np.flatnonzero(y_true == c) for c in labels)]
    return np.sum(mae) / len(mae)


def acsa_score(y_true, y_pred, *, sample_weight=None):
    """Average class-specific accuracy: the mean recall over the classes with true samples
    (scikit-learn's balanced_accuracy_score)."""
    tp, _, support, _, _ = _sufficient(y_true, y_pred, None, sample_weight)
    return float((tp[support > 0] / support[support > 0]).mean())


def classification_report_imbalanced(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None,
                                     digits=2, alpha=0.1, output_dict=False, zero_division="warn"):
    """imbalanced-learn's report: per class precision, recall, specificity, F1, G-mean, IBA and
    support, then their support-weighted averages; the same text or dict."""
    tp, pred_sum, true_sum, tn, labels = _sufficient(y_true, y_pred, labels, sample_weight)
    zd = 0.0 if zero_division == "warn" else float(zero_division)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred_sum > 0, tp / np.where(pred_sum > 0, pred_sum, 1), zd)
        recall = np.where(true_sum > 0, tp / np.where(true_sum > 0, true_sum, 1), zd)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), zd)
    specificity = _divide(tn, tn + pred_sum - tp)
    sen0 = _divide(tp, true_sum)
    geo = np.sqrt(sen0 * specificity)
    iba = (1 + alpha * (sen0 - specificity)) * geo ** 2
    support = true_sum.astype(np.int64) if sample_weight is None else true_sum
    if target_names is None:
        target_names = [f"{label}" for label in labels]
    last = "avg / total"
    width = max(max(len(c) for c in target_names), len(last), digits)
    headers = ["pre", "rec", "spe", "f1", "geo", "iba", "sup"]
    fmt = "%% %ds" % width + "  " + " ".join(["% 9s" for _ in headers]) + "\n"
    report = fmt % tuple([""] + headers) + "\n"
    out = {}
    cols = [precision, recall, specificity, f1, geo, iba]
    for i, label in enumerate(labels):
        values = [target_names[i]] + ["{0:0.{1}f}".format(c[i], digits) for c in cols] + [f"{support[i]}"]
        report += fmt % tuple(values)
        out[label] = dict(zip(headers, [c[i] for c in cols] + [support[i]]))
    report += "\n"
    avgs = [np.average(c, weights=support) for c in cols]
    report += fmt % tuple([last] + ["{0:0.{1}f}".format(a, digits) for a in avgs] + [f"{np.sum(support)}"])
    for h, a in zip(headers, avgs):
        out[f"avg_{h}"] = a
    out["total_support"] = np.sum(support)
    return out if output_dict else report


def map_at_k(y_true, y_score, k=5, *, labels=None):
    """Mean average precision at k with one true class per row (Kaggle's humpback-whale MAP@5):
    mean of 1 / rank of the true class when it ranks within k, else 0. `y_score`: [n, n_classes]
    scores whose columns are `labels` (default: the sorted classes of y_true)."""
    y_true = np.asarray(y_true)
    scores = np.ascontiguousarray(np.asarray(y_score, dtype=np.float64))
    if scores.ndim != 2:
        raise ValueError(f"y_score must be [n_samples, n_classes], got shape {scores.shape}")
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if len(labels) != scores.shape[1]:
        raise ValueError(f"y_score has {scores.shape[1]} columns but there are {len(labels)} labels")
    index = {v: i for i, v in enumerate(labels.tolist())}
    try:
        codes = np.array([index[v] for v in y_true.tolist()], dtype=np.int64)
    except KeyError as e:
        raise ValueError(f"y_true holds label {e.args[0]!r}, which is not among the labels {labels.tolist()}") from None
    return float(_core.map_at_k(codes, scores, int(k)))
