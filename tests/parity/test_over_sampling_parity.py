"""Parity of the over-samplers (`rebalance resample`) with imbalanced-learn 0.10.

Usage: /usr/bin/python3 test_over_sampling_parity.py PATH_TO_rebalance

scikit-learn's bundled data sets (breast cancer; wine, iris and a digits subset made imbalanced)
and make_classification data go through the CLI as float32 .npy files, and two of them as float64
(which stays float64: the output's dtype is the input's); the output and its provenance
((origin, parent0, parent1) per row) are compared with imbalanced-learn on the same data:
  - per-class counts, for every sampler that imbalanced-learn has;
  - ADASYN's per-sample generation counts (ours from the provenance, imbalanced-learn's from its
    own formula on its own neighbours);
  - Borderline-SMOTE's danger set (ours: the seed rows of many new rows; imbalanced-learn's from
    `_in_danger_noise`);
  - SMOTE (and the other interpolating samplers): every new row lies on the segment between its
    seed row and a true k-nearest same-class neighbour of it;
  - the errors imbalanced-learn raises are raised too.
Where imbalanced-learn's neighbour order is arbitrary (exact distance ties, e.g. integer pixels),
a difference is accepted only if the rows involved have a tie at the k-th neighbour.
"""
import os
import subprocess
import sys
import tempfile
import warnings
from collections import Counter

import numpy as np

warnings.filterwarnings("ignore")

from imblearn.over_sampling import (  # noqa: E402
    ADASYN,
    SMOTE,
    SMOTEN,
    SMOTENC,
    BorderlineSMOTE,
    KMeansSMOTE,
    RandomOverSampler,
)
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.neighbors import NearestNeighbors  # noqa: E402

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/rebalance"
RESULTS = []


