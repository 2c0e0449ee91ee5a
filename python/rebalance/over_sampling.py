"""Over-samplers with imbalanced-learn's class names, arguments and defaults (plus rebalance's
cluster-based over-sampler). Each runs the C++ sampler of the same name through the factory.

    >>> from rebalance.over_sampling import SMOTE
    >>> X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
"""
import numpy as np

from .base import BaseSampler, _docstring, _finite_check, neighbors_count, neighbors_object

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

    def _run(self, feats, labels, strategy_text, seed):
        from . import _core
        s = self.shrinkage
        if s is not None and strategy_text != "{}":
            resolved = _core.resolve_strategy(strategy_text, labels.codes, labels.names, "over-sampling")
            asked = [labels.classes[c] for c in sorted(resolved)]
            shrinkage = s if isinstance(s, dict) else {k: s for k in asked}
            missing = {k for k in asked if not any(k == key for key in shrinkage)}
            if missing:
                raise ValueError(f"`shrinkage` should contain a shrinkage factor for each class that will be "
                                 f"resampled. The missing classes are: {missing!r}")
            for k, f in shrinkage.items():
                if f < 0:
                    raise ValueError(f"The shrinkage factor needs to be >= 0. Got {f} for class {k}.")
            unknown = [k for k in shrinkage if labels.key(k) is None]
            if unknown:
                raise ValueError(f"The {unknown} target class is/are not present in the data.")
            self._shrinkage_text = "{" + ",".join(f"{labels.key(k)}:{float(v)!r}" for k, v in shrinkage.items()) + "}"
        return super()._run(feats, labels, strategy_text, seed)

    def _spec_params(self):
        return {"shrinkage": "none" if self.shrinkage is None else self._shrinkage_text}

    def fit_resample(self, X, y):
        s = self.shrinkage
        factors = s.values() if isinstance(s, dict) else ([] if s is None else [s])
        for f in factors:
            if not isinstance(f, (int, float, np.integer, np.floating)) or isinstance(f, bool):
                raise ValueError(f"`shrinkage` should either be a positive floating number or a dictionary "
                                 f"mapping a class to a positive floating number. Got {s!r} instead.")
        try:
            X_out, y_out = super().fit_resample(X, y)
        except ValueError as e:
            if s is None or "could not convert" not in str(e):
                raise
            raise ValueError("When shrinkage is not None, X needs to contain only numerical data to later generate "
                             "a smoothed bootstrap sample.") from e
        if s is None:
            self.shrinkage_ = None
        elif isinstance(s, dict):
            self.shrinkage_ = dict(s)
        else:
            self.shrinkage_ = {k: s for k in self.sampling_strategy_}
        return X_out, y_out


class SMOTE(BaseSampler):
    _factory = "smote"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs

    _n_jobs_deprecated = True

    def _spec_params(self):
        k = neighbors_count("k_neighbors", self.k_neighbors, 1)
        self.nn_k_ = neighbors_object(self.k_neighbors, 1)
        return {"k_neighbors": k}


class BorderlineSMOTE(BaseSampler):
    _factory = "borderline_smote"
    _sampling_type = "over-sampling"
    _n_jobs_deprecated = True

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
        p = {"k_neighbors": neighbors_count("k_neighbors", self.k_neighbors, 1),
             "m_neighbors": neighbors_count("m_neighbors", self.m_neighbors, 1), "kind": self.kind}
        self.nn_k_ = neighbors_object(self.k_neighbors, 1)
        self.nn_m_ = neighbors_object(self.m_neighbors, 1)
        return p

    def _run(self, feats, labels, strategy_text, seed):
        from . import _core
        try:
            return super()._run(feats, labels, strategy_text, seed)
        except ValueError as e:
            if "is in danger" not in str(e):
                raise
        # No row of any targeted class is in danger: as imbalanced-learn, the data comes back
        # unchanged (a cross-validation fold without border rows must not fail). The C++
        # sampler and the CLI refuse such a run instead.
        return self._unchanged(feats, labels,
                               _core.resolve_strategy(strategy_text, labels.codes, labels.names, "over-sampling"))


