"""Ensembles of balanced subsets over any scikit-learn classifier, their subsets drawn by
rebalance's samplers: imbalanced-learn's ``EasyEnsembleClassifier``, ``BalancedBaggingClassifier``,
``BalancedRandomForestClassifier`` and ``RUSBoostClassifier`` (same arguments and defaults), and
``BalanceCascadeClassifier`` (Liu, Wu & Zhou, IEEE TSMC-B 2009), which imbalanced-learn dropped.

    >>> from rebalance.ensemble import BalanceCascadeClassifier
    >>> clf = BalanceCascadeClassifier(random_state=0).fit(X, y)
    >>> clf.predict(X_test)
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .base import BaseSampler
from .under_sampling import RandomUnderSampler

__all__ = ["EasyEnsembleClassifier", "BalancedBaggingClassifier", "BalancedRandomForestClassifier",
           "RUSBoostClassifier", "BalanceCascadeClassifier"]

_MAX_INT = np.iinfo(np.int32).max


class SampledClassifier(ClassifierMixin, BaseEstimator):
    """A classifier fitted on what a sampler makes of its training data (imbalanced-learn's
    ``Pipeline([("sampler", ...), ("classifier", ...)])`` for one estimator of an ensemble). Its
    ``fit`` takes no sample weights, so bagging hands it its bootstrap rows, not weights."""

    def __init__(self, sampler=None, estimator=None):
        self.sampler = sampler
        self.estimator = estimator

    def fit(self, X, y):
        return self._fit(X, y, None)

    def _fit(self, X, y, sample_weight):
        self.sampler_ = clone(self.sampler) if self.sampler is not None else RandomUnderSampler()
        X_res, y_res = self.sampler_.fit_resample(X, y)
        self.estimator_ = clone(self.estimator) if self.estimator is not None else DecisionTreeClassifier()
        if sample_weight is not None:
            idx = getattr(self.sampler_, "sample_indices_", None)
            if idx is None:
                raise ValueError(f"{type(self.sampler_).__name__} makes new rows; boosting weights need a sampler "
                                 f"that selects rows (sample_indices_)")
            self.estimator_.fit(X_res, y_res, sample_weight=np.asarray(sample_weight)[idx])
        else:
            self.estimator_.fit(X_res, y_res)
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def predict_log_proba(self, X):
        return np.log(np.clip(self.predict_proba(X), np.finfo(float).tiny, None))

    def decision_function(self, X):
        return self.estimator_.decision_function(X)


class WeightedSampledClassifier(SampledClassifier):
    """SampledClassifier whose ``fit`` takes ``sample_weight`` and passes each kept row's weight on
    (RUSBoost's boosting weights), so its sampler must select rows (``sample_indices_``)."""

    def fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight)


def _check_target(y):
    """imbalanced-learn's refusal of multilabel/multioutput targets, then scikit-learn's checks."""
    arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:
        raise ValueError("Multilabel and multioutput targets are not supported.")
    check_classification_targets(arr.ravel() if arr.ndim == 2 else arr)


def _sampling_strategy_codes(strategy, classes):
    """A dict/list sampling_strategy keyed by labels, keyed by the codes 0..C-1 that scikit-learn's
    ensembles pass to their members."""
    if isinstance(strategy, dict):
        out = {}
        for k, v in strategy.items():
            hit = np.flatnonzero(classes == k)
            if len(hit) == 0:
                raise ValueError(f"The {[k]} target class is/are not present in the data.")
            out[int(hit[0])] = v
        return out
    if isinstance(strategy, (list, tuple)):
        return [int(np.flatnonzero(classes == k)[0]) for k in strategy]
    return strategy


def _check_estimator_args(estimator, base_estimator):
    if estimator is not None and base_estimator not in (None, "deprecated"):
        raise ValueError("Both `estimator` and `base_estimator` were set. Only set `estimator`.")
    return estimator if estimator is not None else (None if base_estimator in (None, "deprecated") else base_estimator)


class _SampledMembers:
    """scikit-learn's ensembles clone their members from ``estimator_``: here sampler + learner."""

    @property
    def estimator_(self):
        return self._estimator

    @property
    def base_estimator_(self):
        return self._estimator


