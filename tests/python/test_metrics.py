"""rebalance.metrics against imbalanced-learn's and scikit-learn's on random predictions."""
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

import imblearn.metrics as im
import rebalance.metrics as rm


@pytest.fixture(params=[0, 1, 2])
def preds(request):
    rng = np.random.RandomState(request.param)
    n, c = 300, 2 + request.param
    y_true = rng.choice(c, n, p=np.r_[0.7, np.full(c - 1, 0.3 / (c - 1))])
    y_pred = np.where(rng.rand(n) < 0.7, y_true, rng.choice(c, n))
    w = rng.rand(n)
    return y_true, y_pred, w


def test_gmean_all_averages(preds):
    t, p, w = preds
    for avg in ("multiclass", "macro", "weighted", "micro", None):
        for sw in (None, w):
            a = rm.geometric_mean_score(t, p, average=avg, sample_weight=sw)
            b = im.geometric_mean_score(t, p, average=avg, sample_weight=sw)
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rm.geometric_mean_score(t, p, correction=0.01),
                               im.geometric_mean_score(t, p, correction=0.01), atol=1e-12)


def test_sensitivity_specificity(preds):
    t, p, w = preds
    for avg in (None, "macro", "weighted", "micro"):
        a = rm.sensitivity_specificity_support(t, p, average=avg, sample_weight=w)
        b = im.sensitivity_specificity_support(t, p, average=avg, sample_weight=w)
        for u, v in zip(a[:2], b[:2]):
            np.testing.assert_allclose(u, v, atol=1e-12)
    if len(np.unique(t)) == 2:
        assert rm.sensitivity_score(t, p) == pytest.approx(im.sensitivity_score(t, p), abs=1e-12)
        assert rm.specificity_score(t, p) == pytest.approx(im.specificity_score(t, p), abs=1e-12)


def test_report_text_and_dict(preds):
    t, p, w = preds
    assert rm.classification_report_imbalanced(t, p) == im.classification_report_imbalanced(t, p)
    names = [f"class {i}" for i in np.unique(t)]
    assert rm.classification_report_imbalanced(t, p, target_names=names, digits=4) == \
        im.classification_report_imbalanced(t, p, target_names=names, digits=4)
    a = rm.classification_report_imbalanced(t, p, output_dict=True, sample_weight=w)
    b = im.classification_report_imbalanced(t, p, output_dict=True, sample_weight=w)
    assert a.keys() == b.keys()
    for k in b:
        if isinstance(b[k], dict):
            for h in b[k]:
                assert a[k][h] == pytest.approx(b[k][h], abs=1e-12), (k, h)
        else:
            assert a[k] == pytest.approx(b[k], abs=1e-12), k


def test_acsa_and_map(preds):
    t, p, _ = preds
    assert rm.acsa_score(t, p) == pytest.approx(balanced_accuracy_score(t, p), abs=1e-12)
    scores = np.eye(len(np.unique(t)))[p] + 0.01 * np.arange(len(np.unique(t)))
    # p's class is ranked first: MAP@1 is the accuracy
    assert rm.map_at_k(t, scores, k=1) == pytest.approx(np.mean(t == p), abs=1e-12)
    rank = (scores > scores[np.arange(len(t)), t][:, None]).sum(axis=1) + 1
    assert rm.map_at_k(t, scores, k=5) == pytest.approx(np.mean(np.where(rank <= 5, 1 / rank, 0)), abs=1e-12)
    with pytest.raises(ValueError, match="columns"):
        rm.map_at_k(t, scores[:, :1])
