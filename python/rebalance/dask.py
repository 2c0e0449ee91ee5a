"""Resampling data spread over a Dask cluster (as ``lightgbm.dask`` does for training): the data
stays in its partitions; only class counts and, for SMOTE, the minority class cross the network.

    >>> import dask.array as da
    >>> from rebalance.dask import random_under_sample, smote
    >>> X_res, y_res = random_under_sample(X, y, random_state=0)     # X: [N, D], y: [N] dask arrays
    >>> X_res, y_res = smote(X, y, k_neighbors=5, random_state=0)

``random_under_sample`` counts the classes globally, then deals each class's kept count out to the
partitions by a multivariate hypergeometric draw over their class counts (exactly a uniform draw
without replacement over all rows), and every partition keeps that many of its own rows of the
class, at random. ``smote`` gathers each class it grows to every worker (SMOTE's neighbours are
same-class rows, so the minority is all it needs; it must fit in one worker's memory), finds its
k nearest neighbours once with rebalance's exact kNN engine, and has every output partition make
its share of the new rows, interpolating between a minority row and one of its neighbours
(Chawla et al., JAIR 2002). Both are seeded: the same seed and partitioning give the same rows.
"""
import numbers

import dask
import dask.array as da
import numpy as np

from . import _core

__all__ = ["class_counts", "random_under_sample", "smote"]


def _check(X, y):
    if not isinstance(X, da.Array) or not isinstance(y, da.Array):
        raise TypeError("X and y must be dask arrays (dask.array.from_array, dask.dataframe.to_dask_array)")
    if X.ndim != 2 or y.ndim != 1:
        raise ValueError(f"X must be [N, D] and y [N]; got X{X.shape} and y{y.shape}")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})  # every partition holds whole rows
    if X.chunks[0] != y.chunks[0]:
        y = y.rechunk({0: X.chunks[0]})
    return X, y


def _seed(random_state):
    if random_state is None:
        return 0
    if not isinstance(random_state, numbers.Integral) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int or None, got {random_state!r}")
    return int(random_state)


def _block_counts(y):
    """Per partition, {label: count}; computed in one pass."""
    parts = [dask.delayed(lambda b: dict(zip(*np.unique(b, return_counts=True))))(blk) for blk in y.to_delayed()]
    return dask.compute(*parts)


def class_counts(y):
    """The global class counts of a dask array of labels, as {label: count} (sorted labels)."""
    if not isinstance(y, da.Array) or y.ndim != 1:
        raise TypeError("y must be a 1-D dask array")
    total = {}
    for c in _block_counts(y):
        for k, v in c.items():
            total[k] = total.get(k, 0) + int(v)
    return dict(sorted(total.items()))


def _targets(counts, sampling_strategy, under):
    """imbalanced-learn's strategies 'auto' and dict: class -> rows to keep (under) or to add (over)."""
    if isinstance(sampling_strategy, dict):
        out = {}
        for k, n in sampling_strategy.items():
            if k not in counts:
                raise ValueError(f"The {{{k}}} target class is/are not present in the data (classes: "
                                 f"{', '.join(map(str, counts))}).")
            if under and n > counts[k]:
                raise ValueError(f"With under-sampling methods, the number of samples in a class should be less or "
                                 f"equal to the original number of samples. Originally, there is {counts[k]} samples "
                                 f"and {n} samples are asked (class {k!r}).")
            if not under and n < counts[k]:
                raise ValueError(f"With over-sampling methods, the number of samples in a class should be greater or "
                                 f"equal to the original number of samples. Originally, there is {counts[k]} samples "
                                 f"and {n} samples are asked (class {k!r}).")
            out[k] = n if under else n - counts[k]
        return out
    if sampling_strategy != "auto":
        raise ValueError(f"sampling_strategy must be 'auto' or a dict {{class: count}}, got {sampling_strategy!r}")
    if len(counts) < 2:
        raise ValueError(f"The target 'y' needs to have more than 1 class. Got {len(counts)} class instead")
    lo, hi = min(counts.values()), max(counts.values())
    minority = next(k for k, v in counts.items() if v == lo)
    majority = next(k for k, v in counts.items() if v == hi)
    if under:
        return {k: lo for k in counts if k != minority}
    return {k: hi - v for k, v in counts.items() if k != majority}


