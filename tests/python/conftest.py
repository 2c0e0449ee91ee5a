"""Shared data for the Python package's tests: scikit-learn's bundled sets, made imbalanced."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification

warnings.filterwarnings("ignore", category=FutureWarning)


def subsample(x, y, counts, seed):
    """counts[c] rows of each class c (a seeded choice), in input order."""
    rng = np.random.RandomState(seed)
    keep = []
    for c, n in enumerate(counts):
        keep.extend(rng.permutation(np.flatnonzero(y == c))[:n])
    keep = np.sort(np.array(keep))
    return x[keep], y[keep]


@pytest.fixture(scope="session")
def cancer():
    """Breast cancer, float64: 357 benign (0) vs 212 malignant (1)."""
    x, y = load_breast_cancer(return_X_y=True)
    return np.ascontiguousarray(x), (1 - y).astype(np.int64)


@pytest.fixture(scope="session")
def wine():
    """Wine with classes of 59, 30 and 12 rows, float64."""
    x, y = load_wine(return_X_y=True)
    return subsample(x, y, [59, 30, 12], 1)


@pytest.fixture(scope="session")
def digits():
    """Digits 0-3 at 178/100/40/15 rows (integer pixels), float64."""
    x, y = load_digits(return_X_y=True)
    keep = y < 4
    return subsample(x[keep], y[keep], [178, 100, 40, 15], 3)


@pytest.fixture(scope="session")
def blobs3():
    """make_classification, 3 classes at 20/30/50 %, as imbalanced-learn's estimator checks use."""
    return make_classification(n_samples=1000, n_classes=3, n_informative=4, weights=[0.2, 0.3, 0.5], random_state=0)
