#!/usr/bin/env python3
"""TomekLinks at 1,000,000 x 30, one imbalanced-learn call against one rebalance call, same data.

    /usr/bin/python3 bench/tomek_1m.py build/rebalance     # ~30 minutes: the reference is slow

The data are compare_imblearn.py's (make_classification, 1% minority, float32). Prints both
times, the ratio, and whether both kept exactly the same rows.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from imblearn.under_sampling import TomekLinks
from sklearn.datasets import make_classification


def main():
    binary = sys.argv[1]
    x, y = make_classification(n_samples=1_000_000, n_features=30, n_informative=7, n_redundant=2, weights=[0.99],
                               flip_y=0, random_state=0)
    x, y = x.astype(np.float32), y.astype(np.int64)
    with tempfile.TemporaryDirectory() as d:
        xp, yp, out = (os.path.join(d, f) for f in ("x.npy", "y.npy", "out.npy"))
        np.save(xp, x)
        np.save(yp, y)
        t0 = time.perf_counter()
        xr, yr = TomekLinks().fit_resample(x, y)
        ref = time.perf_counter() - t0
        p = subprocess.run([binary, "resample", "--method", "tomek_links", "--input", xp, "--label", yp, "--output", out],
                           capture_output=True, text=True, check=True)
        rb = float(re.search(r"in ([0-9.]+) s", p.stdout).group(1))
        same = np.array_equal(np.load(os.path.join(d, "out_labels.npy")), yr) and np.array_equal(np.load(out), xr)
    print(f"TomekLinks 1000000x30: imblearn {ref:.1f} s, rebalance {rb:.2f} s, ratio {ref / rb:.0f}x, "
          f"same rows: {same}, kept {np.bincount(yr).tolist()}")


if __name__ == "__main__":
    sys.exit(main())