def _keep_rows(xb, yb, quota, seed):
    rng = np.random.default_rng(seed)
    keep = np.ones(len(yb), bool)
    for k, n in quota.items():
        rows = np.flatnonzero(yb == k)
        keep[rows] = False
        keep[rng.choice(rows, n, replace=False)] = True
    return xb[keep], yb[keep]


def random_under_sample(X, y, sampling_strategy="auto", random_state=None):
    """Keep, of every class the strategy names, a uniform random subset of its rows ('auto': the
    minority's count for every other class; or {class: count}); other classes are kept whole.
    Returns (X_res, y_res) as dask arrays partitioned as the input, rows in their input order."""
    X, y = _check(X, y)
    seed = _seed(random_state)
    blocks = _block_counts(y)
    counts = {}
    for c in blocks:
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + int(v)
    counts = dict(sorted(counts.items()))
    keep = _targets(counts, sampling_strategy, under=True)
    rng = np.random.default_rng(seed)
    quotas = [{} for _ in blocks]
    for k, n in keep.items():
        colors = np.array([int(b.get(k, 0)) for b in blocks], np.int64)
        share = rng.multivariate_hypergeometric(colors, n)
        for i, q in enumerate(share):
            quotas[i][k] = int(q)
    parts = [dask.delayed(_keep_rows, nout=2)(xb, yb, quotas[i], seed * 1_000_003 + i)
             for i, (xb, yb) in enumerate(zip(X.to_delayed().ravel(), y.to_delayed()))]
    sizes = [sum(b.values()) - sum(int(b.get(k, 0)) - quotas[i].get(k, 0) for k in keep) for i, b in enumerate(blocks)]
    xs = [da.from_delayed(p[0], (s, X.shape[1]), X.dtype) for p, s in zip(parts, sizes)]
    ys = [da.from_delayed(p[1], (s,), y.dtype) for p, s in zip(parts, sizes)]
    return da.concatenate(xs), da.concatenate(ys)


def _make_rows(minority, neighbours, count, seed):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(minority), count)
    cols = rng.integers(0, neighbours.shape[1], count)
    steps = rng.random(count).astype(minority.dtype)[:, None]
    a = minority[rows]
    return a + steps * (minority[neighbours[rows, cols]] - a)


def smote(X, y, k_neighbors=5, sampling_strategy="auto", random_state=None):
    """SMOTE over a Dask array: for every class the strategy grows ('auto': to the majority's count;
    or {class: count}), its rows are gathered to the workers and new rows interpolated between a
    row and one of its k same-class nearest neighbours. Returns (X_res, y_res): the input's
    partitions unchanged, then the new rows, spread over as many partitions."""
    X, y = _check(X, y)
    seed = _seed(random_state)
    if not isinstance(k_neighbors, numbers.Integral) or k_neighbors < 1:
        raise ValueError(f"k_neighbors must be a positive int, got {k_neighbors!r}")
    if X.dtype not in (np.float32, np.float64):
        raise ValueError(f"X must be float32 or float64, got {X.dtype}")
    counts = class_counts(y)
    add = _targets(counts, sampling_strategy, under=False)
    nparts = X.numblocks[0]
    xs, ys = [X], [y]
    for ci, (k, n) in enumerate(sorted(add.items())):
        if n == 0:
            continue
        minority = np.ascontiguousarray(X[y == k].compute())
        if len(minority) <= k_neighbors:
            raise ValueError(f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k_neighbors + 1}, "
                             f"n_samples_fit = {len(minority)}, n_samples = {len(minority)} (class {k!r})")
        nn, _ = _core.kneighbors(minority, minority, k_neighbors + 1)
        neighbours = np.ascontiguousarray(nn[:, 1:])
        # Scattered once, then every partition of new rows reads the same copy.
        m_d, nb_d = dask.delayed(minority), dask.delayed(neighbours)
        share = [n // nparts + (1 if i < n % nparts else 0) for i in range(nparts)]
        for i, cnt in enumerate(share):
            if cnt == 0:
                continue
            part = dask.delayed(_make_rows)(m_d, nb_d, cnt, seed * 1_000_003 + ci * 65_537 + i)
            xs.append(da.from_delayed(part, (cnt, X.shape[1]), X.dtype))
            ys.append(da.full((cnt,), k, dtype=y.dtype, chunks=cnt))
    return da.concatenate(xs), da.concatenate(ys)
