"""Over-samplers with imbalanced-learn's class names, arguments and defaults (plus rebalance's
cluster-based over-sampler). Each runs the C++ sampler of the same name through the factory.

    >>> from rebalance.over_sampling import SMOTE
    >>> X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
"""
import numpy as np

from .base import BaseSampler, _docstring, _finite_check, neighbors_count

__all__ = ["RandomOverSampler", "SMOTE", "BorderlineSMOTE", "SVMSMOTE", "ADASYN", "KMeansSMOTE", "SMOTENC",
           "SMOTEN", "ClusterOverSampler"]


class RandomOverSampler(BaseSampler):
    _factory = "random_over"
    _sampling_type = "over-sampling"
    _has_sample_indices = False  # a property below, computed when asked (2M rows: ~5 ms)
    _index_only = True  # without shrinkage: rows are copied, any column type passes through

    def __init__(self, *, sampling_strategy="auto", random_state=None, shrinkage=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.shrinkage = shrinkage

    def _is_index_only(self):
        return self.shrinkage is None

    def _source_rows(self, origin, parents):
        # plain copies are new rows (origin -1) whose one parent is the copied row; the caller's
        # rows are only taken by index when the core did not see them (non-float input)
        if self.shrinkage is None and self._taken_by_index:
            return np.where(origin >= 0, origin, parents[:, 0])
        return origin

    @property
    def sample_indices_(self):
        """The input row each output row was drawn from (a copy's, or a smoothed copy's, source)."""
        if not hasattr(self, "origin_"):
            raise AttributeError("sample_indices_")
        return np.where(self.origin_ >= 0, self.origin_, self.parents_[:, 0])

    def _spec_params(self):
        s = self.shrinkage
        if s is None:
            return {"shrinkage": "none"}
        if isinstance(s, dict):  # keys are the caller's labels: written by _run, which knows them
            return {"shrinkage": self._shrinkage_text}
        return {"shrinkage": s}

    def _run(self, feats, labels, strategy_text, seed):
        if isinstance(self.shrinkage, dict):
            missing = [k for k in self.shrinkage if labels.key(k) is None]
            if missing:
                raise ValueError(f"The {missing} target class is/are not present in the data.")
            self._shrinkage_text = "{" + ",".join(f"{labels.key(k)}:{float(v)!r}" for k, v in self.shrinkage.items()) + "}"
        return super()._run(feats, labels, strategy_text, seed)

    def fit_resample(self, X, y):
        s = self.shrinkage
        factors = s.values() if isinstance(s, dict) else ([] if s is None else [s])
        for f in factors:
            if not isinstance(f, (int, float)) or isinstance(f, bool):
                raise ValueError(f"`shrinkage` should either be a positive floating number or a dictionary "
                                 f"mapping a class to a positive floating number. Got {s!r} instead.")
            if f < 0:
                raise ValueError(f"The shrinkage factor needs to be >= 0. Got {f} instead.")
        X_out, y_out = super().fit_resample(X, y)
        if s is None:
            self.shrinkage_ = None
        elif isinstance(s, dict):
            missing = [k for k in self.sampling_strategy_ if k not in s]
            if missing:
                raise ValueError(f"`shrinkage` should contain a shrinkage factor for each class that will be "
                                 f"resampled. The missing classes are: {missing!r}")
            self.shrinkage_ = dict(s)
        else:
            self.shrinkage_ = {k: float(s) for k in self.sampling_strategy_}
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


class SVMSMOTE(BaseSampler):
    """SVM-SMOTE (Nguyen, Cooper & Kamei, Int. J. Knowledge Engineering and Soft Data Paradigms
    3(1), 2011), as imbalanced-learn 0.10: an SVM (default ``SVC(gamma="scale")``) is fitted on
    all rows; the class's support vectors whose ``m_neighbors`` nearest rows are all of other
    classes are dropped as noise; a share f ~ Beta(10, 10) of the new rows interpolates from the
    support vectors in danger (at least half of their m neighbours of other classes) towards one
    of their ``k_neighbors`` same-class neighbours, the rest extrapolates from the safe ones away
    from a neighbour by up to ``out_step``. Implemented in the Python layer over rebalance's exact
    neighbour search (``rebalance._core.kneighbors``); unlike imbalanced-learn it makes exactly the
    asked number of rows when no support vector is in danger. ``parents_`` are (support vector,
    neighbour).

    >>> X_res, y_res = SVMSMOTE(random_state=0).fit_resample(X, y)
    """

    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, n_jobs=None, m_neighbors=10,
                 svm_estimator=None, out_step=0.5):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.m_neighbors = m_neighbors
        self.svm_estimator = svm_estimator
        self.out_step = out_step

    def _run(self, feats, labels, strategy_text, seed):
        import time
        from sklearn.base import clone
        from sklearn.svm import SVC
        from . import _core
        t0 = time.perf_counter()
        x, y = feats.core, labels.codes
        if x.ndim != 2:
            raise ValueError(f"SVMSMOTE needs [n_samples, n_features] rows, got shape {x.shape}")
        _finite_check(x)
        k = neighbors_count("k_neighbors", self.k_neighbors, 1)
        m = neighbors_count("m_neighbors", self.m_neighbors, 1)
        if m + 1 > len(y):
            raise ValueError(f"Expected n_neighbors <= n_samples, but n_samples = {len(y)}, n_neighbors = {m + 1}")
        strategy = _core.resolve_strategy(strategy_text, y, labels.names, "over-sampling")
        rs = np.random.RandomState(seed)
        svm = SVC(gamma="scale", random_state=seed) if self.svm_estimator is None else clone(self.svm_estimator)
        svm.fit(x, y)
        if not hasattr(svm, "support_"):
            raise RuntimeError("`svm_estimator` is required to exposed a `support_` fitted attribute. Such estimator "
                               "belongs to the familly of Support Vector Machine.")
        new_x, new_y, new_parents = [], [], []
        for c, n in sorted(strategy.items()):
            if n == 0:
                continue
            rows = np.flatnonzero(y == c)
            if k + 1 > len(rows):
                raise ValueError(f"Expected n_neighbors <= n_samples, but n_samples = {len(rows)}, "
                                 f"n_neighbors = {k + 1} (class {labels.classes[c]!r})")
            sv = svm.support_[y[svm.support_] == c]
            nb, _ = _core.kneighbors(x, np.ascontiguousarray(x[sv]), m + 1)
            n_other = (y[nb[:, 1:]] != c).sum(axis=1)
            keep = n_other < m  # all m neighbours of other classes: noise
            sv, n_other = sv[keep], n_other[keep]
            if len(sv) == 0:
                raise ValueError(f"SVMSMOTE: every support vector of class {labels.classes[c]!r} is noise (all its "
                                 f"{m} nearest rows are of other classes); nothing to interpolate from")
            danger = n_other >= m / 2
            nnk, _ = _core.kneighbors(np.ascontiguousarray(x[rows]), np.ascontiguousarray(x[sv]), k + 1)
            nnk = rows[nnk[:, 1:]]
            fraction = rs.beta(10, 10)
            if danger.all() or not danger.any():
                n_danger = n if danger.all() else 0
            else:
                n_danger = int(fraction * (n + 1))
            for mask, count, step in ((danger, n_danger, 1.0), (~danger, n - n_danger, -float(self.out_step))):
                if count == 0:
                    continue
                base, nbrs = sv[mask], nnk[mask]
                pick = rs.randint(0, nbrs.size, count)
                r, col = pick // nbrs.shape[1], pick % nbrs.shape[1]
                steps = step * rs.uniform(size=count)[:, None]
                a = x[base[r]].astype(np.float64)
                b = x[nbrs[r, col]].astype(np.float64)
                new_x.append((a + steps * (b - a)).astype(x.dtype))
                new_y.append(np.full(count, c, dtype=np.int64))
                new_parents.append(np.c_[base[r], nbrs[r, col]])
        n0 = len(y)
        if new_x:
            out_x = np.concatenate([x] + new_x)
            out_y = np.concatenate([y] + new_y)
            parents = np.concatenate([np.full((n0, 2), -1, dtype=np.int64)] + new_parents).astype(np.int64)
        else:
            out_x, out_y, parents = x.copy(), y.copy(), np.full((n0, 2), -1, dtype=np.int64)
        origin = np.r_[np.arange(n0), np.full(len(out_y) - n0, -1)].astype(np.int64)
        return {"x": out_x, "y": out_y, "origin": origin, "parents": parents, "strategy": strategy,
                "seconds": time.perf_counter() - t0}
