#!/usr/bin/env python3
"""Side-by-side speed of rebalance and imbalanced-learn 0.10 on the same data, in one command.

    /usr/bin/python3 bench/compare_imblearn.py build/rebalance [--sizes 100000x20,1000000x30]
        [--methods smote,borderline_smote,...] [--skip-reference-above SECONDS]

For each size it builds make_classification data with a 1% minority (float32), times
imbalanced-learn's fit_resample in this process, then runs `rebalance resample` on the same .npy
files and reads the fit_resample time it prints (each side the fastest of --repeat calls in one
process, as timeit does; a single call where the reference needs over 5 s); the ratio is reference / rebalance. Wall time of
the whole rebalance process (load, libtorch start-up, write) and its peak memory above an idle run
are printed too. Nothing else should run meanwhile: the machine has 2 cores.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import make_classification

import imblearn
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import EditedNearestNeighbours, RandomUnderSampler, TomekLinks

REFERENCE = {
    "random_over": lambda: RandomOverSampler(random_state=0),
    "random_under": lambda: RandomUnderSampler(random_state=0),
    "smote": lambda: SMOTE(random_state=0),
    "borderline_smote": lambda: BorderlineSMOTE(random_state=0),
    "adasyn": lambda: ADASYN(random_state=0),
    "tomek_links": lambda: TomekLinks(),
    "enn": lambda: EditedNearestNeighbours(),
}


def run_rebalance(binary, method, x_path, y_path, out_dir, repeat=1):
    out = os.path.join(out_dir, "out.npy")
    cmd = ["/usr/bin/time", "-f", "MAXRSS %M", binary, "resample", "--method", method, "--input", x_path,
           "--label", y_path, "--output", out, "--repeat", str(repeat)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{method}: {p.stderr}")
    secs = float(re.search(r"in ([0-9.]+) s", p.stdout).group(1))
    rss_kb = int(re.search(r"MAXRSS (\d+)", p.stderr).group(1))
    counts = re.findall(r"\{[^}]*\}", p.stdout)[-1]
    return secs, wall, rss_kb, counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--sizes", default="100000x20,1000000x30")
    ap.add_argument("--methods", default=",".join(REFERENCE))
    ap.add_argument("--repeat", type=int, default=7,
                    help="fastest of this many fit_resample calls on each side (one call where the first "
                         "reference call took over 5 s)")
    ap.add_argument("--skip-reference-above", type=float, default=None,
                    help="skip a reference run predicted (from the smaller size) to take longer than this")
    args = ap.parse_args()
    print(f"imbalanced-learn {imblearn.__version__}, numpy {np.__version__}, {os.cpu_count()} cores")
    print(f"{'size':>12} {'method':>18} {'imblearn s':>11} {'rebalance s':>12} {'ratio':>8} "
          f"{'process s':>10} {'peak MB':>8} {'in+out MB':>9}  counts after")
    previous = {}
    with tempfile.TemporaryDirectory() as d:
        idle_x, idle_y = os.path.join(d, "ix.npy"), os.path.join(d, "iy.npy")
        np.save(idle_x, np.zeros((4, 2), np.float32))
        np.save(idle_y, np.array([0, 0, 1, 1], np.int64))
        idle_kb = run_rebalance(args.binary, "random_under", idle_x, idle_y, d)[2]
        for size in args.sizes.split(","):
            n, dim = (int(v) for v in size.split("x"))
            x, y = make_classification(n_samples=n, n_features=dim, n_informative=max(2, dim // 4),
                                       n_redundant=2, weights=[0.99], flip_y=0, random_state=0)
            x = x.astype(np.float32)
            y = y.astype(np.int64)
            x_path, y_path = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
            np.save(x_path, x)
            np.save(y_path, y)
            for method in args.methods.split(","):
                ref_s = None
                guess = previous.get(method) * n * n if method in previous else None  # quadratic in n
                if args.skip_reference_above is None or guess is None or guess < args.skip_reference_above:
                    ref_s = float("inf")
                    for r in range(args.repeat):
                        sampler = REFERENCE[method]()
                        t0 = time.perf_counter()
                        xr, yr = sampler.fit_resample(x, y)
                        ref_s = min(ref_s, time.perf_counter() - t0)
                        if ref_s > 5:
                            break
                    previous[method] = ref_s / (n * n)
                    out_mb = (xr.nbytes + yr.nbytes) / 2**20
                else:
                    out_mb = float("nan")
                repeat = args.repeat if (ref_s or 0) <= 5 else 1
                secs, wall, rss_kb, counts = run_rebalance(args.binary, method, x_path, y_path, d, repeat)
                in_mb = (x.nbytes + y.nbytes) / 2**20
                ratio = f"{ref_s / secs:8.1f}" if ref_s else "  (skip)"
                ref_txt = f"{ref_s:11.4f}" if ref_s else f"{'skipped':>11}"
                print(f"{size:>12} {method:>18} {ref_txt} {secs:12.4f} {ratio} {wall:10.2f} "
                      f"{(rss_kb - idle_kb) / 1024:8.1f} {in_mb + out_mb:9.1f}  {counts}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
