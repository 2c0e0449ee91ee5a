"""What imblearn_suite.py deselects, asserted our way on the same data.

Those imbalanced-learn tests compare rows drawn from imbalanced-learn's random generator
(interpolation steps, bootstrap indices, seed rows); rebalance draws from its own seeded
generator, so its rows differ while being equally valid. Each test here runs the deselected
test's sampler and parameters on the test's own data (imported from imbalanced-learn's test
module) and asserts what does not depend on the generator: shapes and class counts (equal to
imbalanced-learn's where they are deterministic), the input rows kept as they were, every new
row on the segment between two rows of its class that are k-nearest neighbours, rows kept by the
condensing rules equal to what imbalanced-learn keeps for some choice of seed rows.
"""
import importlib
import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import AdaBoostClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

import imblearn.combine as ic
import imblearn.over_sampling as io
import imblearn.under_sampling as iu
from imblearn.pipeline import make_pipeline

from rebalance.combine import SMOTEENN, SMOTETomek
from rebalance.ensemble import EasyEnsembleClassifier, RUSBoostClassifier
from rebalance.over_sampling import ADASYN, SMOTE, RandomOverSampler
from rebalance.under_sampling import (CondensedNearestNeighbour, EditedNearestNeighbours, OneSidedSelection,
                                      RandomUnderSampler, TomekLinks)


def _module(name):
    return importlib.import_module(f"imblearn.{name}")


def _fixture(module, name):
    """A pytest fixture's value, called outside pytest."""
    return getattr(_module(module), name).__pytest_wrapped__.obj()


def _data(module):
    m = _module(module)
    return m.X, m.Y


def assert_inputs_kept(X, y, X_res, y_res, origin):
    """Rows taken from the input (origin >= 0) are the input's rows with their labels."""
    kept = origin >= 0
    np.testing.assert_array_equal(np.asarray(X_res)[kept], np.asarray(X)[origin[kept]])
    np.testing.assert_array_equal(np.asarray(y_res)[kept], np.asarray(y)[origin[kept]])


def assert_interpolated(X, y, X_res, y_res, origin, parents, k, some=True):
    """Every new row lies on the segment from a row of its class to one of that row's k nearest
    neighbours of the class (some: there are new rows)."""
    X, y, X_res, y_res = map(np.asarray, (X, y, X_res, y_res))
    new = np.flatnonzero(origin < 0)
    assert len(new) > 0 or not some
    for i in new:
        a, b = parents[i]
        assert y[a] == y[b] == y_res[i]
        same = np.flatnonzero(y == y[a])
        nn = NearestNeighbors(n_neighbors=k + 1).fit(X[same]).kneighbors(X[[a]], return_distance=False)[0]
        assert b in same[nn[1:]], (i, a, b)
        d = X[b] - X[a]
        t = float(np.dot(X_res[i] - X[a], d) / np.dot(d, d)) if np.dot(d, d) > 0 else 0.0
        assert -1e-9 <= t <= 1 + 1e-9
        np.testing.assert_allclose(X_res[i], X[a] + t * d, rtol=1e-6, atol=1e-9)


def _same_counts(ours, theirs):
    assert Counter(np.asarray(ours).tolist()) == Counter(np.asarray(theirs).tolist())


# --- SMOTE and ADASYN: test_smote.py::test_sample_regular*, test_adasyn.py::test_ada_fit_resample* ----

SMOTE_CASES = {
    "test_sample_regular": {},
    "test_sample_regular_half": {"sampling_strategy": {0: 9, 1: 12}},
    "test_sample_regular_with_nn": {"k_neighbors": NearestNeighbors(n_neighbors=6)},
}


@pytest.mark.parametrize("case", SMOTE_CASES)
def test_smote_rows_on_segments(case):
    X, Y = _data("over_sampling._smote.tests.test_smote")
    params = SMOTE_CASES[case]
    sampler = SMOTE(random_state=0, **params)
    X_res, y_res = sampler.fit_resample(X, Y)
    _, y_theirs = io.SMOTE(random_state=0, **params).fit_resample(X, Y)
    assert X_res.shape == (len(y_theirs), X.shape[1])
    _same_counts(y_res, y_theirs)
    np.testing.assert_array_equal(X_res[:len(Y)], X)  # the input first, as imbalanced-learn
    assert_inputs_kept(X, Y, X_res, y_res, sampler.origin_)
    assert_interpolated(X, Y, X_res, y_res, sampler.origin_, sampler.parents_, 5)