class BalancedBaggingClassifier(_SampledMembers, BaggingClassifier):
    """Bagging whose every estimator is fitted on a subset balanced by a sampler (default
    rebalance's RandomUnderSampler), as imbalanced-learn's (Hido & Kashima 2009; Maclin & Opitz
    1997). Arguments and defaults as ``imblearn.ensemble.BalancedBaggingClassifier``."""

    def __init__(self, estimator=None, n_estimators=10, *, max_samples=1.0, max_features=1.0, bootstrap=True,
                 bootstrap_features=False, oob_score=False, warm_start=False, sampling_strategy="auto",
                 replacement=False, n_jobs=None, random_state=None, verbose=0, sampler=None,
                 base_estimator="deprecated"):
        super().__init__(estimator=estimator, n_estimators=n_estimators, max_samples=max_samples,
                         max_features=max_features, bootstrap=bootstrap, bootstrap_features=bootstrap_features,
                         oob_score=oob_score, warm_start=warm_start, n_jobs=n_jobs, random_state=random_state,
                         verbose=verbose)
        self.base_estimator = base_estimator
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement
        self.sampler = sampler

    _default_estimator = DecisionTreeClassifier

    def _validate_y(self, y):
        y_encoded = super()._validate_y(y)
        self._sampling_strategy = _sampling_strategy_codes(self.sampling_strategy, self.classes_)
        return y_encoded

    def _validate_estimator(self, default=None):
        est = _check_estimator_args(self.estimator, self.base_estimator)
        base = clone(est) if est is not None else self._default_estimator()
        if self.sampler is None:
            sampler = RandomUnderSampler(replacement=self.replacement)
        else:
            if not isinstance(self.sampler, BaseSampler) and not hasattr(self.sampler, "fit_resample"):
                raise ValueError(f"sampler must have a fit_resample method, got {type(self.sampler)}")
            sampler = clone(self.sampler)
        if getattr(sampler, "_sampling_type", None) != "bypass" and "sampling_strategy" in sampler.get_params():
            sampler.set_params(sampling_strategy=self._sampling_strategy)
        self._estimator = SampledClassifier(sampler=sampler, estimator=base)

    def fit(self, X, y):
        """Fit the ensemble (sample weights are not taken: the sampler selects rows)."""
        _check_target(y)
        return super().fit(X, y)

    def _more_tags(self):
        return {"allow_nan": False}


class EasyEnsembleClassifier(BalancedBaggingClassifier):
    """EasyEnsemble (Liu, Wu & Zhou, IEEE TSMC-B 2009): AdaBoost learners each fitted on a
    random balanced subset of the data (rebalance's RandomUnderSampler), their probabilities
    averaged. Arguments and defaults as ``imblearn.ensemble.EasyEnsembleClassifier``."""

    def __init__(self, n_estimators=10, estimator=None, *, warm_start=False, sampling_strategy="auto",
                 replacement=False, n_jobs=None, random_state=None, verbose=0, base_estimator="deprecated"):
        BaggingClassifier.__init__(self, estimator=estimator, n_estimators=n_estimators, max_samples=1.0,
                                   max_features=1.0, bootstrap=False, bootstrap_features=False, oob_score=False,
                                   warm_start=warm_start, n_jobs=n_jobs, random_state=random_state, verbose=verbose)
        self.base_estimator = base_estimator
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement

    sampler = None
    _default_estimator = AdaBoostClassifier


class RUSBoostClassifier(_SampledMembers, AdaBoostClassifier):
    """RUSBoost (Seiffert, Khoshgoftaar, Van Hulse & Napolitano, IEEE TSMC-A 2010): AdaBoost whose
    every round fits its learner on a random balanced subset (rebalance's RandomUnderSampler),
    boosting weights carried by the kept rows; the weight update is scikit-learn's AdaBoost over
    all rows. Arguments and defaults as ``imblearn.ensemble.RUSBoostClassifier``."""

    def __init__(self, estimator=None, *, n_estimators=50, learning_rate=1.0, algorithm="SAMME.R",
                 sampling_strategy="auto", replacement=False, random_state=None, base_estimator="deprecated"):
        super().__init__(estimator=estimator, n_estimators=n_estimators, learning_rate=learning_rate,
                         algorithm=algorithm, random_state=random_state)
        self.base_estimator = base_estimator
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement

    def fit(self, X, y, sample_weight=None):
        """Boost; each round's learner sees a balanced subset of the rows."""
        _check_target(y)
        return super().fit(X, y, sample_weight)

    def _validate_estimator(self):
        est = _check_estimator_args(self.estimator, self.base_estimator)
        base = clone(est) if est is not None else DecisionTreeClassifier(max_depth=1)
        if self.algorithm == "SAMME.R" and not hasattr(base, "predict_proba"):
            raise TypeError("AdaBoostClassifier with algorithm='SAMME.R' requires that the weak learner supports "
                            "the calculation of class probabilities with a predict_proba method.\nPlease change "
                            "the base estimator or set algorithm='SAMME' instead.")
        sampler = RandomUnderSampler(sampling_strategy=self.sampling_strategy, replacement=self.replacement)
        self._estimator = WeightedSampledClassifier(sampler=sampler, estimator=base)



