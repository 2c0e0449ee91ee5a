"""Over-samplers with imbalanced-learn's class names, arguments and defaults (plus rebalance's
cluster-based over-sampler). Each runs the C++ sampler of the same name through the factory.

    >>> from rebalance.over_sampling import SMOTE
    >>> X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
"""
import numpy as np

from .base import BaseSampler, _docstring, neighbors_count

__all__ = ["RandomOverSampler", "SMOTE", "BorderlineSMOTE", "ADASYN", "KMeansSMOTE", "SMOTENC", "SMOTEN",
           "ClusterOverSampler"]


class RandomOverSampler(BaseSampler):
    _factory = "random_over"
    _sampling_type = "over-sampling"
    _has_sample_indices = True
    _index_only = True  # without shrinkage: rows are copied, any column type passes through

    def __init__(self, *, sampling_strategy="auto", random_state=None, shrinkage=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.shrinkage = shrinkage

    def _is_index_only(self):
        return self.shrinkage is None

    def _source_rows(self, origin, parents):
        # plain copies are new rows (origin -1) whose one parent is the copied row
        return np.where(origin >= 0, origin, parents[:, 0]) if self.shrinkage is None else origin

    def _spec_params(self):
        s = self.shrinkage
        if isinstance(s, dict):
            raise ValueError("shrinkage as a dict is given per class in rebalance's factory; "
                             "pass one float here")
        return {"shrinkage": "none" if s is None else s}

    def fit_resample(self, X, y):
        if self.shrinkage is not None:
            s = self.shrinkage
            if not isinstance(s, (int, float)) or isinstance(s, bool):
                raise ValueError(f"`shrinkage` should either be a positive floating number or a dictionary "
                                 f"mapping a class to a positive floating number. Got {s!r} instead.")
            if s < 0:
                raise ValueError(f"The shrinkage factor needs to be >= 0. Got {s} instead.")
        X_out, y_out = super().fit_resample(X, y)
        # as imbalanced-learn: the row each output row was drawn from, smoothed or not
        if self.shrinkage is not None:
            self.sample_indices_ = np.where(self.origin_ >= 0, self.origin_, self.parents_[:, 0])
        self.shrinkage_ = None if self.shrinkage is None else {k: float(self.shrinkage)
                                                                for k in self.sampling_strategy_}
        return X_out, y_out


class SMOTE(BaseSampler):
    _factory = "smote"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs

    def _spec_params(self):
        return {"k_neighbors": neighbors_count("k_neighbors", self.k_neighbors, 1)}


class BorderlineSMOTE(BaseSampler):
    _factory = "borderline_smote"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, n_jobs=None,
                 m_neighbors=10, kind="borderline-1"):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.m_neighbors = m_neighbors
        self.kind = kind

    def _spec_params(self):
        if self.kind not in ("borderline-1", "borderline-2"):
            raise ValueError(f'The parameter `kind` has to be one of {{"borderline-1", "borderline-2"}}. '
                             f"Got {self.kind!r} instead.")
        return {"k_neighbors": neighbors_count("k_neighbors", self.k_neighbors, 1),
                "m_neighbors": neighbors_count("m_neighbors", self.m_neighbors, 1), "kind": self.kind}


class ADASYN(BaseSampler):
    _factory = "adasyn"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, n_neighbors=5, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    def _spec_params(self):
        return {"n_neighbors": neighbors_count("n_neighbors", self.n_neighbors, 1)}


class KMeansSMOTE(BaseSampler):
    _factory = "kmeans_smote"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=2, n_jobs=None,
                 kmeans_estimator=None, cluster_balance_threshold="auto", density_exponent="auto"):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.kmeans_estimator = kmeans_estimator
        self.cluster_balance_threshold = cluster_balance_threshold
        self.density_exponent = density_exponent

    def _spec_params(self):
        km = self.kmeans_estimator
        if km is None:
            n_clusters = 8
        elif isinstance(km, int) and not isinstance(km, bool):
            n_clusters = km
        elif hasattr(km, "n_clusters"):
            n_clusters = int(km.n_clusters)  # rebalance's own k-means with the estimator's cluster count
        else:
            raise ValueError(f"kmeans_estimator should be an int, a KMeans-like object or None. Got {type(km)} instead.")
        return {"k_neighbors": neighbors_count("k_neighbors", self.k_neighbors, 1), "n_clusters": n_clusters,
                "cluster_balance_threshold": self.cluster_balance_threshold,
                "density_exponent": self.density_exponent}


def _column_indices(features, X, n_features):
    """SMOTENC's categorical_features: indices, a boolean mask, column names (DataFrame) or "auto"."""
    import pandas as pd
    if isinstance(features, str) and features == "auto":
        if not (hasattr(X, "dtypes") and hasattr(X, "columns")):
            raise ValueError('categorical_features="auto" needs a DataFrame (categorical or string columns)')
        return [j for j, t in enumerate(X.dtypes)
                if isinstance(t, pd.CategoricalDtype) or t == object or pd.api.types.is_string_dtype(t)]
    f = np.asarray(features)
    if f.dtype == bool:
        if f.shape[0] != n_features:
            raise ValueError(f"When providing a boolean mask, it should be of the same size as the number of "
                             f"features. Got {f.shape[0]} elements while {n_features} were expected.")
        return [int(j) for j in np.flatnonzero(f)]
    out = []
    for v in f.ravel().tolist():
        if isinstance(v, str):
            if not hasattr(X, "columns") or v not in list(X.columns):
                raise ValueError(f"categorical feature {v!r} is not a column of X")
            out.append(list(X.columns).index(v))
        else:
            if v < 0 or v >= n_features:
                raise ValueError(f"Some of the categorical indices are out of range. Indices should be "
                                 f"between 0 and {n_features - 1}")
            out.append(int(v))
    return out


class SMOTENC(BaseSampler):
    _factory = "smotenc"
    _sampling_type = "over-sampling"
    _accept_sparse = True

    def __init__(self, categorical_features, *, sampling_strategy="auto", random_state=None, k_neighbors=5,
                 n_jobs=None):
        self.categorical_features = categorical_features
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs

    def _categorical(self, X):
        n_features = X.shape[1] if getattr(X, "ndim", 2) == 2 else 0
        self._cat_idx = _column_indices(self.categorical_features, X, n_features)
        if len(self._cat_idx) == n_features:
            raise ValueError("SMOTE-NC is not designed to work only with categorical features. "
                             "It requires some numerical features.")
        return self._cat_idx, False

    def _spec_params(self):
        return {"categorical_features": self._cat_idx,
                "k_neighbors": neighbors_count("k_neighbors", self.k_neighbors, 1)}


class SMOTEN(BaseSampler):
    _factory = "smoten"
    _sampling_type = "over-sampling"
    _accept_sparse = False

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs

    def _categorical(self, X):
        return None, True

    def _spec_params(self):
        return {"k_neighbors": neighbors_count("k_neighbors", self.k_neighbors, 1)}


class ClusterOverSampler(BaseSampler):
    _factory = "cluster_over"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, n_clusters=4):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_clusters = n_clusters

    def _spec_params(self):
        return {"n_clusters": self.n_clusters}


for _cls in (RandomOverSampler, SMOTE, BorderlineSMOTE, ADASYN, KMeansSMOTE, SMOTENC, SMOTEN, ClusterOverSampler):
    _cls.__doc__ = _docstring(_cls.__name__)
