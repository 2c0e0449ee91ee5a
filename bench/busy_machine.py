#!/usr/bin/env python3
"""How OpenMP's wait policy and threads per process behave on a quiet and on a loaded machine.

    bench/busy_machine.py build/rebalance [--epochs 2] [--repeats 1]

The workload is the same 2-epoch LeNet `rebalance train` on the 10,000 MNIST digits, timed in four settings
for each OpenMP wait policy (the default, which spins, and PASSIVE):
  quiet      one process alone, all cores;
  loaded     the same while a second identical process runs beside it (its time is the one shown);
  two x 1t   two processes at once, one thread each (how `rebalance run --jobs 2` splits a 2-core
             machine), the time until both end;
  two x Nt   two processes at once with all cores each (two unsplit jobs), until both end.
Run it with nothing else on the machine: the "loaded" rows make their own load.
"""
import argparse
import os
import subprocess
import sys
import time


def command(binary, epochs, seed):
    return [binary, "train", "--data", "mnist-digits", "--model", "lenet",
            "--epochs", str(epochs), "--monitor", "none", "--seed", str(seed)]


def timed(cmds, env):
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
    ends = []
    for p in procs:
        p.wait()
        ends.append(time.perf_counter() - t0)
        if p.returncode != 0:
            sys.exit(f"{cmds[0]} failed with exit {p.returncode}")
    return ends


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    cores = os.cpu_count()
    print(f"{cores} cores; {a.epochs}-epoch LeNet train on MNIST digits; best of {a.repeats}")
    print(f"| wait policy | quiet (s) | loaded (s) | two x 1 thread (s) | two x {cores} threads (s) |")
    print("|---|---|---|---|---|")
    for policy in ("default", "PASSIVE"):
        env = {k: v for k, v in os.environ.items()
               if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "REBALANCE_THREADS")}
        if policy != "default":
            env["OMP_WAIT_POLICY"] = policy
        one = dict(env, REBALANCE_THREADS="1", OMP_NUM_THREADS="1")
        best = [float("inf")] * 4
        for _ in range(a.repeats):
            best[0] = min(best[0], timed([command(a.binary, a.epochs, 0)], env)[0])
            best[1] = min(best[1], timed([command(a.binary, a.epochs, 0), command(a.binary, a.epochs, 1)], env)[0])
            best[2] = min(best[2], max(timed([command(a.binary, a.epochs, 0), command(a.binary, a.epochs, 1)], one)))
            best[3] = min(best[3], max(timed([command(a.binary, a.epochs, 0), command(a.binary, a.epochs, 1)], env)))
        print(f"| {policy} | " + " | ".join(f"{t:.1f}" for t in best) + " |")


if __name__ == "__main__":
    main()
