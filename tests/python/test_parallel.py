"""Arrays that went through pickle (joblib workers, GridSearchCV(n_jobs=-1), joblib.load) carry
dtype objects equal to numpy's but not the same objects: every entry point into the compiled core
takes them, in this process and in joblib's worker processes, under cross_val_score and
GridSearchCV with n_jobs=2, with the same results as n_jobs=1."""
import io
import pickle

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from imblearn.pipeline import make_pipeline

from rebalance import _core, augment, combine, metrics, over_sampling, under_sampling
from rebalance.over_sampling import SMOTE, SVMSMOTE, RandomOverSampler


def unpickled(a):
    """`a` after a pickle round trip, as a joblib worker receives it."""
    return pickle.loads(pickle.dumps(a))


def joblib_loaded(a):
    buf = io.BytesIO()
    joblib.dump(a, buf)
    buf.seek(0)
    return joblib.load(buf)


SAMPLERS = [getattr(m, n) for m in (over_sampling, under_sampling, combine) for n in m.__all__
            if n not in ("SMOTENC", "SMOTEN", "InstanceHardnessThreshold")]


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("load", [unpickled, joblib_loaded], ids=["pickle", "joblib"])
def test_every_sampler_takes_unpickled_arrays(cls, load, cancer):
    x, y = cancer
    seeded = {"random_state": 0} if "random_state" in cls().get_params() else {}
    want_x, want_y = cls(**seeded).fit_resample(x, y)
    got_x, got_y = cls(**seeded).fit_resample(load(x), load(y))
    np.testing.assert_array_equal(got_x, want_x)
    np.testing.assert_array_equal(got_y, want_y)
    x32 = load(x.astype(np.float32))
    assert cls().fit_resample(x32, load(y))[0].dtype == np.float32


def test_metrics_neighbours_and_augment_take_unpickled_arrays(cancer):
    x, y = cancer
    pred = (x[:, 0] > np.median(x[:, 0])).astype(np.int64)
    assert metrics.geometric_mean_score(unpickled(y), unpickled(pred)) == metrics.geometric_mean_score(y, pred)
    assert metrics.acsa_score(unpickled(y), unpickled(pred)) == metrics.acsa_score(y, pred)
    scores = np.stack([1 - x[:, 0] / x[:, 0].max(), x[:, 0] / x[:, 0].max()], 1)
    assert metrics.map_at_k(unpickled(y), unpickled(scores), k=2) == metrics.map_at_k(y, scores, k=2)
    i1, d1 = _core.kneighbors(unpickled(x), unpickled(x[:5]), 3)
    i0, d0 = _core.kneighbors(x, x[:5], 3)
    np.testing.assert_array_equal(i1, i0)
    np.testing.assert_array_equal(d1, d0)
    # int64 spelled 'q' (long long) rather than 'l': the same type by value
    q = y.astype(np.dtype("q"))
    assert metrics.geometric_mean_score(q, pred) == metrics.geometric_mean_score(y, pred)
    a, b = SVMSMOTE(random_state=0).fit_resample(unpickled(x), unpickled(y))
    c, d = SVMSMOTE(random_state=0).fit_resample(x, y)
    np.testing.assert_array_equal(a, c)
    imgs = np.linspace(0, 1, 2 * 28 * 28, dtype=np.float32).reshape(2, 1, 28, 28)
    np.testing.assert_array_equal(augment.augment(unpickled(imgs), "hflip", random_state=0),
                                  augment.augment(imgs, "hflip", random_state=0))


def _resample_in_worker(x, y, seed):
    return SMOTE(random_state=seed).fit_resample(x, y)


def test_joblib_workers(cancer):
    x, y = cancer
    got = joblib.Parallel(n_jobs=2)(joblib.delayed(_resample_in_worker)(x, y, s) for s in range(3))
    for s, (gx, gy) in enumerate(got):
        wx, wy = SMOTE(random_state=s).fit_resample(x, y)
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


def test_cross_val_score_and_grid_search_with_two_jobs(cancer):
    x, y = cancer
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    pipe = make_pipeline(SMOTE(random_state=0), LogisticRegression(max_iter=5000))
    one = cross_val_score(pipe, x, y, cv=cv, scoring="balanced_accuracy", n_jobs=1)
    two = cross_val_score(pipe, x, y, cv=cv, scoring="balanced_accuracy", n_jobs=2, error_score="raise")
    np.testing.assert_allclose(two, one)
    assert two.mean() > 0.9
    grid = {"randomoversampler__shrinkage": [None, 0.5], "logisticregression__C": [0.1, 1.0]}
    search = GridSearchCV(make_pipeline(RandomOverSampler(random_state=0), LogisticRegression(max_iter=5000)), grid,
                          cv=cv, scoring="balanced_accuracy", n_jobs=2, error_score="raise").fit(x, y)
    serial = GridSearchCV(make_pipeline(RandomOverSampler(random_state=0), LogisticRegression(max_iter=5000)), grid,
                          cv=cv, scoring="balanced_accuracy", n_jobs=1).fit(x, y)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])


def test_float_parameters_pass_whatever_their_spelling(cancer):
    """Python writes 1e16 as '1e+16': a number, not the composition '1e' + '16'."""
    x, y = cancer
    a, _ = RandomOverSampler(shrinkage=1e16, random_state=0).fit_resample(x, y)
    assert a.shape[0] == 2 * np.bincount(y).max()
    assert np.isfinite(a).all()