class _AveragedMembers(ClassifierMixin, BaseEstimator):
    """Ensembles whose members (``estimators_``) learn class codes 0..C-1: probabilities aligned to
    ``classes_`` and averaged."""

    _input_dtype = "numeric"

    def _member_proba(self, est, X):
        out = np.zeros((X.shape[0], len(self.classes_)))
        out[:, est.classes_.astype(np.int64)] = est.predict_proba(X)
        return out

    def predict_proba(self, X):
        from sklearn.utils.validation import check_array
        check_is_fitted(self, "estimators_")
        X = check_array(X, accept_sparse=["csr", "csc"], dtype=self._input_dtype)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return sum(self._member_proba(e, X) for e in self.estimators_) / len(self.estimators_)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class BalanceCascadeClassifier(_AveragedMembers):
    """BalanceCascade (Liu, Wu & Zhou, "Exploratory undersampling for class-imbalance learning",
    IEEE TSMC-B 39(2), 2009): like EasyEnsemble, each of ``n_estimators`` rounds fits a learner
    on a balanced subset drawn at random (rebalance's RandomUnderSampler) from a pool of rows; but
    after each round the pool drops the rows of every non-minority class that the ensemble so far
    already classifies correctly, keeping the fraction f_c = (n_min / n_c)^(1/(T-1)) of class c
    whose probability of their own class is lowest (the paper's false-positive rate f, set by a
    threshold), so the last round's pool of each class is the size of the minority. Later learners
    thus concentrate on the rows the earlier ones get wrong. Prediction averages the rounds'
    probabilities (EasyEnsemble's combination in imbalanced-learn), which works for any
    scikit-learn classifier; the paper's sum of AdaBoost scores minus the round thresholds is
    specific to AdaBoost.

    estimator: any classifier with predict_proba (default AdaBoostClassifier(), as EasyEnsemble).
    After fit: ``estimators_``, ``pool_sizes_`` ([rounds, n_classes] pool counts each round drew
    from), ``classes_``.
    """

    def __init__(self, n_estimators=10, estimator=None, *, sampling_strategy="auto", replacement=False,
                 n_jobs=None, random_state=None, verbose=0):
        self.n_estimators = n_estimators
        self.estimator = estimator
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        from sklearn.utils.validation import check_X_y
        _check_target(y)
        X, y = check_X_y(X, y, accept_sparse=["csr", "csc"])
        if not isinstance(self.n_estimators, numbers.Integral) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be an integer >= 1, got {self.n_estimators!r}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"The target 'y' needs to have more than 1 class. Got {len(self.classes_)} class instead")
        self.n_features_in_ = X.shape[1]
        rs = check_random_state(self.random_state)
        base = clone(self.estimator) if self.estimator is not None else AdaBoostClassifier()
        counts = np.bincount(codes)
        minority = int(np.argmin(counts))
        T = int(self.n_estimators)
        keep_fraction = (counts[minority] / counts) ** (1.0 / max(T - 1, 1))
        pool = np.ones(len(y), dtype=bool)
        strategy = _sampling_strategy_codes(self.sampling_strategy, self.classes_)
        self.estimators_, pool_sizes = [], []
        proba_sum = np.zeros((len(y), len(self.classes_)))
        for t in range(T):
            rows = np.flatnonzero(pool)
            pool_sizes.append(np.bincount(codes[rows], minlength=len(self.classes_)))
            sampler = RandomUnderSampler(sampling_strategy=strategy, replacement=self.replacement,
                                         random_state=int(rs.randint(_MAX_INT)))
            sampler.fit_resample(X[rows], codes[rows])
            chosen = rows[sampler.sample_indices_]
            est = clone(base)
            if "random_state" in est.get_params():
                est.set_params(random_state=int(rs.randint(_MAX_INT)))
            est.fit(X[chosen], codes[chosen])
            self.estimators_.append(est)
            if self.verbose:
                print(f"BalanceCascade round {t + 1}/{T}: pool {pool_sizes[-1].tolist()}")
            if t == T - 1:
                break
            proba_sum[rows] += self._member_proba(est, X[rows])
            for c in range(len(self.classes_)):
                if c == minority:
                    continue
                in_c = rows[codes[rows] == c]
                keep = int(np.ceil(counts[c] * keep_fraction[c] ** (t + 1)))
                keep = max(keep, int(counts[minority]))
                if len(in_c) <= keep:
                    continue
                own = proba_sum[in_c, c] / (t + 1)
                # the rows the ensemble so far gets most surely right leave the pool
                order = np.argsort(-own, kind="stable")
                correct = np.argmax(proba_sum[in_c], axis=1) == c
                drop = [i for i in order[: len(in_c) - keep] if correct[i]]
                pool[in_c[drop]] = False
        self.pool_sizes_ = np.array(pool_sizes)
        return self


