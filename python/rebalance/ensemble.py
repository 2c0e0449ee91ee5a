"""Ensembles of balanced subsets over any scikit-learn classifier, their subsets drawn by
rebalance's samplers: imbalanced-learn's ``EasyEnsembleClassifier``, ``BalancedBaggingClassifier``,
``BalancedRandomForestClassifier`` and ``RUSBoostClassifier`` (same arguments and defaults), and
``BalanceCascadeClassifier`` (Liu, Wu & Zhou, IEEE TSMC-B 2009), which imbalanced-learn dropped.

    >>> from rebalance.ensemble import BalanceCascadeClassifier
    >>> clf = BalanceCascadeClassifier(random_state=0).fit(X, y)
    >>> clf.predict(X_test)
"""
import numbers
from copy import deepcopy
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .pipeline import Pipeline, make_pipeline
from .under_sampling import RandomUnderSampler

__all__ = ["EasyEnsembleClassifier", "BalancedBaggingClassifier", "BalancedRandomForestClassifier",
           "RUSBoostClassifier", "BalanceCascadeClassifier"]

_MAX_INT = np.iinfo(np.int32).max


class _MemberPipeline(Pipeline):
    """An ensemble member: ``Pipeline([("sampler", ...), ("classifier", ...)])`` as
    imbalanced-learn's, plus ``sampler_`` for the fitted sampler (rebalance's earlier name)."""

    @property
    def sampler_(self):
        return self.steps[0][1]


class WeightedSampledClassifier(ClassifierMixin, BaseEstimator):
    """RUSBoost's round: a sampler that selects rows (``sample_indices_``), then the learner fitted
    on the kept rows with their boosting weights. RUSBoost unwraps it after fitting into
    ``estimators_`` and ``samplers_``, as imbalanced-learn keeps them."""

    def __init__(self, sampler=None, estimator=None):
        self.sampler = sampler
        self.estimator = estimator

    def fit(self, X, y, sample_weight=None):
        self.sampler_ = clone(self.sampler)
        X_res, y_res = self.sampler_.fit_resample(X, y)
        self.estimator_ = clone(self.estimator)
        if sample_weight is None:
            self.estimator_.fit(X_res, y_res)
        else:
            self.estimator_.fit(X_res, y_res, sample_weight=np.asarray(sample_weight)[self.sampler_.sample_indices_])
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


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


def _check_estimator_args(estimator, base_estimator, default):
    """The learner to clone: `estimator`, else the deprecated `base_estimator` (with
    imbalanced-learn's FutureWarning), else the default."""
    if estimator is not None and base_estimator not in (None, "deprecated"):
        raise ValueError("Both `estimator` and `base_estimator` were set. Only set `estimator`.")
    if estimator is not None:
        return clone(estimator)
    if base_estimator not in (None, "deprecated"):
        warnings.warn("`base_estimator` was renamed to `estimator` in version 0.10 and will be removed in 0.12.",
                      FutureWarning)
        return clone(base_estimator)
    return default


def _n_features_deprecated(self):
    warnings.warn("`n_features_` was deprecated in scikit-learn 1.0. This attribute will not be accessible when "
                  "the minimum supported version of scikit-learn is 1.2.", FutureWarning)
    return self.n_features_in_


