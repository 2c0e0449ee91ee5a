#!/usr/bin/env python3
"""CSV read and write speed of rebalance beside numpy on the same file, in one command.

    /usr/bin/python3 bench/io_speed.py build/bench/rebalance_bench_io [--rows 100000] [--features 20]
        [--repeat 5] [--markdown]

Builds make_classification data (float32 values, as a float32 pipeline writes them: the
shortest text of each float32, ~20 MB at 100k x 20), then times, each the fastest of --repeat
runs in its own process:
  read:  numpy.loadtxt(delimiter=',', skiprows=1)  vs  rebalance read_csv (float64, labels, Dataset)
  write: numpy.savetxt(delimiter=',') (default '%.18e')  and savetxt(fmt='%.17g') (round-trip
         text)  vs  rebalance write_csv formatting every value (shortest round-trip text)
rebalance's own CSV writer in the input's schema (original rows copied as read) is reported too.
Ratios are numpy / rebalance. Nothing else should run meanwhile: the machine has 2 cores.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import make_classification


def fastest(repeat, f):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_binary")
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()

    x, y = make_classification(n_samples=a.rows, n_features=a.features, weights=[0.99], random_state=0)
    x = x.astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        with open(path, "w") as f:
            f.write(",".join(f"f{j}" for j in range(a.features)) + ",label\n")
            for row, label in zip(x, y):
                # str(np.float32) is the shortest text that reads back as that float32.
                f.write(",".join(str(v) for v in row))
                f.write(f",{label}\n")
        size = os.path.getsize(path)
        mb = size / 1e6

        loaded = None

        def load():
            nonlocal loaded
            loaded = np.loadtxt(path, delimiter=",", skiprows=1)

        np_read = fastest(a.repeat, load)
        out = os.path.join(tmp, "np_out.csv")
        np_write = fastest(a.repeat, lambda: np.savetxt(out, loaded, delimiter=","))
        np_write_mb = os.path.getsize(out) / 1e6
        np_write_g = fastest(a.repeat, lambda: np.savetxt(out, loaded, delimiter=",", fmt="%.17g"))
        np_write_g_mb = os.path.getsize(out) / 1e6

        p = subprocess.run([a.bench_binary, path, tmp, str(a.repeat)], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(p.stderr)
        r = json.loads(p.stdout)

    rows = [
        ("read", "numpy.loadtxt", np_read, mb, "rebalance read_csv", r["read_s"], mb),
        ("write", "numpy.savetxt '%.18e'", np_write, np_write_mb, "rebalance write_csv", r["write_s"],
         r["write_bytes"] / 1e6),
        ("write", "numpy.savetxt '%.17g'", np_write_g, np_write_g_mb, "rebalance write_csv", r["write_s"],
         r["write_bytes"] / 1e6),
        ("write", "(same file, input's schema)", float("nan"), 0.0, "rebalance write_csv, source rows",
         r["write_source_s"], mb),
    ]
    print(f"{a.rows} x {a.features} float CSV, {mb:.1f} MB; rebalance on {r['threads']} threads; "
          f"fastest of {a.repeat}")
    if a.markdown:
        print("| op | numpy | s | MB/s | rebalance | s | MB/s | ratio |")
        print("|---|---|---|---|---|---|---|---|")
    for op, ref, rs, rmb, ours, s, omb in rows:
        ratio = rs / s if rs == rs else float("nan")
        if a.markdown:
            rtext = f"{rs:.3f} | {rmb / rs:.0f}" if rs == rs else " | "
            rat = f"{ratio:.1f}x" if ratio == ratio else ""
            print(f"| {op} | {ref} | {rtext} | {ours} | {s:.4f} | {omb / s:.0f} | {rat} |")
        else:
            print(f"{op:5s} {ref:30s} {rs:8.4f} s {rmb / rs if rs == rs else 0:7.0f} MB/s   "
                  f"{ours:34s} {s:8.4f} s {omb / s:7.0f} MB/s   ratio {ratio:5.1f}x")


if __name__ == "__main__":
    main()
