"""AutoResampler on data no test uses: Fashion-MNIST's T-shirt/top (2000 training images) against
Dress (60), flattened to 784 pixels, with PCA(40) + logistic regression as the user's estimator and
a 3-minute budget. Prints the leaderboard, the budget kept, the winner's held-out estimate beside
its selection score, and both scored once more on the official test images of the two classes
(1000 each), which nothing in the search saw.

    /usr/bin/python3 bench/auto_fashion.py [--budget 3m]
"""
import argparse
import os
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "build", "python"))  # this checkout's build, not an installed copy
from fashion_data import load_idx  # noqa: E402

from rebalance.auto import AutoResampler, parse_budget  # noqa: E402

MAJOR, MINOR = 0, 3  # T-shirt/top, Dress


def pair(split, n_major=None, n_minor=None, seed=0):
    images = load_idx(f"{split}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    labels = load_idx(f"{split}-labels-idx1-ubyte.gz")
    rng = np.random.default_rng(seed)
    maj, mino = np.flatnonzero(labels == MAJOR), np.flatnonzero(labels == MINOR)
    if n_major is not None:
        maj = rng.choice(maj, n_major, replace=False)
        mino = rng.choice(mino, n_minor, replace=False)
    rows = np.concatenate([maj, mino])
    return images[rows], np.r_[np.zeros(len(maj), np.int64), np.ones(len(mino), np.int64)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", default="3m")
    args = ap.parse_args()
    X, y = pair("train", 2000, 60)
    X_test, y_test = pair("t10k")
    estimator = make_pipeline(PCA(n_components=40, random_state=0), LogisticRegression(max_iter=2000))
    start = time.perf_counter()
    auto = AutoResampler(estimator, scoring="balanced_accuracy", time_budget=args.budget, random_state=0).fit(X, y)
    seconds = time.perf_counter() - start
    budget = parse_budget(args.budget)
    print(f"Fashion-MNIST T-shirt/top (2000) vs Dress (60), 784 pixels; estimator PCA(40) + LogisticRegression; "
          f"AutoResampler(time_budget={args.budget!r}, cv=5, estimate='holdout', random_state=0)")
    print(f"fit took {seconds:.1f} s of a {budget:.0f} s budget ({seconds / budget:.0%}); "
          f"{sum(f > 0 for f in auto.leaderboard_['folds'])} of {len(auto.leaderboard_['recipe'])} recipes scored\n")
    print(auto.report())
    plain = make_pipeline(PCA(n_components=40, random_state=0), LogisticRegression(max_iter=2000)).fit(X, y)
    test_winner = balanced_accuracy_score(y_test, auto.predict(X_test))
    test_plain = balanced_accuracy_score(y_test, plain.predict(X_test))
    print(f"\non the {len(y_test)} official test images of the two classes (never seen by the search): "
          f"winner {auto.best_recipe_} {test_winner:.4f}, nothing {test_plain:.4f}; "
          f"the search said {auto.selection_score_:.4f} (selection) and {auto.estimate_:.4f} (held-out estimate)")


if __name__ == "__main__":
    main()
