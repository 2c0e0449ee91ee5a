"""Under-samplers and cleaning methods with imbalanced-learn's class names, arguments and
defaults. Each runs the C++ sampler of the same name through the factory; kept rows are the
caller's rows (``sample_indices_`` says which).

    >>> from rebalance.under_sampling import TomekLinks
    >>> X_res, y_res = TomekLinks().fit_resample(X, y)
"""
import numbers

import numpy as np

from .base import BaseSampler, _docstring, _finite_check, neighbors_count, neighbors_object

__all__ = ["RandomUnderSampler", "NearMiss", "TomekLinks", "EditedNearestNeighbours",
           "RepeatedEditedNearestNeighbours", "AllKNN", "CondensedNearestNeighbour", "OneSidedSelection",
           "NeighbourhoodCleaningRule", "ClusterCentroids", "InstanceHardnessThreshold"]

_KIND_SEL = ("all", "mode")


def _kind_sel(value):
    if value not in _KIND_SEL:
        raise ValueError(f"The 'kind_sel' parameter of the sampler must be a str among {set(_KIND_SEL)}. "
                         f"Got {value!r} instead.")
    return value


class RandomUnderSampler(BaseSampler):
    _factory = "random_under"
    _sampling_type = "under-sampling"
    _index_only = True
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", random_state=None, replacement=False):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.replacement = replacement

    def _spec_params(self):
        if not isinstance(self.replacement, bool):
            raise ValueError(f"The 'replacement' parameter must be a bool. Got {self.replacement!r} instead.")
        return {"replacement": self.replacement}


class NearMiss(BaseSampler):
    _factory = "near_miss"
    _sampling_type = "under-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", version=1, n_neighbors=3, n_neighbors_ver3=3, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.version = version
        self.n_neighbors = n_neighbors
        self.n_neighbors_ver3 = n_neighbors_ver3
        self.n_jobs = n_jobs

    def _spec_params(self):
        if self.version not in (1, 2, 3):
            raise ValueError(f"Parameter `version` must be 1, 2 or 3, got {self.version}")
        return {"version": self.version, "n_neighbors": neighbors_count("n_neighbors", self.n_neighbors, 0),
                "n_neighbors_ver3": neighbors_count("n_neighbors_ver3", self.n_neighbors_ver3, 0)}


class TomekLinks(BaseSampler):
    _factory = "tomek_links"
    _sampling_type = "clean-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.n_jobs = n_jobs


class EditedNearestNeighbours(BaseSampler):
    _factory = "enn"
    _sampling_type = "clean-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", n_neighbors=3, kind_sel="all", n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs

    def _spec_params(self):
        return {"n_neighbors": neighbors_count("n_neighbors", self.n_neighbors, 1), "kind_sel": _kind_sel(self.kind_sel)}


class RepeatedEditedNearestNeighbours(BaseSampler):
    _factory = "renn"
    _sampling_type = "clean-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", n_neighbors=3, max_iter=100, kind_sel="all", n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs

    def _run(self, feats, labels, strategy_text, seed):
        """imbalanced-learn's loop over rebalance's ENN: edit until nothing changes, a non-minority
        class falls below the minority's count, a class disappears, or ``max_iter`` rounds;
        ``n_iter_`` says how many ran."""
        from . import _core
        if not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool) or self.max_iter < 1:
            raise ValueError(f"The 'max_iter' parameter of RepeatedEditedNearestNeighbours must be an int in the "
                             f"range [1, inf). Got {self.max_iter!r} instead.")
        self.nn_ = neighbors_object(self.n_neighbors, 1)
        self.enn_ = EditedNearestNeighbours(sampling_strategy=self.sampling_strategy, n_neighbors=self.nn_,
                                            kind_sel=self.kind_sel, n_jobs=self.n_jobs)
        enn = self.enn_._spec(strategy_text)
        x, y = feats.core, labels.codes
        counts = np.bincount(y, minlength=len(labels.classes))
        # the minority as imbalanced-learn's Counter finds it: of the smallest classes, the first to appear
        minority = min(np.flatnonzero(counts == counts.min()), key=lambda c: np.argmax(y == c))
        kept = np.arange(len(y), dtype=np.int64)
        seconds = 0.0
        for n_iter in range(self.max_iter):
            res = _core.fit_resample(enn, np.ascontiguousarray(x[kept]), np.ascontiguousarray(y[kept]), labels.names,
                                     seed)
            seconds += res["seconds"]
            converged = len(res["origin"]) == len(kept)
            kept = kept[res["origin"]]
            now = np.bincount(y[kept], minlength=len(labels.classes))
            others = np.delete(now, minority)
            if converged or (others[others > 0] < counts[minority]).any() or (now == 0).any():
                break
        self.n_iter_ = n_iter + 1
        strategy = _core.resolve_strategy(strategy_text, y, labels.names, "clean-sampling")
        return {"x": x[kept], "y": y[kept], "origin": kept, "parents": np.full((len(kept), 2), -1, dtype=np.int64),
                "strategy": strategy, "seconds": seconds}