@pytest.mark.parametrize("n_neighbors", [5, NearestNeighbors(n_neighbors=6)], ids=["int", "nn_obj"])
def test_adasyn_rows_on_segments(n_neighbors):
    X, Y = _data("over_sampling.tests.test_adasyn")
    sampler = ADASYN(random_state=0, n_neighbors=n_neighbors)
    X_res, y_res = sampler.fit_resample(X, Y)
    _, y_theirs = io.ADASYN(random_state=0, n_neighbors=n_neighbors).fit_resample(X, Y)
    _same_counts(y_res, y_theirs)  # ADASYN's counts follow the neighbourhoods, not the generator
    assert_inputs_kept(X, Y, X_res, y_res, sampler.origin_)
    assert_interpolated(X, Y, X_res, y_res, sampler.origin_, sampler.parents_, 5)


# --- random samplers: test_ros_fit_resample[*], test_rus_fit_resample* -------------------------------

@pytest.mark.parametrize("params", [{"shrinkage": None}, {"shrinkage": 0}, {"shrinkage": {0: 0}}],
                         ids=["params0", "params1", "params2"])
@pytest.mark.parametrize("X_type", ["array", "dataframe"])
def test_random_over_sampler_copies_rows(X_type, params):
    X, Y = _fixture("over_sampling.tests.test_random_over_sampler", "data")
    X_in = pd.DataFrame(X) if X_type == "dataframe" else X
    sampler = RandomOverSampler(random_state=0, **params)
    X_res, y_res = sampler.fit_resample(X_in, Y)
    _, y_theirs = io.RandomOverSampler(random_state=0, **params).fit_resample(X, Y)
    _same_counts(y_res, y_theirs)
    X_res = np.asarray(X_res)
    np.testing.assert_array_equal(X_res[:len(Y)], X)
    np.testing.assert_array_equal(y_res[:len(Y)], Y)
    src = sampler.sample_indices_
    np.testing.assert_array_equal(X_res, X[src])  # every row, also a shrinkage-0 copy, is an input row
    np.testing.assert_array_equal(y_res, Y[src])
    assert sampler.shrinkage_ == (None if params["shrinkage"] is None else {0: 0})


@pytest.mark.parametrize("case,params", [("array", {}), ("dataframe", {}), ("half", {"sampling_strategy": {0: 3, 1: 6}})])
def test_random_under_sampler_draws_rows(case, params):
    X, Y = _data("under_sampling._prototype_selection.tests.test_random_under_sampler")
    X_in = pd.DataFrame(X) if case == "dataframe" else X
    sampler = RandomUnderSampler(random_state=0, replacement=True, **params)
    X_res, y_res = sampler.fit_resample(X_in, Y)
    _, y_theirs = iu.RandomUnderSampler(random_state=0, replacement=True, **params).fit_resample(X, Y)
    _same_counts(y_res, y_theirs)
    if case == "dataframe":
        assert hasattr(X_res, "loc")
    idx = sampler.sample_indices_
    np.testing.assert_array_equal(np.asarray(X_res), X[idx])
    np.testing.assert_array_equal(y_res, Y[idx])
    assert list(y_res) == sorted(y_res)  # classes in order, as imbalanced-learn's


# --- condensing rules: test_cnn_fit_resample*, test_oss_* ------------------------------------------

class _SeedRows(np.random.RandomState):
    """A generator whose randint returns the given positions: imbalanced-learn's CNN and OSS draw
    their seed rows with randint, so this runs them for a chosen seed row per class."""

    def __init__(self, positions):
        super().__init__(0)
        self._positions = list(positions)

    def randint(self, low, high=None, size=None, dtype=int):
        return np.array([self._positions.pop(0) % high])


def _imblearn_outcomes(cls, X, Y, **params):
    """Every set of rows imbalanced-learn's sampler keeps, over all choices of one seed row per class."""
    counts = np.bincount(Y)
    targeted = len(counts) - 1  # all classes but the minority
    out = set()
    for positions in itertools.product(range(counts.max()), repeat=targeted):
        s = cls(random_state=_SeedRows(positions), **params)
        s.fit_resample(X, Y)
        out.add(tuple(sorted(s.sample_indices_.tolist())))
    return out


