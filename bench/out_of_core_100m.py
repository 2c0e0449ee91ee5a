#!/usr/bin/env python3
"""100,000,000 rows x 20 float32 (8 GB, a third of this machine's memory) through
RandomUnderSampler, SMOTE and TomekLinks out of core, with each run's peak memory.

    /usr/bin/python3 bench/out_of_core_100m.py build/rebalance [--rows 100000000] [--minority 0.0001]
                                              [--data results/ooc_data] [--skip-tomek]

The rows come from Fashion-MNIST (all 70,000 images): each image's first 20 principal components
(fitted on the 60,000 training images), a row being a randomly drawn image's components plus
Gaussian jitter of 5% of each component's spread, so no two rows are equal. The minority (label 1)
are the Bag images, drawn with probability --minority; the majority (label 0) the nine other
classes. Written once under --data (X.npy 8 GB, y.npy uint8) and kept for reruns.

Each run is `rebalance resample --out-of-core` (default 64 MiB blocks), measured from outside: wall
time and the peak resident memory of the process (getrusage of a fresh parent's child, which counts
file pages mapped while reading). For contrast, RandomUnderSampler in memory on the same files, and
its output checked equal to the out-of-core one. Outputs are deleted after each run (SMOTE writes
16 GB).
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import load_idx  # noqa: E402

MEASURE = ("import resource, subprocess, sys, time\n"
           "t = time.perf_counter()\n"
           "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
           "wall = time.perf_counter() - t\n"
           "sys.stderr.write(p.stderr)\n"
           "sys.stdout.write(p.stdout)\n"
           "print('MEASURED', p.returncode, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def make_data(folder, rows, minority):
    x_path, y_path = os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy")
    if os.path.exists(x_path) and os.path.exists(y_path) and np.load(y_path, mmap_mode="r").shape[0] == rows:
        return x_path, y_path
    os.makedirs(folder, exist_ok=True)
    train = load_idx("train-images-idx3-ubyte.gz").reshape(60000, -1).astype(np.float32) / 255
    test = load_idx("t10k-images-idx3-ubyte.gz").reshape(10000, -1).astype(np.float32) / 255
    labels = np.concatenate([load_idx("train-labels-idx1-ubyte.gz"), load_idx("t10k-labels-idx1-ubyte.gz")])
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    feats = (np.concatenate([train, test]) - mean) @ vt[:20].T
    jitter = (0.05 * feats.std(0)).astype(np.float32)
    bags, others = feats[labels == 8], feats[labels != 8]
    rng = np.random.default_rng(0)
    tmp_x, tmp_y = x_path + ".partial", y_path + ".partial.npy"
    xs = np.lib.format.open_memmap(tmp_x, mode="w+", dtype=np.float32, shape=(rows, 20))
    ys = np.zeros(rows, dtype=np.uint8)
    step = 2_000_000
    for s in range(0, rows, step):
        n = min(step, rows - s)
        is_min = rng.random(n) < minority
        rows_ = np.where(is_min[:, None], bags[rng.integers(0, len(bags), n)], others[rng.integers(0, len(others), n)])
        xs[s:s + n] = rows_ + rng.standard_normal((n, 20), dtype=np.float32) * jitter
        ys[s:s + n] = is_min
    xs.flush()
    del xs
    np.save(tmp_y, ys)
    os.replace(tmp_x, x_path)
    os.replace(tmp_y, y_path)
    return x_path, y_path


def measured(args):
    p = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("MEASURED")][-1].split()
    if line[1] != "0":
        sys.exit(f"{' '.join(args)}: exit {line[1]}\n{p.stdout}\n{p.stderr}")
    return float(line[2]), int(line[3]) / 1024, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--minority", type=float, default=0.0001)
    ap.add_argument("--data", default="results/ooc_data")
    ap.add_argument("--skip-tomek", action="store_true")
    a = ap.parse_args()
    t = time.perf_counter()
    x, y = make_data(a.data, a.rows, a.minority)
    made = time.perf_counter() - t
    counts = np.bincount(np.load(y, mmap_mode="r"), minlength=2)
    gb = os.path.getsize(x) / 1e9
    out = os.path.join(a.data, "out.npy")
    outs = [out, os.path.join(a.data, "out_labels.npy")]
    mem = os.path.join(a.data, "mem.npy")
    print(f"input: {a.rows:,} rows x 20 float32 = {gb:.1f} GB (+ {os.path.getsize(y) / 1e6:.0f} MB labels); "
          f"majority {counts[0]:,}, minority {counts[1]:,}; data made in {made:.0f} s (0 if reused)")
    print()
    print("| sampler | mode | rows out | wall s | peak memory MiB | peak / input size |")
    print("|---|---|---:|---:|---:|---:|")
    specs = ["random_under", "smote"] + ([] if a.skip_tomek else ["tomek_links"])
    for spec in specs:
        wall, peak, stdout = measured([a.binary, "resample", "-m", spec, "-i", x, "--label", y, "-o", out,
                                       "--out-of-core"])
        rows_out = np.load(out, mmap_mode="r").shape[0]
        print(f"| {spec} | out of core | {rows_out:,} | {wall:.1f} | {peak:.0f} | {peak * 2**20 / 1e9 / gb:.3f} |",
              flush=True)
        if spec == "random_under":
            wall_m, peak_m, _ = measured([a.binary, "resample", "-m", spec, "-i", x, "--label", y, "-o", mem])
            same = np.array_equal(np.load(mem), np.load(out)) and np.array_equal(
                np.load(os.path.join(a.data, "mem_labels.npy")), np.load(outs[1]))
            print(f"| {spec} | in memory (same output: {'yes' if same else 'NO'}) | {rows_out:,} | {wall_m:.1f} | "
                  f"{peak_m:.0f} | {peak_m * 2**20 / 1e9 / gb:.3f} |", flush=True)
            for f in (mem, os.path.join(a.data, "mem_labels.npy")):
                os.remove(f)
        for f in outs:
            os.remove(f)
    print()
    print("peak memory: the process's peak resident set (getrusage), including libtorch's libraries (~170 MiB "
          "for any command).")


if __name__ == "__main__":
    main()
