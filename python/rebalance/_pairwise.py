"""``rebalance.metrics.pairwise``: the Value Difference Metric (Stanfill & Waltz 1986; Wilson &
Martinez 1997) between rows of ordinal-encoded categorical features, as imbalanced-learn's
``imblearn.metrics.pairwise.ValueDifferenceMetric``.

    >>> vdm = ValueDifferenceMetric().fit(X_encoded, y)
    >>> D = vdm.pairwise(X_encoded)            # [n, n] distances
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, check_is_fitted

__all__ = ["ValueDifferenceMetric"]


class ValueDifferenceMetric(BaseEstimator):
    """The distance between two rows is the sum over features f of
    ``(sum_c |P(c | x_f) - P(c | y_f)|^k)^(r/k)``, P(c | v) the share of class c among the training
    rows whose feature f is category v (categories coded 0..n_categories-1; a category without
    rows has all shares 0). ``n_categories``: "auto" (each feature's largest code + 1) or one count
    per feature. After ``fit``: ``n_categories_``, ``proba_per_class_`` (one [n_categories,
    n_classes] array per feature), ``n_features_in_``."""

    def __init__(self, *, n_categories="auto", k=1, r=2):
        self.n_categories = n_categories
        self.k = k
        self.r = r

    def _check_params(self):
        for name in ("k", "r"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise ValueError(f"The '{name}' parameter of ValueDifferenceMetric must be an instance of "
                                 f"'int'. Got {v!r} instead.")
        if isinstance(self.n_categories, str) and self.n_categories != "auto":
            raise ValueError("The 'n_categories' parameter of ValueDifferenceMetric must be a str among {'auto'} "
                             f"or an array-like. Got {self.n_categories!r} instead.")

    def fit(self, X, y):
        """Count each category's class shares, feature by feature."""
        self._check_params()
        check_consistent_length(X, y)
        X, y = self._validate_data(X, y, reset=True, dtype=np.int32)
        if isinstance(self.n_categories, str):
            self.n_categories_ = X.max(axis=0) + 1
        else:
            if len(self.n_categories) != self.n_features_in_:
                raise ValueError(f"The length of n_categories is not consistent with the number of feature in X. "
                                 f"Got {len(self.n_categories)} elements in n_categories and {self.n_features_in_} "
                                 f"in X.")
            self.n_categories_ = np.asarray(self.n_categories)
        classes = unique_labels(y)
        self.proba_per_class_ = []
        for j, n_cat in enumerate(self.n_categories_):
            counts = np.stack([np.bincount(X[y == c, j], minlength=n_cat) for c in classes], axis=1)
            counts = counts.astype(np.float64)
            total = counts.sum(axis=1, keepdims=True)
            self.proba_per_class_.append(np.divide(counts, total, out=np.zeros_like(counts), where=total > 0))
        return self

    def pairwise(self, X, Y=None):
        """[n_X, n_Y] distances between the rows of X and of Y (default X)."""
        check_is_fitted(self)
        X = self._validate_data(X, reset=False, dtype=np.int32)
        Y = X if Y is None else self._validate_data(Y, reset=False, dtype=np.int32)
        distance = np.zeros((X.shape[0], Y.shape[0]), dtype=np.float64)
        for j, proba in enumerate(self.proba_per_class_):
            a, b = proba[X[:, j]], proba[Y[:, j]]
            diff = np.abs(a[:, None, :] - b[None, :, :]) ** self.k
            distance += diff.sum(axis=2) ** (self.r / self.k)
        return distance

    def _more_tags(self):
        return {"requires_positive_X": True}