class BalancedRandomForestClassifier(_AveragedMembers):
    """A random forest whose every tree grows on a balanced subset (Chen, Liaw & Breiman 2004):
    rebalance's RandomUnderSampler draws each tree's subset, then a bootstrap of it (``bootstrap``,
    ``max_samples``) trains scikit-learn's DecisionTreeClassifier with ``max_features`` features per
    split; probabilities are averaged. Arguments and defaults as
    ``imblearn.ensemble.BalancedRandomForestClassifier``; ``oob_score`` is scored on the rows
    outside a tree's subset."""

    _input_dtype = np.float32  # scikit-learn's trees split float32 features

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features="sqrt", max_leaf_nodes=None,
                 min_impurity_decrease=0.0, bootstrap=True, oob_score=False, sampling_strategy="auto",
                 replacement=False, n_jobs=None, random_state=None, verbose=0, warm_start=False, class_weight=None,
                 ccp_alpha=0.0, max_samples=None):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha
        self.max_samples = max_samples

    def _tree(self, seed):
        return DecisionTreeClassifier(criterion=self.criterion, max_depth=self.max_depth,
                                      min_samples_split=self.min_samples_split, min_samples_leaf=self.min_samples_leaf,
                                      min_weight_fraction_leaf=self.min_weight_fraction_leaf,
                                      max_features=self.max_features, max_leaf_nodes=self.max_leaf_nodes,
                                      min_impurity_decrease=self.min_impurity_decrease, class_weight=self.class_weight,
                                      ccp_alpha=self.ccp_alpha, random_state=seed)

    def fit(self, X, y, sample_weight=None):
        from joblib import Parallel, delayed
        from sklearn.utils.validation import check_X_y
        _check_target(y)
        X, y = check_X_y(X, y, accept_sparse=["csr", "csc"], dtype=np.float32)
        if not isinstance(self.n_estimators, numbers.Integral) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be an integer >= 1, got {self.n_estimators!r}")
        if self.oob_score and not self.bootstrap:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.n_classes_ = len(self.classes_)
        self.n_features_in_ = X.shape[1]
        rs = check_random_state(self.random_state)
        strategy = _sampling_strategy_codes(self.sampling_strategy, self.classes_)
        plans = []
        for _ in range(self.n_estimators):
            sampler = RandomUnderSampler(sampling_strategy=strategy, replacement=self.replacement,
                                         random_state=int(rs.randint(_MAX_INT)))
            sampler.fit_resample(np.zeros((len(codes), 1)), codes)  # a random draw needs the labels only
            rows = sampler.sample_indices_
            if self.bootstrap:
                n = len(rows)
                m = n if self.max_samples is None else (
                    int(round(self.max_samples * n)) if isinstance(self.max_samples, float) else int(self.max_samples))
                rows = rows[rs.randint(0, n, max(m, 1))]
            plans.append((rows, int(rs.randint(_MAX_INT))))
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        def grow(rows, seed):
            tree = self._tree(seed)
            tree.fit(X[rows], codes[rows], sample_weight=None if sw is None else sw[rows])
            return tree

        self.estimators_ = Parallel(n_jobs=self.n_jobs, prefer="threads")(delayed(grow)(r, s) for r, s in plans)
        if self.oob_score:
            votes = np.zeros((len(y), self.n_classes_))
            for (rows, _), tree in zip(plans, self.estimators_):
                out = np.ones(len(y), dtype=bool)
                out[rows] = False
                if out.any():
                    votes[out] += self._member_proba(tree, X[out])
            seen = votes.sum(axis=1) > 0
            self.oob_decision_function_ = votes / np.where(seen, votes.sum(axis=1), 1)[:, None]
            self.oob_score_ = float(np.mean(np.argmax(votes[seen], axis=1) == codes[seen]))
        return self

    @property
    def feature_importances_(self):
        check_is_fitted(self, "estimators_")
        return np.mean([t.feature_importances_ for t in self.estimators_], axis=0)