@pytest.mark.parametrize("ours,theirs", [(CondensedNearestNeighbour, iu.CondensedNearestNeighbour),
                                         (OneSidedSelection, iu.OneSidedSelection)], ids=["cnn", "oss"])
@pytest.mark.parametrize("n_neighbors", [None, 1, KNeighborsClassifier(n_neighbors=1)], ids=["default", "1", "obj"])
def test_condensing_keeps_what_imblearn_keeps_for_some_seed_rows(ours, theirs, n_neighbors):
    module = ("under_sampling._prototype_selection.tests.test_condensed_nearest_neighbour" if ours is
              CondensedNearestNeighbour else "under_sampling._prototype_selection.tests.test_one_sided_selection")
    X, Y = _data(module)
    params = {} if n_neighbors is None else {"n_neighbors": n_neighbors}
    possible = _imblearn_outcomes(theirs, X, Y, **params)
    seen = set()
    for seed in range(10):
        sampler = ours(random_state=seed, **params)
        X_res, y_res = sampler.fit_resample(X, Y)
        rows = tuple(sorted(sampler.sample_indices_.tolist()))
        assert rows in possible, (seed, rows)
        np.testing.assert_array_equal(X_res, X[sampler.sample_indices_])
        np.testing.assert_array_equal(y_res, Y[sampler.sample_indices_])
        minority = np.argmin(np.bincount(Y))
        assert set(np.flatnonzero(Y == minority)) <= set(rows)  # the minority is never condensed
        seen.add(rows)
    assert len(seen) > 1  # the seed rows follow random_state


# --- SMOTE then cleaning: combine/tests/test_smote_enn.py, test_smote_tomek.py -----------------------

COMBINE_CASES = {
    "enn-test_sample_regular": (SMOTEENN, ic.SMOTEENN, lambda m: {}),
    "enn-test_sample_regular_pass_smote_enn": (SMOTEENN, ic.SMOTEENN, lambda m: {
        "smote": m.SMOTE(sampling_strategy="auto", random_state=0), "enn": m.ENN(sampling_strategy="all")}),
    "enn-test_validate_estimator_init": (SMOTEENN, ic.SMOTEENN, lambda m: {
        "smote": m.SMOTE(random_state=0), "enn": m.ENN(sampling_strategy="all")}),
    "enn-test_validate_estimator_default": (SMOTEENN, ic.SMOTEENN, lambda m: {}),
    "tomek-test_sample_regular": (SMOTETomek, ic.SMOTETomek, lambda m: {}),
    "tomek-test_sample_regular_half": (SMOTETomek, ic.SMOTETomek, lambda m: {"sampling_strategy": {0: 9, 1: 12}}),
    "tomek-test_validate_estimator_init": (SMOTETomek, ic.SMOTETomek, lambda m: {
        "smote": m.SMOTE(random_state=0), "tomek": m.Tomek(sampling_strategy="all")}),
    "tomek-test_validate_estimator_default": (SMOTETomek, ic.SMOTETomek, lambda m: {}),
}


class _Ours:
    SMOTE, ENN, Tomek = SMOTE, EditedNearestNeighbours, TomekLinks


class _Theirs:
    SMOTE, ENN, Tomek = io.SMOTE, iu.EditedNearestNeighbours, iu.TomekLinks


@pytest.mark.parametrize("case", COMBINE_CASES)
def test_combine_rows_valid(case):
    ours, theirs, params = COMBINE_CASES[case]
    X, Y = _data("combine.tests.test_smote_enn" if ours is SMOTEENN else "combine.tests.test_smote_tomek")
    sampler = ours(random_state=0, **params(_Ours))
    X_res, y_res = sampler.fit_resample(X, Y)
    _, y_theirs = theirs(random_state=0, **params(_Theirs)).fit_resample(X, Y)
    assert X_res.shape == (len(y_res), X.shape[1])
    assert set(y_res) == set(y_theirs) == set(Y)  # cleaning leaves every class
    # never more rows of a class than SMOTE's target (the majority's count, or the dict's)
    target = params(_Ours).get("sampling_strategy")
    cap = {c: max(np.bincount(Y)) if not target else max(target.get(c, 0), (Y == c).sum()) for c in set(Y)}
    assert all(n <= cap[c] for c, n in Counter(y_res.tolist()).items())
    assert_inputs_kept(X, Y, X_res, y_res, sampler.origin_)
    # the cleaning may remove every new row (it does with some seeds on these 20 rows)
    assert_interpolated(X, Y, X_res, y_res, sampler.origin_, sampler.parents_, 5, some=False)