class BalancedBaggingClassifier(BaggingClassifier):
    """Bagging whose every estimator is fitted on a subset balanced by a sampler (default
    rebalance's RandomUnderSampler), as imbalanced-learn's (Hido & Kashima 2009; Maclin & Opitz
    1997): each member is ``Pipeline([("sampler", ...), ("classifier", ...)])``; members without
    ``predict_proba`` vote. Arguments and defaults as ``imblearn.ensemble.BalancedBaggingClassifier``."""

    def __init__(self, estimator=None, n_estimators=10, *, max_samples=1.0, max_features=1.0, bootstrap=True,
                 bootstrap_features=False, oob_score=False, warm_start=False, sampling_strategy="auto",
                 replacement=False, n_jobs=None, random_state=None, verbose=0, sampler=None,
                 base_estimator="deprecated"):
        super().__init__(estimator=estimator, n_estimators=n_estimators, max_samples=max_samples,
                         max_features=max_features, bootstrap=bootstrap, bootstrap_features=bootstrap_features,
                         oob_score=oob_score, warm_start=warm_start, n_jobs=n_jobs, random_state=random_state,
                         verbose=verbose, base_estimator=base_estimator)
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement
        self.sampler = sampler

    _default_estimator = DecisionTreeClassifier

    def _make_sampler(self):
        if self.sampler is None:
            return RandomUnderSampler(replacement=self.replacement)
        if not hasattr(self.sampler, "fit_resample"):
            raise ValueError(f"The 'sampler' parameter of {type(self).__name__} must be an object implementing "
                             f"'fit_resample' or None. Got {self.sampler!r} instead.")
        return clone(self.sampler)

    def _validate_y(self, y):
        y_encoded = super()._validate_y(y)
        self._sampling_strategy = _sampling_strategy_codes(self.sampling_strategy, self.classes_)
        return y_encoded

    def _validate_estimator(self, default=None):
        base = _check_estimator_args(self.estimator, self.base_estimator, self._default_estimator())
        sampler = self._make_sampler()
        if getattr(sampler, "_sampling_type", None) != "bypass" and "sampling_strategy" in sampler.get_params():
            sampler.set_params(sampling_strategy=self._sampling_strategy)
        self._estimator = _MemberPipeline([("sampler", sampler), ("classifier", base)])

    n_features_ = property(_n_features_deprecated)

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
                                   warm_start=warm_start, n_jobs=n_jobs, random_state=random_state, verbose=verbose,
                                   base_estimator=base_estimator)
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement

    sampler = None
    _default_estimator = AdaBoostClassifier


