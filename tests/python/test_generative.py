"""The generative samplers through Python: images in as [N, C, H, W] (scikit-learn's 8x8 digits),
out in the same shape and dtype, each new row's provenance a real row; seeds reproduce; the GIL is
released while the core works."""
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification

from rebalance.generative import (CycleGANOverSampler, DeepSMOTEOverSampler, JointGANClassifier, M2mOverSampler,
                                  StarGANOverSampler, VAEOverSampler)
from rebalance.under_sampling import EditedNearestNeighbours


@pytest.fixture(scope="module")
def digit_images():
    x, y = load_digits(return_X_y=True)
    keep = np.r_[np.flatnonzero(y == 0)[:120], np.flatnonzero(y == 6)[:30], np.flatnonzero(y == 8)[:20]]
    return (x[keep] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8), y[keep]


def test_vae_images_round_trip(digit_images):
    x, y = digit_images
    s = VAEOverSampler(steps=40, random_state=0)
    xo, yo = s.fit_resample(x, y)
    assert xo.dtype == np.float32 and xo.shape[1:] == (1, 8, 8)
    assert np.bincount(yo).tolist()[0] == 120 and (np.bincount(yo)[[6, 8]] == 120).all()
    new = s.origin_ < 0
    np.testing.assert_array_equal(xo[~new], x[s.origin_[~new]])
    # sample=posterior decodes around a real row of the class
    assert (y[s.parents_[new, 0]] == yo[new]).all()
    again = VAEOverSampler(steps=40, random_state=0).fit_resample(x, y)[0]
    np.testing.assert_array_equal(xo, again)  # same seed, same bytes


def test_deepsmote_interpolates_between_two_rows_of_the_class(digit_images):
    x, y = digit_images
    s = DeepSMOTEOverSampler(epochs=3, min_steps=0, batch_size=16, latent=8, random_state=0)
    xo, yo = s.fit_resample(x, y)
    new = s.origin_ < 0
    assert xo.dtype == x.dtype and xo.shape[1:] == x.shape[1:]
    np.testing.assert_array_equal(xo[~new], x)
    # both parents are real rows of the new row's class, and distinct
    assert (y[s.parents_[new, 0]] == yo[new]).all() and (y[s.parents_[new, 1]] == yo[new]).all()
    assert (s.parents_[new, 0] != s.parents_[new, 1]).all()
    np.testing.assert_array_equal(xo, DeepSMOTEOverSampler(epochs=3, min_steps=0, batch_size=16, latent=8,
                                                          random_state=0).fit_resample(x, y)[0])


def test_m2m_translates_larger_classes_or_copies(digit_images):
    x, y = digit_images
    s = M2mOverSampler(model="mlp:hidden=[16]", epochs=20, step_size=1.0, gamma=0.5, random_state=0)
    xo, yo = s.fit_resample(x, y)
    new = s.origin_ < 0
    np.testing.assert_array_equal(xo[~new], x)
    src = s.parents_[new, 0]
    translated = y[src] != yo[new]
    # a translation starts from a row of a larger class; the rest are copies of real rows of the class
    counts = np.bincount(y)
    assert (counts[y[src[translated]]] > counts[yo[new][translated]]).all()
    np.testing.assert_array_equal(xo[new][~translated], x[src[~translated]])


@pytest.mark.parametrize("cls,params", [(CycleGANOverSampler, {"steps": 6, "decay_steps": 0, "batch_size": 4}),
                                        (StarGANOverSampler, {"steps": 6, "decay_steps": 0, "batch_size": 4})])
def test_translators_name_the_majority_row(cls, params, digit_images):
    x, y = digit_images
    s = cls(random_state=0, **params)
    xo, yo = s.fit_resample(x, y)
    new = s.origin_ < 0
    assert new.sum() == 2 * 120 - 50
    assert (y[s.parents_[new, 0]] == 0).all()  # each new image translates a majority image
    assert xo.shape[1:] == (1, 8, 8) and np.isfinite(xo).all()


def test_gil_released_while_the_core_works():
    """While one thread is inside the core, another runs Python: the main thread observes the
    worker's frame at the core call many times (with the GIL held it could not run at all)."""
    x, y = make_classification(n_samples=100000, n_features=20, n_informative=5, n_redundant=2, weights=[0.99],
                               flip_y=0, random_state=0)
    state = {}

    def work():
        state["thread"] = threading.get_ident()
        for _ in range(3):
            EditedNearestNeighbours().fit_resample(x, y)

    t = threading.Thread(target=work)
    t.start()
    seen = 0
    while t.is_alive():
        frame = sys._current_frames().get(state.get("thread"))
        if frame is not None and frame.f_code.co_name == "_run" and "base.py" in frame.f_code.co_filename \
                and "_core.fit_resample" in _line(frame):
            seen += 1
        time.sleep(0.01)
    t.join()
    assert seen >= 5, seen


def _line(frame):
    import linecache
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno)


@pytest.mark.parametrize("mode,generator", [("aug", "cyclegan"), ("alt", "stargan")])
def test_joint_gan_classifier(mode, generator, digit_images):
    """Seed 004's joint training as a scikit-learn classifier: fits, predicts the caller's labels,
    pickles to the same predictions, clones, and refuses what the CLI refuses."""
    import pickle
    from sklearn.base import clone
    x, y = digit_images
    names = np.array(["zero", "x", "x", "x", "x", "x", "six", "x", "eight"])[y]
    clf = JointGANClassifier(mode, generator=generator, generator_params={"steps": 4, "decay_steps": 0, "batch_size": 4},
                             model="mlp:hidden=[32]", epochs=3, batch_size=32, rounds=2, random_state=0)
    clf.fit(x, names)
    assert [p["kind"] for p in clf.phases_][:1] == ["generators"] and len(clf.phases_) >= 2
    proba = clf.predict_proba(x)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1)
    pred = clf.predict(x)
    assert set(pred) <= {"zero", "six", "eight"} and np.mean(pred == names) > 0.5
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(x), proba)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(ValueError, match="images"):
        clf.predict(x.reshape(len(y), -1))
    with pytest.raises(ValueError, match="belongs to the"):
        JointGANClassifier(generator="stargan", generator_params={"pool_size": 10}, model="mlp:hidden=[8]",
                           epochs=1).fit(x, y)


def test_joint_gan_classifier_stacks_the_long_tail_recipes(digit_images):
    """The loss (deferred re-weighting included), decoupling and MaxNorm reach the joint classifier;
    mixing does not exist there (a mixed row belongs to no one part of the joint loss)."""
    x, y = digit_images
    common = dict(generator_params={"steps": 2, "decay_steps": 0, "batch_size": 4}, model="mlp:hidden=[16]",
                  epochs=2, batch_size=32, monitor="none", random_state=0)
    plain = JointGANClassifier(**common).fit(x, y)
    stacked = JointGANClassifier(loss="ldam:drw_epoch=1", optimizer="sgd", lr=0.05, momentum=0.9,
                                 schedule="cosine", decouple="tau_norm:tau=1", **common).fit(x, y)
    assert not np.allclose(plain.predict_proba(x), stacked.predict_proba(x))
    capped = JointGANClassifier(max_norm=0.05, **common).fit(x, y)
    assert not np.allclose(plain.predict_proba(x), capped.predict_proba(x))
    with pytest.raises(ValueError, match="drw_epoch must be >= 0, or -1 for never"):
        JointGANClassifier(loss="ldam:drw_epoch=-3", **common).fit(x, y)
    with pytest.raises(ValueError, match="JointGANClassifier: max_norm must be in"):
        JointGANClassifier(max_norm=-1.0, **common).fit(x, y)
