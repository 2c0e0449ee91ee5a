#!/usr/bin/env python3
"""A plain PyTorch training loop on long-tailed Fashion-MNIST, and the same loop with rebalance.

    python3 examples/pytorch_longtail.py                 # the plain loop
    python3 examples/pytorch_longtail.py --rebalance     # the three changed lines switched on
    python3 examples/pytorch_longtail.py --compare       # both, plus each line alone: a table

The training set keeps 2000 images of T-shirt/top and fewer of each next class, down to 20 of
Ankle boot (imbalance ratio 100, exponential profile, as in the long-tailed CIFAR benchmarks of
Cao et al. 2019); the test set is Fashion-MNIST's balanced 10,000, so accuracy there is the
class-averaged accuracy (ACSA). The three lines marked `# rebalance:` are all that changes:

    sampler = SqrtSampler(train_set, seed=seed)                    # the batches: p(class) ~ sqrt(n_c)
    criterion = FocalLoss.from_targets(train_set.targets, gamma=1.0)   # the loss: hard examples weigh more
    adjust = LogitAdjustment.from_targets(train_set.targets, tau=0.5)  # post-hoc: logits - 0.5 log prior

tau = 0.5 because the sampler already moved the training prior from n_c to sqrt(n_c): what is left
to correct at test time is log sqrt(n_c) = 0.5 log n_c (Menon et al., ICLR 2021). Stacking
corrections that each undo the whole imbalance (a balanced sampler with class-balanced weights and
tau = 1) over-corrects; --compare shows each line alone and the three together.

Runs from a fresh clone after `scripts/setup` (it finds the package under build/python).
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

try:
    import rebalance.torch  # noqa: F401
except ImportError:  # not installed (or an older install): the package as the build lays it out
    for name in [m for m in sys.modules if m == "rebalance" or m.startswith("rebalance.")]:
        del sys.modules[name]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "python"))
from rebalance.torch.data import SqrtSampler  # noqa: E402
from rebalance.torch.decision import LogitAdjustment  # noqa: E402
from rebalance.torch.losses import FocalLoss  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def long_tailed(split, n_max=2000, ratio=100, seed=0):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{FASHION}/{prefix}-images-idx3-ubyte.gz")
    y = read_idx(f"{FASHION}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    if split == "train":
        rng = np.random.RandomState(seed)
        keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:int(n_max * ratio ** (-c / 9))]
                               for c in range(10)])
        x, y = x[np.sort(keep)], y[np.sort(keep)]
    images = torch.tensor(x, dtype=torch.float32)[:, None] / 255.0
    ds = TensorDataset(images, torch.tensor(y))
    ds.targets = torch.tensor(y)  # as torchvision's datasets have it
    return ds


def make_model():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def run(sampler_line, loss_line, posthoc_line, epochs=8, seed=0, batch_size=128):
    torch.manual_seed(seed)
    train_set, test_set = long_tailed("train", seed=seed), long_tailed("test")
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    adjust = nn.Identity()
    if sampler_line:
        loader = DataLoader(train_set, batch_size=batch_size, sampler=SqrtSampler(train_set, seed=seed))  # rebalance:
    if loss_line:
        criterion = FocalLoss.from_targets(train_set.targets, gamma=1.0)  # rebalance:
    if posthoc_line:
        adjust = LogitAdjustment.from_targets(train_set.targets, tau=0.5)  # rebalance:

    t0 = time.time()
    for epoch in range(epochs):
        if hasattr(criterion, "set_epoch"):
            criterion.set_epoch(epoch)
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
    seconds = time.time() - t0

    model.eval()
    with torch.no_grad():
        x, y = test_set.tensors
        pred = adjust(model(x)).argmax(1)
    recall = torch.stack([(pred[y == c] == c).float().mean() for c in range(10)])
    precision = torch.stack([(y[pred == c] == c).float().mean() if (pred == c).any() else torch.tensor(0.0)
                             for c in range(10)])
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall), torch.zeros(10))
    return {"acsa": recall.mean().item(), "f1_macro": f1.mean().item(), "tail_recall": recall[7:].mean().item(),
            "head_recall": recall[:3].mean().item(), "seconds": seconds, "train_size": len(train_set)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rebalance", action="store_true", help="switch on the three rebalance lines")
    ap.add_argument("--compare", action="store_true", help="the plain loop, each line alone and all three: a table")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", default="0,1", help="comma-separated seeds; the table shows their mean")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    variants = [("plain PyTorch loop", (False, False, False))]
    if args.compare:
        variants += [("+ SqrtSampler", (True, False, False)), ("+ FocalLoss", (False, True, False)),
                     ("+ LogitAdjustment (tau 0.5)", (False, False, True)), ("all three lines", (True, True, True))]
    elif args.rebalance:
        variants = [("all three lines", (True, True, True))]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name, lines in variants:
        runs = [run(*lines, epochs=args.epochs, seed=seed) for seed in seeds]
        r = {k: sum(x[k] for x in runs) / len(runs) for k in runs[0]}
        rows.append((name, r))
        print(f"{name}: ACSA {r['acsa']:.4f}, macro F1 {r['f1_macro']:.4f}, tail recall {r['tail_recall']:.4f} "
              f"({r['seconds']:.1f} s)", file=sys.stderr, flush=True)
    n = int(rows[0][1]["train_size"])
    print(f"Long-tailed Fashion-MNIST: {n} training images (2000 down to 20 per class), the balanced 10,000 test "
          f"images; {args.epochs} epochs, mean over seeds {args.seeds}, CPU.")
    print()
    print("| loop | ACSA (test accuracy) | macro F1 | recall, 3 rarest classes | recall, 3 largest | train s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['acsa']:.4f} | {r['f1_macro']:.4f} | {r['tail_recall']:.4f} | {r['head_recall']:.4f} "
              f"| {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
