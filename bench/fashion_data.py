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
