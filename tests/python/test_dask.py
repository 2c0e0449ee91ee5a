"""rebalance.dask on a local Dask cluster (two worker processes on loopback): global class counts,
per-partition random under-sampling with exact global counts, SMOTE with the minority gathered to
the workers; rows checked against the input and against the exact kNN."""
import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

from rebalance import _core  # noqa: E402
from rebalance.dask import class_counts, random_under_sample, smote  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def data(cancer):
    x, y = cancer
    x = (x / x.max(0)).astype(np.float32)
    return x, y, da.from_array(x, chunks=(100, -1)), da.from_array(y, chunks=100)


def test_class_counts(client, data):
    x, y, _, dy = data
    assert class_counts(dy) == {0: int((y == 0).sum()), 1: int((y == 1).sum())}


def test_random_under_sample_keeps_global_counts_of_input_rows(client, data):
    x, y, dx, dy = data
    xr, yr = random_under_sample(dx, dy, random_state=0)
    xr, yr = dask.compute(xr, yr)
    n_min = int((y == 1).sum())
    assert np.bincount(yr).tolist() == [n_min, n_min]
    # Every kept row is an input row with its label, none twice.
    index = {row.tobytes(): i for i, row in enumerate(x)}
    src = [index[r.tobytes()] for r in xr]
    assert len(set(src)) == len(src)
    assert (y[src] == yr).all()
    # Seeded; another seed keeps other rows.
    xr2, _ = dask.compute(*random_under_sample(dx, dy, random_state=0))
    assert np.array_equal(xr, xr2)
    xr3, _ = dask.compute(*random_under_sample(dx, dy, random_state=1))
    assert not np.array_equal(xr, xr3)
    xd, yd = dask.compute(*random_under_sample(dx, dy, sampling_strategy={0: 50}, random_state=0))
    assert np.bincount(yd).tolist() == [50, n_min]
    with pytest.raises(ValueError, match="less or equal"):
        random_under_sample(dx, dy, sampling_strategy={0: 10_000})


def test_smote_rows_lie_between_minority_neighbours(client, data):
    x, y, dx, dy = data
    xr, yr = dask.compute(*smote(dx, dy, k_neighbors=5, random_state=0))
    n_maj = int((y == 0).sum())
    assert np.bincount(yr).tolist() == [n_maj, n_maj]
    assert np.array_equal(xr[: len(x)], x) and np.array_equal(yr[: len(y)], y)
    minority = np.ascontiguousarray(x[y == 1])
    nn, _ = _core.kneighbors(minority, minority, 6)
    new = xr[len(x):]
    for row in new[:50]:
        # some minority row a and one of its 5 neighbours b with row = a + t (b - a), t in [0, 1)
        ok = False
        for i in range(len(minority)):
            a = minority[i]
            for j in nn[i, 1:]:
                d = minority[j] - a
                t = float(np.dot(row - a, d) / max(np.dot(d, d), 1e-30))
                if -1e-6 <= t <= 1 + 1e-6 and np.allclose(a + t * d, row, atol=1e-5):
                    ok = True
                    break
            if ok:
                break
        assert ok
    again, _ = dask.compute(*smote(dx, dy, k_neighbors=5, random_state=0))
    assert np.array_equal(xr, again)
    with pytest.raises(ValueError, match="n_neighbors"):
        smote(dx, dy, k_neighbors=1000)
    with pytest.raises(TypeError, match="dask arrays"):
        smote(x, y)