class ADASYN(BaseSampler):
    _factory = "adasyn"
    _sampling_type = "over-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, n_neighbors=5, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    _n_jobs_deprecated = True

    def _spec_params(self):
        k = neighbors_count("n_neighbors", self.n_neighbors, 1)
        self.nn_ = neighbors_object(self.n_neighbors, 1)
        return {"n_neighbors": k}


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
        from sklearn.base import clone
        from sklearn.cluster import MiniBatchKMeans
        km = self.kmeans_estimator
        if km is None:
            self.kmeans_estimator_ = MiniBatchKMeans(random_state=self.random_state)
        elif isinstance(km, int) and not isinstance(km, bool):
            self.kmeans_estimator_ = MiniBatchKMeans(n_clusters=km, random_state=self.random_state)
        elif hasattr(km, "n_clusters") and hasattr(km, "fit_predict"):
            self.kmeans_estimator_ = clone(km)  # _run clusters with it, as imbalanced-learn
        else:
            raise ValueError(f"kmeans_estimator should be an int, a KMeans-like object or None. Got {type(km)} instead.")
        n_clusters = int(self.kmeans_estimator_.n_clusters)
        self.cluster_balance_threshold_ = self.cluster_balance_threshold if n_clusters != 1 else -np.inf
        k = neighbors_count("k_neighbors", self.k_neighbors, 1)
        self.nn_k_ = neighbors_object(self.k_neighbors, 1)
        return {"k_neighbors": k, "n_clusters": n_clusters,
                "cluster_balance_threshold": self.cluster_balance_threshold,
                "density_exponent": self.density_exponent}

    def _run(self, feats, labels, strategy_text, seed):
        km = self.kmeans_estimator
        if km is not None and not isinstance(km, int):
            return self._run_clusterer(feats, labels, strategy_text, seed)
        try:  # rebalance's own k-means (k-means++ seeded from random_state) and SMOTE in C++
            return super()._run(feats, labels, strategy_text, seed)
        except ValueError as e:
            if "No clusters found" in str(e):
                raise RuntimeError(str(e)) from None
            raise

    def _run_clusterer(self, feats, labels, strategy_text, seed):
        """imbalanced-learn's algorithm with the given clusterer: per class, cluster all rows, keep
        the clusters where the class's share reaches the threshold and it has more than
        k_neighbors rows, and make ceil(n * weight) rows in each by SMOTE among its class rows, a
        cluster's weight its sparsity (mean distance ** density_exponent / rows) over the total."""
        import math
        import time
        from sklearn.metrics import pairwise_distances
        from . import _core
        t0 = time.perf_counter()
        k = self._spec_params()["k_neighbors"]
        x, y = feats.core, labels.codes
        _finite_check(x)
        strategy = _core.resolve_strategy(strategy_text, y, labels.names, "over-sampling")
        total = sum(strategy.values())
        rs = np.random.RandomState(seed)
        new_x, new_y, new_parents = [], [], []
        for c, n in sorted(strategy.items()):
            if n == 0:
                continue
            clusters = self.kmeans_estimator_.fit_predict(x)
            threshold = self.cluster_balance_threshold_
            if isinstance(threshold, str):
                threshold = n / total / 2
            valid, sparsity = [], []
            for j in range(self.kmeans_estimator_.n_clusters):
                members = np.flatnonzero(clusters == j)
                if members.size == 0:
                    continue
                share = (y[members] == c).mean()
                if share < threshold or share * members.size < k + 1:
                    continue
                rows = members[y[members] == c]
                mean_distance = pairwise_distances(x[rows]).sum() / (len(rows) ** 2 - len(rows))
                exponent = (math.log(len(rows), 1.6) ** 1.8 * 0.16 if self.density_exponent == "auto"
                            else self.density_exponent)
                valid.append(rows)
                sparsity.append(mean_distance ** exponent / len(rows))
            if not valid:
                raise RuntimeError(f"No clusters found with sufficient samples of class {labels.classes[c]!r}. Try "
                                   f"lowering the cluster_balance_threshold or increasing the number of clusters.")
            weights = np.asarray(sparsity) / np.sum(sparsity)
            for rows, w in zip(valid, weights):
                count = int(math.ceil(n * w))
                nn, _ = _core.kneighbors(np.ascontiguousarray(x[rows]), np.ascontiguousarray(x[rows]), k + 1)
                made, parents = _interpolate(x, rows, rows[nn[:, 1:]], count, 1.0, rs)
                new_x.append(made)
                new_y.append(np.full(count, c, dtype=np.int64))
                new_parents.append(parents)
        return _with_new_rows(x, y, new_x, new_y, new_parents, strategy, time.perf_counter() - t0)


