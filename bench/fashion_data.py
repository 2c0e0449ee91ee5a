"""Fashion-MNIST IDX files (Debian's dataset-fashion-mnist), for the benchmark scripts."""
import gzip
import os

import numpy as np

DATA = os.environ.get("REBALANCE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def load_idx(name):
    """One IDX file of the Fashion-MNIST folder (e.g. "train-images-idx3-ubyte.gz") as a numpy array."""
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def seed000_pair(n_major=5000, n_minor=100):
    """Seed 000's pair: n_major T-shirt/top (label 0) and n_minor Shirt (label 1) training images,
    a seeded draw, as float32 [n, 1, 28, 28] in [0, 1] and int64 labels."""
    images = load_idx("train-images-idx3-ubyte.gz")
    labels = load_idx("train-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(0)
    maj = rng.choice(np.flatnonzero(labels == 0), n_major, replace=False)
    mino = rng.choice(np.flatnonzero(labels == 6), n_minor, replace=False)
    x = (images[np.concatenate([maj, mino])].astype(np.float32) / 255.0)[:, None]
    y = np.concatenate([np.zeros(n_major, np.int64), np.ones(n_minor, np.int64)])
    return x, y
