"""rebalance's Python samplers against imbalanced-learn 0.10 on real data (scikit-learn's bundled
sets): the deterministic samplers keep the same rows in the same order (sample_indices_ and the
returned arrays equal); the random ones resolve the same sampling_strategy_ and return the same
class counts, and every synthetic row is what its method makes from the parents it names."""
import numpy as np
import pytest
import imblearn.combine as ic
import imblearn.over_sampling as io
import imblearn.under_sampling as iu

import rebalance.combine as rc
import rebalance.over_sampling as ro
import rebalance.under_sampling as ru

DETERMINISTIC = [
    ("TomekLinks", {}), ("TomekLinks", {"sampling_strategy": "all"}),
    ("EditedNearestNeighbours", {}), ("EditedNearestNeighbours", {"kind_sel": "mode"}),
    ("EditedNearestNeighbours", {"n_neighbors": 5, "sampling_strategy": "all"}),
    ("AllKNN", {}), ("AllKNN", {"allow_minority": True}),
    ("NearMiss", {"version": 1}), ("NearMiss", {"version": 2}), ("NearMiss", {"version": 3}),
    ("NeighbourhoodCleaningRule", {"kind_sel": "mode"}),
]


def _plain(strategy):
    return dict(strategy) if isinstance(strategy, dict) else strategy


def _module(name, ours):
    for mod in ((ru, ro, rc) if ours else (iu, io, ic)):
        if hasattr(mod, name):
            return getattr(mod, name)
    raise KeyError(name)


@pytest.mark.parametrize("name,params", DETERMINISTIC, ids=[f"{n}{p}" for n, p in DETERMINISTIC])
@pytest.mark.parametrize("data", ["cancer", "wine"])
def test_same_rows_as_imblearn(name, params, data, request):
    x, y = request.getfixturevalue(data)
    ours = _module(name, True)(**params)
    ref = _module(name, False)(**params)
    xo, yo = ours.fit_resample(x, y)
    xr, yr = ref.fit_resample(x, y)
    np.testing.assert_array_equal(ours.sample_indices_, ref.sample_indices_)
    np.testing.assert_array_equal(xo, xr)
    np.testing.assert_array_equal(yo, yr)
    assert dict(ours.sampling_strategy_) == dict(ref.sampling_strategy_)


def test_repeated_enn_same_rows(cancer):
    """RENN's returned rows (imbalanced-learn 0.10 permutes sample_indices_ twice when its first
    pass converges, so the rows are compared, not the indices)."""
    x, y = cancer
    xo, yo = ru.RepeatedEditedNearestNeighbours().fit_resample(x, y)
    xr, yr = iu.RepeatedEditedNearestNeighbours().fit_resample(x, y)
    np.testing.assert_array_equal(xo, xr)
    np.testing.assert_array_equal(yo, yr)


RANDOM = [
    ("RandomUnderSampler", {}), ("RandomUnderSampler", {"replacement": True}),
    ("RandomUnderSampler", {"sampling_strategy": 0.8}),
    ("RandomOverSampler", {}), ("RandomOverSampler", {"shrinkage": 0.5}),
    ("RandomOverSampler", {"sampling_strategy": "not majority"}),
    ("SMOTE", {}), ("SMOTE", {"k_neighbors": 3, "sampling_strategy": "not majority"}),
    ("BorderlineSMOTE", {}), ("BorderlineSMOTE", {"kind": "borderline-2"}),
    ("ADASYN", {}), ("ClusterCentroids", {}),
    ("CondensedNearestNeighbour", {}), ("OneSidedSelection", {}),
    ("SMOTEENN", {}), ("SMOTETomek", {}),
]


@pytest.mark.parametrize("name,params", RANDOM, ids=[f"{n}{p}" for n, p in RANDOM])
def test_same_strategy_and_counts_as_imblearn(name, params, cancer, wine):
    for x, y in (cancer, wine):
        if "sampling_strategy" in params and isinstance(params["sampling_strategy"], float) and len(np.unique(y)) > 2:
            continue
        ours = _module(name, True)(random_state=0, **params)
        ref = _module(name, False)(random_state=0, **params)
        xo, yo = ours.fit_resample(x, y)
        xr, yr = ref.fit_resample(x, y)
        assert _plain(ours.sampling_strategy_) == _plain(ref.sampling_strategy_)
        assert xo.dtype == xr.dtype and xo.shape[1] == xr.shape[1]
        if params.get("kind") == "borderline-2":
            # imbalanced-learn's borderline-2 makes int(f (n + 1)) + int((1 - f) n) rows for a
            # beta-drawn f, one short of n about half the time; ours makes exactly n
            assert np.all(np.bincount(yo) - np.bincount(yr) >= 0) and np.all(np.bincount(yo) - np.bincount(yr) <= 1)
            assert np.bincount(yo).tolist() == [max(np.bincount(y))] * len(np.unique(y))
        elif name not in ("CondensedNearestNeighbour", "OneSidedSelection", "SMOTEENN", "SMOTETomek"):
            # ADASYN's counts follow from its neighbours, which are the same on both sides
            np.testing.assert_array_equal(np.bincount(yo), np.bincount(yr))
        kept = ours.origin_ >= 0
        np.testing.assert_array_equal(xo[kept], x[ours.origin_[kept]])  # kept rows are the input's, bit for bit


