#!/usr/bin/env python3
"""What each long-tail method costs against plain ERM, in one command: `rebalance train` on
long-tailed Fashion-MNIST (rho 100: 6000 T-shirts down to 60 ankle boots, a tenth validating),
LeNet, batch 128, the same seed, once per method.

    /usr/bin/python3 bench/longtail_method_speed.py build/rebalance [--epochs 3] [--long-tail 100]

Per method: the median epoch time the trainer reports (training pass; its ratio to ERM's is the
per-epoch cost of a loss or a mixing rule), and the one-off time outside the epochs (the whole
process's wall time less its epochs: loading, a sampler's generator, a decoupled second stage,
scoring the test set), with its excess over ERM's. Nothing else should run meanwhile.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

METHODS = [
    ("ERM", []),
    ("CB (beta=0.9999)", ["--loss", "cb:beta=0.9999"]),
    ("LDAM-DRW", ["--loss", "ldam:drw_epoch=1"]),
    ("balanced softmax", ["--loss", "balanced_softmax"]),
    ("post-hoc LA (tau auto)", ["--decision", "prior:tau=auto"]),
    ("mixup", ["--mix", "mixup"]),
    ("Remix", ["--mix", "remix"]),
    ("CutMix", ["--mix", "cutmix"]),
    ("CMO", ["--mix", "cmo"]),
    ("cRT (10 epochs)", ["--decouple", "crt"]),
    ("LWS (10 epochs)", ["--decouple", "lws"]),
    ("tau-norm (tau auto)", ["--decouple", "tau_norm:tau=auto"]),
    ("weight balancing (10 epochs)", ["--decouple", "wb", "--max-norm", "1"]),
    ("DeepSMOTE (10 AE epochs)", ["--sampler", "deepsmote:epochs=10,min_steps=0"]),
    ("M2m (LeNet g, 10 epochs)", ["--sampler", "m2m"]),
]


def run(binary, extra, args, workdir, i):
    summary = os.path.join(workdir, f"s{i}.json")
    cmd = [binary, "train", "--data", "fashion-mnist", "--test", "fashion-mnist:split=test", "--long-tail",
           str(args.long_tail), "--model", "lenet", "--epochs", str(args.epochs), "--batch-size", "128",
           "--monitor", "none", "--seed", "0", "--summary", summary] + extra
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    with open(summary) as f:
        history = json.load(f)["history"]
    epochs = [h["seconds"] for h in history]
    return statistics.median(epochs), wall - sum(epochs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--long-tail", type=float, default=100)
    ap.add_argument("--only", default="", help="comma-separated method names (default: all)")
    args = ap.parse_args()
    wanted = [m for m in METHODS if not args.only or m[0] in args.only.split(",") or m[0] == "ERM"]
    print(f"long-tailed Fashion-MNIST (rho {args.long_tail:g}), LeNet, batch 128, {args.epochs} epochs, "
          f"{os.cpu_count()} cores; {args.binary}")
    print(f"| method | s/epoch | x ERM | one-off s | one-off - ERM's s |")
    print(f"| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as d:
        base = None
        for i, (name, extra) in enumerate(wanted):
            per_epoch, once = run(args.binary, extra, args, d, i)
            if base is None:
                base = (per_epoch, once)
            print(f"| {name} | {per_epoch:.2f} | {per_epoch / base[0]:.2f} | {once:.1f} | {once - base[1]:+.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