class AllKNN(BaseSampler):
    _factory = "allknn"
    _sampling_type = "clean-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", n_neighbors=3, kind_sel="all", allow_minority=False, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.allow_minority = allow_minority
        self.n_jobs = n_jobs

    def _spec_params(self):
        return {"n_neighbors": neighbors_count("n_neighbors", self.n_neighbors, 1), "kind_sel": _kind_sel(self.kind_sel),
                "allow_minority": bool(self.allow_minority)}


def _rule_neighbors(value):
    """CNN/OSS: None is a 1-nearest-neighbour rule, an int k, or a KNeighborsClassifier's k."""
    return 1 if value is None else neighbors_count("n_neighbors", value, 0)


class _CondensingRule(BaseSampler):
    """CNN and OSS: imbalanced-learn's shared arguments (a nearest-neighbour rule and seed rows)."""
    _sampling_type = "clean-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", random_state=None, n_neighbors=None, n_seeds_S=1, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.n_seeds_S = n_seeds_S
        self.n_jobs = n_jobs

    def _spec_params(self):
        return {"n_neighbors": _rule_neighbors(self.n_neighbors), "n_seeds_S": self.n_seeds_S}


class CondensedNearestNeighbour(_CondensingRule):
    _factory = "cnn"


class OneSidedSelection(_CondensingRule):
    _factory = "oss"


