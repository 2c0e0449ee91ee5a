#!/usr/bin/env python3
"""What each long-tail method costs against plain ERM, in one command: `rebalance train` on
long-tailed Fashion-MNIST (rho 100: 6000 T-shirts down to 60 ankle boots, a tenth validating),
LeNet, batch 128, the same seed, once per method.

    /usr/bin/python3 bench/longtail_method_speed.py build/rebalance [--epochs 6] [--long-tail 100]

Per method: the training rows an epoch visits (a sampler grows them), the fastest epoch time the
trainer reports (epochs of about a second vary by a third between runs here; the fastest varies least), its ratio to ERM's per row (the per-epoch cost of a loss or a mixing rule), and
the one-off time outside the epochs (the process's wall time less its epochs: loading, a
sampler's generator, a decoupled second stage, scoring the test set), with its excess over ERM's.
ERM runs again right before every method, and each ratio is against that run, so a machine that
speeds up or slows down during the command does not tilt the comparison. Nothing else should run
meanwhile.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

METHODS = [
    ("ERM", []),
    ("CB (beta=0.9999)", ["--loss", "cb:beta=0.9999"]),
    ("LDAM-DRW", ["--loss", "ldam:drw_epoch=1"]),
    ("balanced softmax", ["--loss", "balanced_softmax"]),
    ("CB-DRW", ["--loss", "cb:beta=0.9999,drw_epoch=1"]),
    ("focal-DRW", ["--loss", "focal:gamma=2,drw_epoch=1"]),
    ("logit-adjusted loss, DRW", ["--loss", "la:tau=1,drw_epoch=1"]),
    ("post-hoc LA (tau auto)", ["--decision", "prior:tau=auto"]),
    ("mixup", ["--mix", "mixup"]),
    ("Remix", ["--mix", "remix"]),
    ("CutMix", ["--mix", "cutmix"]),
    ("CMO", ["--mix", "cmo"]),
    ("cRT (10 epochs)", ["--decouple", "crt"]),
    ("LWS (10 epochs)", ["--decouple", "lws"]),
    ("tau-norm (tau auto)", ["--decouple", "tau_norm:tau=auto"]),
    ("weight balancing (10 epochs)", ["--weight-decay", "5e-3", "--decouple", "wb"]),
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
        s = json.load(f)
    epochs = [h["seconds"] for h in s["history"]]
    return min(epochs), wall - sum(epochs), sum(s["train_counts"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--long-tail", type=float, default=100)
    ap.add_argument("--only", default="", help="comma-separated method names (default: all)")
    args = ap.parse_args()
    wanted = [m for m in METHODS if not args.only or m[0] in args.only.split(",") or m[0] == "ERM"]
    print(f"long-tailed Fashion-MNIST (rho {args.long_tail:g}), LeNet, batch 128, {args.epochs} epochs, "
          f"{os.cpu_count()} cores; {args.binary}")
    print("| method | rows/epoch | s/epoch | ERM's s/epoch, run before | x ERM per row | one-off s | one-off - ERM's s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as d:
        for i, (name, extra) in enumerate(wanted):
            base_epoch, base_once, base_rows = run(args.binary, [], args, d, 2 * i)
            per_epoch, once, rows = (base_epoch, base_once, base_rows) if not extra else run(args.binary, extra, args, d,
                                                                                           2 * i + 1)
            ratio = (per_epoch / rows) / (base_epoch / base_rows)
            print(f"| {name} | {rows} | {per_epoch:.2f} | {base_epoch:.2f} | {ratio:.2f} | {once:.1f} | "
                  f"{once - base_once:+.1f} |", flush=True)
    print("The ERM column is the spread of identical runs here: a ratio inside it is no measurable cost.")


if __name__ == "__main__":
    main()
