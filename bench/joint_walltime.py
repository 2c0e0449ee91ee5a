#!/usr/bin/env python3
"""Wall time of one AUG and one ALT run (seed 004) at minority 100, as `examples/seed004_fashion.toml`
runs them: Fashion-MNIST T-shirt/top (every training image) against 100 Shirt images, LeNet 8
epochs, batch 64, the CycleGAN 400 + 400 steps (ALT: 4 rounds). One `rebalance train --joint`
command each; the time is the process's wall clock, the phases are those of its --summary.

    /usr/bin/python3 bench/joint_walltime.py build/rebalance
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    binary = sys.argv[1]
    print(f"rebalance: {binary}; {os.cpu_count()} threads")
    print(f"{'mode':>5} {'wall s':>8} {'generators s':>13} {'classifier s':>13} {'F1 (Shirt)':>11}")
    with tempfile.TemporaryDirectory() as d:
        for mode in ("aug:steps=400,decay_steps=400", "alt:rounds=4,steps=400,decay_steps=400"):
            summary = os.path.join(d, "s.json")
            t0 = time.perf_counter()
            subprocess.run([binary, "train", "--data", "fashion-mnist", "--test", "fashion-mnist:split=test",
                            "--pair", "T-shirt/top:all,Shirt:100", "--model", "lenet", "--epochs", "8",
                            "--batch-size", "64", "--joint", mode, "--summary", summary],
                           check=True, capture_output=True)
            wall = time.perf_counter() - t0
            with open(summary) as f:
                s = json.load(f)
            gen = sum(p["seconds"] for p in s["joint_phases"] if p["kind"] == "generators")
            cls = sum(p["seconds"] for p in s["joint_phases"] if p["kind"] == "classifier")
            f1 = s["test"]["per_class"]["Shirt"]["f1"]
            print(f"{mode.split(':')[0]:>5} {wall:8.1f} {gen:13.1f} {cls:13.1f} {f1:11.4f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
