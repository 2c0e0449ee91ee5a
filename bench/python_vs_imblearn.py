#!/usr/bin/env python3
"""rebalance's Python package against imbalanced-learn 0.10, both through Python, in one process
on the same arrays.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_vs_imblearn.py [--binary build/rebalance]
        [--sizes 100000x20,1000000x30] [--repeat 5] [--skip-reference-above 60] [--cv-size 100000x20]

For each size: make_classification data with a 1% minority (float64, as scikit-learn makes it),
then each sampler's fit_resample timed on both sides (the fastest of --repeat calls, one call
where the first reference call took over 5 s; imbalanced-learn gets n_jobs=-1 wherever it takes
n_jobs, rebalance uses every core). "CLI kernel s" is the fit_resample time `rebalance resample`
reports on the same arrays saved as .npy (the fastest of as many calls in one process), "layer"
what the Python package adds to it: (rebalance s - CLI kernel s) / CLI kernel s (negative: the
Python call was the faster one; for the random samplers noise dominates at milliseconds). Then the same imblearn Pipeline (sampler + LogisticRegression)
with either side's sampler under cross_val_score (5 stratified folds, balanced accuracy): time
and score. Ratios are imblearn / rebalance (above 1: rebalance is faster). Nothing else should run
meanwhile: the machine has 2 cores.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if os.path.isdir(os.path.join(ROOT, "build", "python", "rebalance")):
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))  # this checkout's build, not an installed copy

import imblearn
import imblearn.over_sampling as io
import imblearn.under_sampling as iu
from imblearn.pipeline import make_pipeline

import rebalance
import rebalance.over_sampling as ro
import rebalance.under_sampling as ru

def _nn(k):
    """imbalanced-learn 0.10 takes n_jobs for SMOTE's family through the neighbours object."""
    from sklearn.neighbors import NearestNeighbors
    return NearestNeighbors(n_neighbors=k, n_jobs=-1)