def _column_indices(features, X, n_features):
    """SMOTENC's categorical_features: indices, a boolean mask, column names (DataFrame) or "auto"."""
    import pandas as pd
    if isinstance(features, str) and features == "auto":
        if not (hasattr(X, "dtypes") and hasattr(X, "columns")):
            raise ValueError('categorical_features="auto" needs a DataFrame (categorical or string columns)')
        return [j for j, t in enumerate(X.dtypes)
                if isinstance(t, pd.CategoricalDtype) or t == object or pd.api.types.is_string_dtype(t)]
    f = np.asarray(features)
    if f.dtype == bool:  # as imbalanced-learn 0.10: the mask's True positions (a short mask is a prefix)
        if f.shape[0] > n_features:
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
    _n_jobs_deprecated = True
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
        self.n_features_ = n_features
        self.categorical_features_ = np.asarray(self._cat_idx, dtype=np.int64)
        self.continuous_features_ = np.setdiff1d(np.arange(n_features), self.categorical_features_)
        if len(self._cat_idx) == n_features:
            raise ValueError("SMOTE-NC is not designed to work only with categorical features. "
                             "It requires some numerical features.")
        return self._cat_idx, False

    def _spec_params(self):
        k = neighbors_count("k_neighbors", self.k_neighbors, 1)
        self.nn_k_ = neighbors_object(self.k_neighbors, 1)
        return {"categorical_features": self._cat_idx, "k_neighbors": k}


class SMOTEN(BaseSampler):
    _factory = "smoten"
    _sampling_type = "over-sampling"
    _accept_sparse = False

    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs

    _n_jobs_deprecated = True

    def _categorical(self, X):
        return None, True

    def _spec_params(self):
        k = neighbors_count("k_neighbors", self.k_neighbors, 1)
        self.nn_k_ = neighbors_object(self.k_neighbors, 1)
        return {"k_neighbors": k}


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


def _interpolate(x, base, nbrs, count, step, rs):
    """count new rows x[b] + step * u * (x[n] - x[b]): b = base[r] and n = nbrs[r, col] with (r, col)
    drawn uniformly, u ~ U[0, 1) (SMOTE's interpolation; step < 0 extrapolates away from n).
    Returns (rows, parents [count, 2])."""
    pick = rs.randint(0, nbrs.size, count)
    r, col = pick // nbrs.shape[1], pick % nbrs.shape[1]
    steps = step * rs.uniform(size=count)[:, None]
    a = x[base[r]].astype(np.float64)
    b = x[nbrs[r, col]].astype(np.float64)
    return (a + steps * (b - a)).astype(x.dtype), np.c_[base[r], nbrs[r, col]]


def _with_new_rows(x, y, new_x, new_y, new_parents, strategy, seconds):
    """The core's result format for the input rows followed by the new ones."""
    n0 = len(y)
    if new_x:
        out_x = np.concatenate([x] + new_x)
        out_y = np.concatenate([y] + new_y)
        parents = np.concatenate([np.full((n0, 2), -1, dtype=np.int64)] + new_parents).astype(np.int64)
    else:
        out_x, out_y, parents = x.copy(), y.copy(), np.full((n0, 2), -1, dtype=np.int64)
    origin = np.r_[np.arange(n0), np.full(len(out_y) - n0, -1)].astype(np.int64)
    return {"x": out_x, "y": out_y, "origin": origin, "parents": parents, "strategy": strategy, "seconds": seconds}


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
    _n_jobs_deprecated = True

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
        self.nn_k_ = neighbors_object(self.k_neighbors, 1)
        self.nn_m_ = neighbors_object(self.m_neighbors, 1)
        if m + 1 > len(y):
            raise ValueError(f"Expected n_neighbors <= n_samples, but n_samples = {len(y)}, n_neighbors = {m + 1}")
        strategy = _core.resolve_strategy(strategy_text, y, labels.names, "over-sampling")
        rs = np.random.RandomState(seed)
        svm = SVC(gamma="scale", random_state=seed) if self.svm_estimator is None else clone(self.svm_estimator)
        self.svm_estimator_ = svm
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
                rows, parents = _interpolate(x, sv[mask], nnk[mask], count, step, rs)
                new_x.append(rows)
                new_y.append(np.full(count, c, dtype=np.int64))
                new_parents.append(parents)
        return _with_new_rows(x, y, new_x, new_y, new_parents, strategy, time.perf_counter() - t0)