class RUSBoostClassifier(AdaBoostClassifier):
    """RUSBoost (Seiffert, Khoshgoftaar, Van Hulse & Napolitano, IEEE TSMC-A 2010): AdaBoost whose
    every round fits its learner on a random balanced subset (rebalance's RandomUnderSampler),
    boosting weights carried by the kept rows; the weight update is scikit-learn's AdaBoost over
    all rows. Arguments and defaults as ``imblearn.ensemble.RUSBoostClassifier``; after fitting,
    ``estimators_`` (the learners), ``samplers_`` and ``pipelines_`` (sampler + learner), as
    imbalanced-learn's."""

    def __init__(self, estimator=None, *, n_estimators=50, learning_rate=1.0, algorithm="SAMME.R",
                 sampling_strategy="auto", replacement=False, random_state=None, base_estimator="deprecated"):
        super().__init__(estimator=estimator, n_estimators=n_estimators, learning_rate=learning_rate,
                         algorithm=algorithm, random_state=random_state, base_estimator=base_estimator)
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement

    def fit(self, X, y, sample_weight=None):
        """Boost; each round's learner sees a balanced subset of the rows."""
        _check_target(y)
        super().fit(X, y, sample_weight)
        rounds = self.estimators_
        self.estimators_ = [r.estimator_ for r in rounds]
        self.samplers_ = [r.sampler_ for r in rounds]
        self.pipelines_ = [make_pipeline(deepcopy(r.sampler_), deepcopy(r.estimator_)) for r in rounds]
        self._estimator = self._estimator.estimator  # estimator_: the learner, as imbalanced-learn's
        return self

    def _validate_estimator(self):
        from sklearn.utils.validation import has_fit_parameter
        base = _check_estimator_args(self.estimator, self.base_estimator, DecisionTreeClassifier(max_depth=1))
        if self.algorithm == "SAMME.R" and not hasattr(base, "predict_proba"):
            raise TypeError("AdaBoostClassifier with algorithm='SAMME.R' requires that the weak learner supports "
                            "the calculation of class probabilities with a predict_proba method.\nPlease change "
                            "the base estimator or set algorithm='SAMME' instead.")
        if not has_fit_parameter(base, "sample_weight"):
            raise ValueError(f"{base.__class__.__name__} doesn't support sample_weight.")
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
        classes, codes = np.unique(y, return_inverse=True)
        if not self.warm_start or not hasattr(self, "estimators_"):
            self.estimators_, self.samplers_, self.pipelines_, self._tree_rows = [], [], [], []
        elif not np.array_equal(classes, self.classes_):
            raise ValueError("warm_start: the classes differ from the first fit's")
        n_more = self.n_estimators - len(self.estimators_)
        if n_more < 0:
            raise ValueError(f"n_estimators={self.n_estimators} must be larger or equal to "
                             f"len(estimators_)={len(self.estimators_)} when warm_start==True")
        if n_more == 0:
            warnings.warn("Warm-start fitting without increasing n_estimators does not fit new trees.", UserWarning)
            return self
        self.classes_ = classes
        self.n_classes_ = len(self.classes_)
        self.n_features_in_ = X.shape[1]
        rs = check_random_state(self.random_state)
        rs.randint(_MAX_INT, size=len(self.estimators_))  # a warm start continues the seed sequence
        strategy = _sampling_strategy_codes(self.sampling_strategy, self.classes_)
        plans = []
        for seed in rs.randint(_MAX_INT, size=n_more):
            tree_rs = np.random.RandomState(seed)
            sampler = RandomUnderSampler(sampling_strategy=strategy, replacement=self.replacement,
                                         random_state=int(tree_rs.randint(_MAX_INT)))
            sampler.fit_resample(np.zeros((len(codes), 1)), codes)  # a random draw needs the labels only
            rows = sampler.sample_indices_
            if self.bootstrap:
                n = len(rows)
                m = n if self.max_samples is None else (
                    int(round(self.max_samples * n)) if isinstance(self.max_samples, float) else int(self.max_samples))
                rows = rows[tree_rs.randint(0, n, max(m, 1))]
            plans.append((sampler, rows, int(tree_rs.randint(_MAX_INT))))
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

        def grow(rows, seed):
            tree = self._tree(seed)
            tree.fit(X[rows], codes[rows], sample_weight=None if sw is None else sw[rows])
            return tree

        trees = Parallel(n_jobs=self.n_jobs, prefer="threads")(delayed(grow)(r, s) for _, r, s in plans)
        for (sampler, rows, _), tree in zip(plans, trees):
            self.estimators_.append(tree)
            self.samplers_.append(sampler)
            self.pipelines_.append(make_pipeline(deepcopy(sampler), deepcopy(tree)))
            self._tree_rows.append(rows)
        if self.oob_score:
            votes = np.zeros((len(y), self.n_classes_))
            for rows, tree in zip(self._tree_rows, self.estimators_):
                out = np.ones(len(y), dtype=bool)
                out[rows] = False
                if out.any():
                    votes[out] += self._member_proba(tree, X[out])
            seen = votes.sum(axis=1) > 0
            if not seen.all():
                warnings.warn("Some inputs do not have OOB scores. This probably means too few trees were used to "
                              "compute any reliable oob estimates.", UserWarning)
            self.oob_decision_function_ = votes / np.where(seen, votes.sum(axis=1), 1)[:, None]
            self.oob_score_ = float(np.mean(np.argmax(votes[seen], axis=1) == codes[seen]))
        elif hasattr(self, "oob_score_"):
            del self.oob_score_, self.oob_decision_function_
        return self

    @property
    def estimator_(self):
        """The tree every member is a clone of."""
        return self._tree(None)

    @property
    def base_estimator_(self):
        warnings.warn("Attribute `base_estimator_` was deprecated in version 1.2 and will be removed in 1.4. "
                      "Use `estimator_` instead.", FutureWarning)
        return self.estimator_

    n_features_ = property(_n_features_deprecated)

    @property
    def feature_importances_(self):
        check_is_fitted(self, "estimators_")
        return np.mean([t.feature_importances_ for t in self.estimators_], axis=0)