def cli_kernel(binary, spec, x_path, y_path, repeat, workdir):
    """The fit_resample time `rebalance resample --repeat` prints (its fastest call)."""
    out = os.path.join(workdir, "out.npy")
    p = subprocess.run([binary, "resample", "--method", spec, "--input", x_path, "--label", y_path, "--output", out,
                        "--repeat", str(repeat)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{spec}: {p.stderr}")
    return float(re.search(r"in ([0-9.]+) s", p.stdout).group(1))


# name -> (imblearn factory, rebalance factory)
METHODS = {
    "RandomOverSampler": (lambda: io.RandomOverSampler(random_state=0), lambda: ro.RandomOverSampler(random_state=0)),
    "RandomUnderSampler": (lambda: iu.RandomUnderSampler(random_state=0), lambda: ru.RandomUnderSampler(random_state=0)),
    "SMOTE": (lambda: io.SMOTE(random_state=0, k_neighbors=_nn(6)), lambda: ro.SMOTE(random_state=0)),
    "BorderlineSMOTE": (lambda: io.BorderlineSMOTE(random_state=0, k_neighbors=_nn(6), m_neighbors=_nn(11)),
                        lambda: ro.BorderlineSMOTE(random_state=0)),
    "ADASYN": (lambda: io.ADASYN(random_state=0, n_neighbors=_nn(6)), lambda: ro.ADASYN(random_state=0)),
    "NearMiss": (lambda: iu.NearMiss(n_jobs=-1), lambda: ru.NearMiss()),
    "TomekLinks": (lambda: iu.TomekLinks(n_jobs=-1), lambda: ru.TomekLinks()),
    "EditedNearestNeighbours": (lambda: iu.EditedNearestNeighbours(n_jobs=-1), lambda: ru.EditedNearestNeighbours()),
}


def fastest(make, x, y, repeat):
    """(seconds, sampler, (X_res, y_res)) of the fastest of `repeat` fit_resample calls."""
    best, keep = float("inf"), None
    for _ in range(repeat):
        s = make()
        t0 = time.perf_counter()
        out = s.fit_resample(x, y)
        dt = time.perf_counter() - t0
        if dt < best:
            best, keep = dt, (s, out)
        if best > 5:
            break
    return best, keep[0], keep[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/rebalance")
    ap.add_argument("--sizes", default="100000x20,1000000x30")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-reference-above", type=float, default=60.0,
                    help="skip a reference run predicted (quadratic in n from the smaller size) to exceed this")
    ap.add_argument("--cv-size", default="100000x20")
    args = ap.parse_args()
    print(f"imbalanced-learn {imblearn.__version__}, rebalance {rebalance.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores; float64 input; fastest of {args.repeat}")
    print(f"{'size':>11} {'sampler':>23} {'imblearn s':>10} {'rebalance s':>11} {'ratio':>6} {'CLI kernel s':>12} "
          f"{'layer':>7}  rows out (both sides)")
    previous = {}
    work = tempfile.TemporaryDirectory()
    for size in args.sizes.split(","):
        n, dim = (int(v) for v in size.split("x"))
        x, y = make_classification(n_samples=n, n_features=dim, n_informative=max(2, dim // 4), n_redundant=2,
                                   weights=[0.99], flip_y=0, random_state=0)
        x_path, y_path = os.path.join(work.name, "x.npy"), os.path.join(work.name, "y.npy")
        np.save(x_path, x)
        np.save(y_path, y.astype(np.int64))
        for name in args.methods.split(","):
            ref_make, our_make = METHODS[name]
            guess = previous[name] * n * n if name in previous else None
            ours_s, ours, (xo, yo) = fastest(our_make, x, y, args.repeat)
            repeat = args.repeat if ours_s < 5 else 1
            kernel = cli_kernel(args.binary, ours._spec("auto") + ",seed=0", x_path, y_path, repeat, work.name)
            layer = (ours_s - kernel) / kernel * 100
            if guess is None or guess < args.skip_reference_above:
                ref_s, _, (xr, yr) = fastest(ref_make, x, y, args.repeat)
                previous[name] = ref_s / (n * n)
                ratio, ref_txt = f"{ref_s / ours_s:6.1f}", f"{ref_s:10.4f}"
                rows = f"{len(yo)} / {len(yr)}"
            else:
                ratio, ref_txt = "(skip)", f"{'skipped':>10}"
                rows = f"{len(yo)} / (predicted {guess:.0f} s)"
            print(f"{size:>11} {name:>23} {ref_txt} {ours_s:11.4f} {ratio:>6} {kernel:12.4f} {layer:6.1f}%  {rows}",
                  flush=True)
    n, dim = (int(v) for v in args.cv_size.split("x"))
    x, y = make_classification(n_samples=n, n_features=dim, n_informative=max(2, dim // 4), n_redundant=2,
                               weights=[0.99], flip_y=0, random_state=0)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    print()
    print(f"imblearn Pipeline(sampler, LogisticRegression) under cross_val_score, {args.cv_size}, 5 folds, "
          f"balanced accuracy")
    print(f"{'sampler':>20} {'imblearn s':>10} {'rebalance s':>11} {'ratio':>6} {'imblearn score':>14} "
          f"{'rebalance score':>15}")
    for name in ("SMOTE", "RandomUnderSampler", "TomekLinks"):
        ref_make, our_make = METHODS[name]
        res = []
        for make in (ref_make, our_make):
            pipe = make_pipeline(make(), LogisticRegression(max_iter=1000))
            t0 = time.perf_counter()
            score = cross_val_score(pipe, x, y, cv=cv, scoring="balanced_accuracy").mean()
            res.append((time.perf_counter() - t0, score))
        print(f"{name:>20} {res[0][0]:10.2f} {res[1][0]:11.2f} {res[0][0] / res[1][0]:6.1f} {res[0][1]:14.4f} "
              f"{res[1][1]:15.4f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