@pytest.mark.parametrize("name", ["SMOTE", "BorderlineSMOTE", "ADASYN"])
def test_new_rows_lie_between_their_parents(name, wine):
    x, y = wine
    s = _module(name, True)(random_state=3)
    xo, yo = s.fit_resample(x, y)
    new = np.flatnonzero(s.origin_ < 0)
    assert len(new) > 0
    a = x[s.parents_[new, 0]]
    b = x[s.parents_[new, 1]]
    d = b - a
    t = np.sum((xo[new] - a) * d, axis=1) / np.maximum(np.sum(d * d, axis=1), 1e-300)
    assert np.all((t >= -1e-12) & (t <= 1 + 1e-12))
    np.testing.assert_allclose(xo[new], a + t[:, None] * d, rtol=0, atol=1e-9)


def test_kmeans_smote_and_smoten_counts(cancer):
    x, y = cancer
    xo, yo = ro.KMeansSMOTE(random_state=0, cluster_balance_threshold=0.1).fit_resample(x, y)
    assert np.bincount(yo).tolist() == [357, 357]
    rng = np.random.RandomState(0)
    xc = rng.randint(0, 3, size=(300, 4)).astype(np.float64)
    yc = np.r_[np.zeros(250, dtype=int), np.ones(50, dtype=int)]
    xo, yo = ro.SMOTEN(random_state=0).fit_resample(xc, yc)
    xr, yr = io.SMOTEN(random_state=0).fit_resample(xc, yc)
    assert np.bincount(yo).tolist() == np.bincount(yr).tolist() == [250, 250]
    assert set(np.unique(xo)) <= {0.0, 1.0, 2.0}


@pytest.mark.parametrize("data", ["cancer", "wine"])
def test_instance_hardness_threshold_same_rows(data, request):
    x, y = request.getfixturevalue(data)
    ours = ru.InstanceHardnessThreshold(random_state=0)
    ref = iu.InstanceHardnessThreshold(random_state=0)
    xo, yo = ours.fit_resample(x, y)
    xr, yr = ref.fit_resample(x, y)
    np.testing.assert_array_equal(ours.sample_indices_, ref.sample_indices_)
    np.testing.assert_array_equal(xo, xr)
    assert dict(ours.sampling_strategy_) == dict(ref.sampling_strategy_)


@pytest.mark.parametrize("data", ["cancer", "wine"])
def test_svmsmote_counts_and_segments(data, request):
    x, y = request.getfixturevalue(data)
    ours = ro.SVMSMOTE(random_state=0)
    xo, yo = ours.fit_resample(x, y)
    ref = io.SVMSMOTE(random_state=0)
    xr, yr = ref.fit_resample(x, y)
    assert dict(ours.sampling_strategy_) == dict(ref.sampling_strategy_)
    assert np.bincount(yo).tolist() == [max(np.bincount(y))] * len(np.unique(y))
    new = np.flatnonzero(ours.origin_ < 0)
    a, b = x[ours.parents_[new, 0]], x[ours.parents_[new, 1]]
    assert (y[ours.parents_[new, 0]] == yo[new]).all() and (y[ours.parents_[new, 1]] == yo[new]).all()
    d = b - a
    t = np.sum((xo[new] - a) * d, axis=1) / np.sum(d * d, axis=1)
    assert np.all((t >= -0.5 - 1e-9) & (t <= 1 + 1e-9))  # interpolated (danger) or pushed out (safe)
    np.testing.assert_allclose(xo[new], a + t[:, None] * d, atol=1e-7)


def test_random_over_sampler_shrinkage_per_class(wine):
    x, y = wine
    names = np.array(["a", "b", "c"])[y]
    ours = ro.RandomOverSampler(shrinkage={"b": 0.5, "c": 1.0}, random_state=0)
    ref = io.RandomOverSampler(shrinkage={"b": 0.5, "c": 1.0}, random_state=0)
    xo, yo = ours.fit_resample(x, names)
    xr, yr = ref.fit_resample(x, names)
    assert ours.shrinkage_ == ref.shrinkage_ and dict(ours.sampling_strategy_) == dict(ref.sampling_strategy_)
    assert sorted(yo.tolist()) == sorted(yr.tolist())
    new = ours.origin_ < 0
    assert np.all(ours.sample_indices_[new] == ours.parents_[new, 0])  # each smoothed row's source
    with pytest.raises(ValueError, match="shrinkage factor for each class"):
        ro.RandomOverSampler(shrinkage={"b": 0.5}).fit_resample(x, names)