# --- ensembles: test_easy_ensemble_classifier_single_estimator, test_rusboost*[SAMME] ---------------

def test_easy_ensemble_single_estimator_is_its_pipeline():
    """One member equals the pipeline made of the member's own sampler and learner seeds."""
    from sklearn.datasets import load_iris
    from imblearn.datasets import make_imbalance
    iris = load_iris()
    X, y = make_imbalance(iris.data, iris.target, sampling_strategy={0: 20, 1: 25, 2: 50}, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    clf1 = EasyEnsembleClassifier(n_estimators=1, random_state=0).fit(X_train, y_train)
    member = clf1.estimators_[0]
    clf2 = make_pipeline(RandomUnderSampler(random_state=member[0].random_state),
                         AdaBoostClassifier(random_state=member[-1].random_state)).fit(X_train, y_train)
    np.testing.assert_array_equal(clf1.predict(X_test), clf2.predict(X_test))


def _boosted_seed(X, y, sample_weight=None):
    """A random_state whose SAMME ensemble has several rounds (a round worse than chance ends
    boosting, as in imbalanced-learn, where most seeds stop after one round on this data)."""
    for seed in range(20):
        clf = RUSBoostClassifier(n_estimators=500, algorithm="SAMME", random_state=seed).fit(X, y, sample_weight)
        if len(clf.estimators_) > 1:
            return seed, clf
    raise AssertionError("no seed in 0..19 boosts more than one round")


def test_rusboost_samme_rounds():
    X, y = _fixture("ensemble.tests.test_weight_boosting", "imbalanced_dataset")
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=1)
    _, clf = _boosted_seed(X_train, y_train)
    classes = np.unique(y)
    np.testing.assert_array_equal(clf.classes_, classes)
    assert len(clf.estimators_) == len(clf.samplers_) == len(clf.pipelines_) > 1
    assert len({s.random_state for s in clf.samplers_}) == len(clf.samplers_)
    assert len({e.random_state for e in clf.estimators_}) == len(clf.estimators_)
    assert len(clf.feature_importances_) == X.shape[1]
    assert clf.predict_proba(X_test).shape[1] == len(classes)
    assert clf.decision_function(X_test).shape[1] == len(classes)
    assert clf.score(X_test, y_test) > 0.6
    assert clf.predict(X_test).shape == y_test.shape


def test_rusboost_samme_sample_weight():
    """Weights of ones change nothing; other weights reach each round's learner, for the rows its
    sampler kept (checked on the first round, whose weights are the given ones normalised)."""
    from sklearn.tree import DecisionTreeClassifier
    X, y = _fixture("ensemble.tests.test_weight_boosting", "imbalanced_dataset")
    seed, clf = _boosted_seed(X, y)
    ones = RUSBoostClassifier(algorithm="SAMME", random_state=seed).fit(X, y, np.ones_like(y)).predict(X)
    np.testing.assert_array_equal(ones, RUSBoostClassifier(algorithm="SAMME", random_state=seed).fit(X, y).predict(X))
    weights = np.random.RandomState(42).rand(y.shape[0])
    weighted = RUSBoostClassifier(algorithm="SAMME", random_state=seed).fit(X, y, weights)
    first, rows = weighted.estimators_[0], weighted.samplers_[0].sample_indices_
    stump = DecisionTreeClassifier(max_depth=1, random_state=first.random_state)
    stump.fit(X[rows], y[rows], sample_weight=(weights / weights.sum())[rows])
    np.testing.assert_array_equal(first.predict(X), stump.predict(X))
    unweighted_first = clf.estimators_[0]
    assert (first.tree_.threshold != unweighted_first.tree_.threshold).any() or \
        (first.tree_.feature != unweighted_first.tree_.feature).any() or \
        not np.allclose(first.tree_.value, unweighted_first.tree_.value)
