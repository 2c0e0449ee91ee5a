#!/usr/bin/env python3
"""What sharing neighbour searches saves `rebalance auto`: the same search (the neighbour-based
recipes, 3 folds, synthetic 60,000 x 20 rows (one cluster per class) at 3% minority, logistic regression 3 epochs) with
the samplers' exact searches shared between the recipes of a fold, and with each sampler searching
its own, in one command, alternating, the faster of 2 runs each.

    /usr/bin/python3 bench/auto_neighbours.py build/rebalance
"""
import re
import subprocess
import sys
import time

RECIPES = ";".join(["smote:k_neighbors=5", "smote:k_neighbors=3", "borderline_smote:kind=borderline-1",
                    "borderline_smote:kind=borderline-2", "adasyn", "tomek_links", "enn", "renn", "allknn", "ncr",
                    "smote_enn", "smote_tomek"])
ARGS = ["auto", "--data", "synthetic:n=60000,features=20,clusters_per_class=1,weights=[0.97,0.03],seed=5", "--model", "logreg",
        "--epochs", "3", "--folds", "3", "--recipes", RECIPES, "--quiet", "--seed", "0"]


def once(binary, shared):
    start = time.perf_counter()
    p = subprocess.run([binary, *ARGS] + ([] if shared else ["--no-shared-neighbours"]), capture_output=True,
                       text=True, check=True)
    return time.perf_counter() - start, p.stdout


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/rebalance"
    times = {True: [], False: []}
    outs = {}
    for _ in range(2):
        for shared in (True, False):
            t, out = once(binary, shared)
            times[shared].append(t)
            outs[shared] = out
    line = re.search(r"neighbour searches: (\d+) run, (\d+) more served", outs[True])
    winner = [re.search(r"^winner: .*$", outs[s], re.M).group(0).split(";")[0] for s in (True, False)]
    print(f"rebalance auto, {len(RECIPES.split(';'))} neighbour-based recipes, 3 folds, synthetic 60000 x 20 at 3% "
          f"minority, logreg 3 epochs (fastest of 2 runs each)")
    print(f"shared neighbour searches:   {min(times[True]):7.1f} s"
          + (f"  ({line.group(1)} searches run, {line.group(2)} served from them)" if line else ""))
    print(f"each sampler its own:        {min(times[False]):7.1f} s")
    print(f"ratio (own / shared):        {min(times[False]) / min(times[True]):7.2f}x")
    print(f"the same winner both ways:   {winner[0] == winner[1]} ({winner[0]})")


if __name__ == "__main__":
    main()