def record(name, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def imbalance(x, y, counts, seed=0):
    """Keep counts[c] rows of class c (the first ones in a seeded shuffle), classes renumbered."""
    rng = np.random.default_rng(seed)
    keep = []
    for c, n in counts.items():
        idx = np.flatnonzero(y == c)
        keep.extend(sorted(rng.permutation(idx)[:n]))
    keep = np.array(sorted(keep))
    y2 = y[keep]
    remap = {c: i for i, c in enumerate(sorted(counts))}
    return x[keep], np.array([remap[v] for v in y2], dtype=np.int64)


def datasets():
    out = {}
    bc = load_breast_cancer()
    out["breast_cancer"] = (bc.data, bc.target)
    w = load_wine()
    out["wine_imb"] = imbalance(w.data, w.target, {0: 59, 1: 30, 2: 12})
    ir = load_iris()
    out["iris_imb"] = imbalance(ir.data, ir.target, {0: 50, 1: 20, 2: 9})
    dg = load_digits()
    out["digits_imb"] = imbalance(dg.data, dg.target, {0: 150, 1: 45, 3: 20})
    x, y = make_classification(n_samples=2000, n_features=10, n_informative=4, weights=[0.9, 0.1],
                               class_sep=0.8, random_state=0)
    out["mc_binary"] = (x, y)
    x, y = make_classification(n_samples=1500, n_features=8, n_informative=5, n_classes=3,
                               weights=[0.7, 0.2, 0.1], class_sep=1.0, random_state=1)
    out["mc_3class"] = (x, y)
    # Everything as float32, as the CLI stores it; imbalanced-learn gets the same values.
    return {k: (np.ascontiguousarray(x, dtype=np.float32), y.astype(np.int64)) for k, (x, y) in out.items()}


def datasets64():
    """float64 inputs, kept float64 end to end (imbalanced-learn returns the input's dtype): the
    breast cancer values as they are, and iris with a jitter of 1e-9 float32 cannot hold, which
    breaks iris's many exact distance ties in float64 only (a float32 search would see ties)."""
    bc = load_breast_cancer()
    ir = load_iris()
    x, y = imbalance(ir.data, ir.target, {0: 50, 1: 20, 2: 9})
    jitter = np.random.default_rng(7).uniform(-1e-9, 1e-9, size=x.shape)
    out = {"breast_cancer_f64": (bc.data, bc.target), "iris_imb_jitter_f64": (x + jitter, y)}
    return {k: (np.ascontiguousarray(x, dtype=np.float64), y.astype(np.int64)) for k, (x, y) in out.items()}


def binned(x, bins, seed=0):
    """Quantile codes 0..bins-1 per column (categorical data)."""
    codes = np.empty_like(x)
    for j in range(x.shape[1]):
        edges = np.quantile(x[:, j], np.linspace(0, 1, bins + 1)[1:-1])
        codes[:, j] = np.searchsorted(edges, x[:, j], side="right")
    return codes.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Running both sides


def run_ours(x, y, spec, tmp, seed=0):
    xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    op, pp = os.path.join(tmp, "out.npy"), os.path.join(tmp, "prov.npy")
    np.save(xp, x)
    np.save(yp, y)
    for p in (op, pp, op.replace(".npy", "_labels.npy")):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([BIN, "resample", "--method", spec, "--input", xp, "--label", yp, "--output", op,
                        "--provenance", pp, "--seed", str(seed)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, None, None, (r.stderr.strip() or r.stdout.strip())
    return np.load(op), np.load(op.replace(".npy", "_labels.npy")), np.load(pp), None


def run_imblearn(sampler, x, y):
    try:
        xr, yr = sampler.fit_resample(x, y)
        return xr, yr, None
    except Exception as e:  # noqa: BLE001 - the message is what is compared
        return None, None, f"{type(e).__name__}: {e}"


def counts(y, n_classes):
    return [int(v) for v in np.bincount(y, minlength=n_classes)]


# ---------------------------------------------------------------------------------------------
# Reference computations


def kneighbors_excl_self(base, query, k):
    """sklearn's kneighbors(query)[:, 1:] with k+1 neighbours, and the distances."""
    nn = NearestNeighbors(n_neighbors=k + 1).fit(base)
    d, i = nn.kneighbors(query)
    return d[:, 1:], i[:, 1:]


def tie_at_boundary(base, query_row, k):
    """True when the neighbour list "k nearest after dropping the nearest" is ambiguous for
    query_row: the k-th and (k+1)-th other rows are equally far, or the nearest two are (a
    duplicate row may be dropped instead of the row itself)."""
    d = np.sort(np.sqrt(((base.astype(np.float64) - query_row.astype(np.float64)) ** 2).sum(1)))
    return (k + 1 < len(d) and d[k] == d[k + 1]) or (len(d) > 1 and d[0] == d[1])


def stable_neighbors(base, query, k):
    """Our documented rule: k nearest after the nearest, ties to the lower index (float64)."""
    out = np.empty((len(query), k), dtype=np.int64)
    b = base.astype(np.float64)
    for i, q in enumerate(query.astype(np.float64)):
        d = ((b - q) ** 2).sum(1)
        out[i] = np.argsort(d, kind="stable")[1:k + 1]
    return out


def imblearn_danger(x, y, cls, m):
    bs = BorderlineSMOTE(m_neighbors=m)
    bs._validate_estimator()
    bs.nn_m_.fit(x)
    return bs._in_danger_noise(bs.nn_m_, x[y == cls], cls, y, kind="danger")


def adasyn_counts(x, y, cls, k, n_samples, nns=None):
    """imbalanced-learn 0.10's ADASYN counts, line by line from its _fit_resample (its own
    neighbours unless `nns` is given)."""
    if nns is None:
        nn = NearestNeighbors(n_neighbors=k + 1).fit(x)
        nns = nn.kneighbors(x[y == cls], return_distance=False)[:, 1:]
    ratio_nn = np.sum(y[nns] != cls, axis=1) / k
    ratio_nn /= np.sum(ratio_nn)
    return np.rint(ratio_nn * n_samples).astype(int)


def on_segment(row, a, b, tol=1e-4):
    """Position t with row = a + t (b - a), t in [0, 1], within tolerance; None if off."""
    a, b, row = a.astype(np.float64), b.astype(np.float64), row.astype(np.float64)
    diff = b - a
    j = int(np.argmax(np.abs(diff)))
    if diff[j] == 0:
        return 0.0 if np.allclose(row, a, atol=tol) else None
    t = (row[j] - a[j]) / diff[j]
    scale = max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))
    if t < -1e-6 or t > 1 + 1e-6 or not np.allclose(row, a + t * diff, atol=tol * scale, rtol=0):
        return None
    return t


def check_segments(name, x, y, xo, prov, k, max_t=1.0, other_class_ok=False):
    """Every new row lies between its parents, and parent1 is a k-NN (same class) of parent0
    (k None: same class only, e.g. KMeansSMOTE's neighbours are taken inside a cluster)."""
    n = len(y)
    new = np.flatnonzero(prov[:, 0] < 0)
    bad, not_nn = 0, 0
    # float64 rows are made in float64 from their float64 parents: on the segment to rounding.
    wide = x.dtype == np.float64 and xo.dtype == np.float64
    tol, slack = (1e-12, 1e-12) if wide else (1e-4, 1e-6)
    cache = {}
    for r in new:
        a, b = int(prov[r, 1]), int(prov[r, 2])
        t = on_segment(xo[r], x[a], x[b], tol)
        if t is None or t > max_t + 1e-6:
            bad += 1
            continue
        c = int(y[a])
        if y[b] != c:
            if not other_class_ok:
                not_nn += 1
            continue
        if k is None:
            continue
        if c not in cache:
            rows = np.flatnonzero(y == c)
            d, _ = kneighbors_excl_self(x[rows], x[rows], k)
            cache[c] = (rows, d[:, -1])
        rows, kth = cache[c]
        pa = np.searchsorted(rows, a)
        dist = np.sqrt(((x[a].astype(np.float64) - x[b].astype(np.float64)) ** 2).sum())
        if dist > kth[pa] * (1 + slack) + slack * 1e-3:
            not_nn += 1
    what = "k-NN pairs" if k is not None else "same-class pairs"
    record(f"{name}: {len(new)} new rows on segments of {what}", bad == 0 and not_nn == 0 and len(new) > 0,
           f"{bad} off-segment, {not_nn} not among the {k} nearest" if bad or not_nn else "")
    return n


# ---------------------------------------------------------------------------------------------
# Cases


def count_case(tmp, dname, x, y, spec, sampler, *, slack=None):
    """Our per-class counts equal imbalanced-learn's (or within `slack(ours, theirs)`)."""
    nc = int(y.max()) + 1
    xo, yo, prov, err = run_ours(x, y, spec, tmp)
    xi, yi, ierr = run_imblearn(sampler, x, y)
    name = f"{dname} {spec} counts"
    if err or ierr:
        record(name, bool(err) and bool(ierr), f"ours: {err!r}; imblearn: {ierr!r}")
        return None
    ours, theirs = counts(yo, nc), counts(yi, nc)
    ok = ours == theirs if slack is None else slack(ours, theirs)
    record(name, ok, f"ours {ours} imblearn {theirs}" if not ok else f"{ours}")
    # The input rows come first, unchanged and in order; new rows are grouped by class ascending.
    # The output has the input's dtype, as imbalanced-learn's (whose smoothed RandomOverSampler
    # alone returns float64 for float32 input; ours stays float32).
    n = len(y)
    same = np.array_equal(xo[:n], x) and np.array_equal(yo[:n], y) and np.array_equal(prov[:n, 0], np.arange(n))
    grouped = np.all(np.diff(yo[n:]) >= 0) and np.all(prov[n:, 0] == -1)
    dtype_ok = xo.dtype == x.dtype and (x.dtype != np.float64 or xi.dtype == np.float64)
    record(f"{dname} {spec} output layout", same and grouped and dtype_ok,
           "" if dtype_ok else f"ours {xo.dtype}, imblearn {xi.dtype}, input {x.dtype}")
    return xo, yo, prov


def main():
    data = datasets()
    with tempfile.TemporaryDirectory() as tmp:
        for dname, (x, y) in list(data.items()) + list(datasets64().items()):
            nc = int(y.max()) + 1
            n = len(y)
            cls_counts = np.bincount(y)
            n_max = int(cls_counts.max())

            # RandomOverSampler, plain and smoothed.
            out = count_case(tmp, dname, x, y, "random_over", RandomOverSampler(random_state=0))
            if out:
                xo, yo, prov = out
                src = prov[n:, 1]
                record(f"{dname} random_over copies", np.array_equal(xo[n:], x[src]) and np.array_equal(yo[n:], y[src]))
            count_case(tmp, dname, x, y, "random_over:shrinkage=0.5", RandomOverSampler(shrinkage=0.5, random_state=0))

            # SMOTE: counts and segments.
            out = count_case(tmp, dname, x, y, "smote", SMOTE(random_state=0))
            if out:
                check_segments(f"{dname} smote", x, y, out[0], out[2], 5)
            out = count_case(tmp, dname, x, y, "smote:k_neighbors=3", SMOTE(k_neighbors=3, random_state=0))

            # Borderline-SMOTE: counts, segments and the danger set.
            for kind in ("borderline-1", "borderline-2"):
                spec = f"borderline_smote:kind={kind}"
                # imbalanced-learn's borderline-2 makes int(f (n + 1)) + int((1 - f) n) rows, one
                # short of n for most draws of f; ours makes exactly n.
                slack = None if kind == "borderline-1" else (
                    lambda o, t: all(0 <= a - b <= 1 for a, b in zip(o, t)))
                out = count_case(tmp, dname, x, y, spec, BorderlineSMOTE(kind=kind, random_state=0), slack=slack)
                if out:
                    check_segments(f"{dname} {spec}", x, y, out[0], out[2], 5, other_class_ok=kind == "borderline-2")
                    if kind == "borderline-2":
                        other = [r for r in np.flatnonzero(out[2][:, 0] < 0) if y[out[2][r, 2]] != y[out[2][r, 1]]]
                        ts = [on_segment(out[0][r], x[out[2][r, 1]], x[out[2][r, 2]]) for r in other]
                        record(f"{dname} {spec}: steps towards other classes < 0.5",
                               len(other) > 0 and all(t is not None and t < 0.5 + 1e-6 for t in ts),
                               f"{len(other)} rows")
            # Danger sets: many new rows per class so every danger row seeds some of them.
            m = 10
            minority_classes = [c for c in range(nc) if cls_counts[c] < n_max]
            big = "{" + ", ".join(f"{c}: {int(cls_counts[c]) + 4000}" for c in minority_classes) + "}"
            xo, yo, prov, err = run_ours(x, y, f"borderline_smote:sampling_strategy={big}", tmp)
            for c in minority_classes:
                theirs = imblearn_danger(x, y, c, m)
                rows = np.flatnonzero(y == c)
                if err:
                    record(f"{dname} danger set class {c}", not theirs.any(), err)
                    continue
                seeds = set(int(v) for v in prov[prov[:, 0] < 0][:, 1] if y[v] == c)
                ours = np.array([r in seeds for r in rows])
                diff = np.flatnonzero(ours != theirs)
                ties = [i for i in diff if tie_at_boundary(x, x[rows[i]], m)]
                record(f"{dname} danger set class {c} ({int(theirs.sum())} of {len(rows)} rows)",
                       len(diff) == len(ties), f"{len(diff)} differ, {len(ties)} at distance ties" if len(diff) else "")

            # ADASYN: counts, per-sample generation counts, segments.
            out = count_case(tmp, dname, x, y, "adasyn", ADASYN(random_state=0))
            if out:
                xo, yo, prov = out
                check_segments(f"{dname} adasyn", x, y, xo, prov, 5)
                for c in minority_classes:
                    rows = np.flatnonzero(y == c)
                    new = prov[n:][yo[n:] == c]
                    ours = np.array([np.sum(new[:, 1] == r) for r in rows])
                    asked = n_max - int(cls_counts[c])
                    theirs = adasyn_counts(x, y, c, 5, asked)
                    if np.array_equal(ours, theirs):
                        record(f"{dname} adasyn per-sample counts class {c} ({int(ours.sum())} rows)", True)
                        continue
                    # A tie in the neighbour lists changes a ratio and so every count: accept only
                    # if ours follow the same formula on our (lower index first) neighbours and
                    # some row of the class has such a tie.
                    mine = adasyn_counts(x, y, c, 5, asked, stable_neighbors(x, x[rows], 5))
                    ties = sum(tie_at_boundary(x, x[r], 5) for r in rows)
                    record(f"{dname} adasyn per-sample counts class {c}", np.array_equal(ours, mine) and ties > 0,
                           f"{int(np.sum(ours != theirs))} rows differ from imblearn; {ties} rows with distance ties")

            # KMeansSMOTE: threshold 0 so clusters qualify on both sides (the clusterings
            # differ); imbalanced-learn rounds each cluster's share up, so it may make up to
            # (clusters - 1) more rows per class than asked; ours makes exactly the count asked.
            def kms_slack(o, t):
                return all(b - 7 <= a <= b for a, b in zip(o, t)) and o == [n_max] * nc
            out = count_case(tmp, dname, x, y, "kmeans_smote:cluster_balance_threshold=0.0,k_neighbors=2",
                             KMeansSMOTE(cluster_balance_threshold=0.0, random_state=0), slack=kms_slack)
            if out:
                check_segments(f"{dname} kmeans_smote", x, y, out[0], out[2], None)

            # Cluster-based over-sampling: no imbalanced-learn counterpart; every class ends equal.
            xo, yo, prov, err = run_ours(x, y, "cluster_over:n_clusters=3", tmp)
            ok = err is None and len(set(counts(yo, nc))) == 1 and counts(yo, nc)[0] >= n_max
            if ok:
                src = prov[n:, 1]
                ok = np.array_equal(xo[n:], x[src]) and np.array_equal(yo[n:], y[src])
            record(f"{dname} cluster_over: classes equal, rows are copies", ok, err or str(counts(yo, nc)))

            # SMOTENC: two binned columns as categorical.
            xc = x.copy()
            xc[:, :2] = binned(x[:, :2], 4)
            out = count_case(tmp, dname, xc, y, "smotenc:categorical_features=[0,1]",
                             SMOTENC(categorical_features=[0, 1], random_state=0))
            if out:
                xo, yo, prov = out
                cats_ok = all(set(np.unique(xo[n:, j])) <= set(np.unique(xc[:, j])) for j in (0, 1))
                record(f"{dname} smotenc categorical values are categories", cats_ok)

            # SMOTEN: every column binned.
            xn = binned(x[:, : min(x.shape[1], 8)], 3)
            out = count_case(tmp, dname, xn, y, "smoten", SMOTEN(random_state=0))
            if out:
                xo = out[0]
                record(f"{dname} smoten values are categories",
                       all(set(np.unique(xo[n:, j])) <= set(np.unique(xn[:, j])) for j in range(xn.shape[1])))

        # Errors imbalanced-learn raises, raised too.
        x, y = data["wine_imb"]
        few = np.flatnonzero(y == 2)[:4]
        keep = np.concatenate([np.flatnonzero(y != 2), few])
        xs, ys = x[keep], y[keep]
        for spec, sampler in (("smote", SMOTE()), ("adasyn", ADASYN()),
                              ("borderline_smote", BorderlineSMOTE())):
            _, _, _, err = run_ours(xs, ys, spec, tmp)
            _, _, ierr = run_imblearn(sampler, xs, ys)
            record(f"error {spec} with 4 rows in a class", err is not None and ierr is not None
                   and "n_neighbors" in ierr and "class \"2\"" in err and "4 rows" in err, err or "")
        sep = np.concatenate([np.zeros((30, 2)) + np.arange(30)[:, None], 1000 + np.zeros((8, 2)) + np.arange(8)[:, None]])
        ys = np.array([0] * 30 + [1] * 8, dtype=np.int64)
        _, _, _, err = run_ours(sep.astype(np.float32), ys, "adasyn", tmp)
        _, _, ierr = run_imblearn(ADASYN(), sep.astype(np.float32), ys)
        record("error adasyn without majority neighbours", err is not None and ierr is not None
               and "Not any neig" in err and "Not any neig" in ierr, err or "")
        xc = binned(data["iris_imb"][0], 3)
        _, _, _, err = run_ours(xc, data["iris_imb"][1], "smotenc:categorical_features=[0,1,2,3]", tmp)
        _, _, ierr = run_imblearn(SMOTENC(categorical_features=[0, 1, 2, 3]), xc, data["iris_imb"][1])
        record("error smotenc with only categorical columns", err is not None and ierr is not None
               and "SMOTEN" in err and "only with categorical" in ierr, err or "")

    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