class NeighbourhoodCleaningRule(BaseSampler):
    _factory = "ncr"
    _sampling_type = "clean-sampling"
    _has_sample_indices = True

    def __init__(self, *, sampling_strategy="auto", n_neighbors=3, kind_sel="all", threshold_cleaning=0.5,
                 n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.threshold_cleaning = threshold_cleaning
        self.n_jobs = n_jobs

    def _spec_params(self):
        return {"n_neighbors": neighbors_count("n_neighbors", self.n_neighbors, 1), "kind_sel": _kind_sel(self.kind_sel),
                "threshold_cleaning": float(self.threshold_cleaning)}


class ClusterCentroids(BaseSampler):
    _factory = "cluster_centroids"
    _sampling_type = "under-sampling"

    def __init__(self, *, sampling_strategy="auto", random_state=None, estimator=None, voting="auto"):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.estimator = estimator
        self.voting = voting

    def _voting(self, sparse_input):
        if self.voting not in ("auto", "hard", "soft"):
            raise ValueError(f"'voting' needs to be one of {('auto', 'hard', 'soft')}. Got {self.voting} instead.")
        return ("hard" if sparse_input else "soft") if self.voting == "auto" else self.voting

    def _spec_params(self):
        p = {"voting": self.voting_}
        est = self.estimator
        if est is not None:
            n_init = getattr(est, "n_init", 10)
            p["n_init"] = 10 if n_init in ("warn", "auto") else int(n_init)
            p["max_iter"] = int(getattr(est, "max_iter", 300))
        return p

    def _own_kmeans(self):
        """rebalance's k-means does the clustering: no estimator, or scikit-learn's KMeans (read for
        n_init and max_iter); any other clusterer runs as imbalanced-learn runs it."""
        from sklearn.cluster import KMeans
        return self.estimator is None or type(self.estimator) is KMeans

    def _run(self, feats, labels, strategy_text, seed):
        from sklearn.base import clone
        from sklearn.cluster import KMeans
        est = self.estimator
        if est is not None and not hasattr(est, "n_clusters"):
            raise ValueError("`estimator` should be a clustering estimator exposing a parameter `n_clusters` and a "
                             "fitted parameter `cluster_centers_`.")
        self.voting_ = self._voting(feats.kind == "sparse")
        self.estimator_ = KMeans(random_state=self.random_state) if est is None else clone(est)
        if self._own_kmeans():
            return super()._run(feats, labels, strategy_text, seed)
        return self._run_clusterer(feats, labels, strategy_text)

    def _run_clusterer(self, feats, labels, strategy_text):
        import time
        from . import _core
        t0 = time.perf_counter()
        x, y = feats.core, labels.codes
        _finite_check(x)
        strategy = _core.resolve_strategy(strategy_text, y, labels.names, "under-sampling")
        out_x, out_y, origin = [], [], []
        for c in range(len(labels.classes)):
            rows = np.flatnonzero(y == c)
            if c not in strategy:
                out_x.append(x[rows]), out_y.append(y[rows]), origin.append(rows)
                continue
            self.estimator_.set_params(n_clusters=int(strategy[c]))
            self.estimator_.fit(x[rows])
            if not hasattr(self.estimator_, "cluster_centers_"):
                raise RuntimeError("`estimator` should be a clustering estimator exposing a fitted parameter "
                                   "`cluster_centers_`.")
            centers = np.asarray(self.estimator_.cluster_centers_, dtype=x.dtype)
            if self.voting_ == "hard":  # the class's row nearest each centre
                nearest, _ = _core.kneighbors(np.ascontiguousarray(x[rows]), np.ascontiguousarray(centers), 1)
                picked = rows[nearest[:, 0]]
                out_x.append(x[picked]), origin.append(picked)
            else:
                out_x.append(centers), origin.append(np.full(len(centers), -1, dtype=np.int64))
            out_y.append(np.full(len(centers), c, dtype=np.int64))
        origin = np.concatenate(origin).astype(np.int64)
        return {"x": np.ascontiguousarray(np.concatenate(out_x)), "y": np.concatenate(out_y).astype(np.int64),
                "origin": origin, "parents": np.full((len(origin), 2), -1, dtype=np.int64), "strategy": strategy,
                "seconds": time.perf_counter() - t0}


for _cls in (RandomUnderSampler, NearMiss, TomekLinks, EditedNearestNeighbours, RepeatedEditedNearestNeighbours, AllKNN,
             CondensedNearestNeighbour, OneSidedSelection, NeighbourhoodCleaningRule, ClusterCentroids):
    _cls.__doc__ = _docstring(_cls.__name__)


class InstanceHardnessThreshold(BaseSampler):
    """Instance hardness threshold (Smith, Martinez & Giraud-Carrier, Machine Learning 95(2), 2014),
    as imbalanced-learn 0.10: a classifier (default a 100-tree random forest) scores every row by
    cross-validation (``cv`` stratified, shuffled folds); each targeted class keeps the rows whose
    probability of their own class is at least the percentile that leaves the asked count (ties
    can keep a few more). The same scikit-learn calls with the same ``random_state`` as
    imbalanced-learn, so the same rows; implemented in the Python layer (the class probability is
    read by class position, also for labels that are not 0..C-1).

    >>> X_res, y_res = InstanceHardnessThreshold(random_state=0).fit_resample(X, y)
    """

    _sampling_type = "under-sampling"
    _has_sample_indices = True

    def __init__(self, *, estimator=None, sampling_strategy="auto", random_state=None, cv=5, n_jobs=None):
        self.estimator = estimator
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.cv = cv
        self.n_jobs = n_jobs

    def _run(self, feats, labels, strategy_text, seed):
        import time
        from sklearn.base import ClassifierMixin, clone
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.ensemble._base import _set_random_states
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.utils import check_random_state
        from . import _core
        from .base import _finite_check
        t0 = time.perf_counter()
        x, y = feats.core, labels.codes
        _finite_check(x)
        strategy = _core.resolve_strategy(strategy_text, y, labels.names, "under-sampling")
        random_state = check_random_state(self.random_state)
        if self.estimator is None:
            est = RandomForestClassifier(n_estimators=100, random_state=self.random_state, n_jobs=self.n_jobs)
        elif isinstance(self.estimator, ClassifierMixin) and hasattr(self.estimator, "predict_proba"):
            est = clone(self.estimator)
            _set_random_states(est, random_state)
        else:
            raise ValueError(f"Invalid parameter `estimator`. Got {type(self.estimator)}.")
        self.estimator_ = est
        skf = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=random_state)
        proba = cross_val_predict(est, x, y, cv=skf, n_jobs=self.n_jobs, method="predict_proba")
        proba = proba[np.arange(len(y)), y]
        counts = np.bincount(y)
        keep = []
        for c in range(len(labels.classes)):
            rows = np.flatnonzero(y == c)
            if c in strategy:
                threshold = np.percentile(proba[rows], (1.0 - strategy[c] / counts[c]) * 100.0)
                rows = rows[proba[rows] >= threshold]
            keep.append(rows)
        idx = np.concatenate(keep).astype(np.int64)
        return {"x": x[idx], "y": y[idx], "origin": idx, "parents": np.full((len(idx), 2), -1, dtype=np.int64),
                "strategy": strategy, "seconds": time.perf_counter() - t0}
