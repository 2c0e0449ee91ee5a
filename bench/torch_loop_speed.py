#!/usr/bin/env python3
"""rebalance.torch against plain PyTorch, side by side in one process (run with nothing else on
the machine; scripts/readme_tables speed_torch writes docs/results/speed_torch.md):

1. an epoch of the long-tailed Fashion-MNIST loop of examples/pytorch_longtail.py with
   rebalance's BalancedSampler and LDAMLoss, against the same loop with torch's
   WeightedRandomSampler (inverse-frequency weights, N draws) and nn.CrossEntropyLoss;
2. each loss's forward + backward on logits [B, C] against a hand-written PyTorch version of it
   (tests/python/torch_reference.py: constants precomputed, as a module's __init__ would), both
   called as nn.Modules.

Times are medians of alternating repeats; the ratios are rebalance / PyTorch (lower is faster).

    python3 bench/torch_loop_speed.py [--epoch-repeats 7] [--loss-iters 300]
"""
import argparse
import os
import statistics
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "examples"))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from pytorch_longtail import long_tailed, make_model  # noqa: E402  (also puts build/python on the path)
from torch_reference import reference  # noqa: E402

from rebalance.torch.data import BalancedSampler  # noqa: E402
from rebalance.torch.losses import make_loss  # noqa: E402


def epoch_seconds(loader, criterion, seed):
    torch.manual_seed(seed)
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    t0 = time.perf_counter()
    for x, y in loader:
        opt.zero_grad()
        criterion(model(x), y).backward()
        opt.step()
    return time.perf_counter() - t0


def bench_epoch(repeats, batch_size=128):
    ds = long_tailed("train")
    counts = torch.bincount(ds.targets).double()
    weights = (1.0 / counts)[ds.targets]
    torch_loader = DataLoader(ds, batch_size=batch_size,
                              sampler=WeightedRandomSampler(weights, len(ds), replacement=True))
    torch_loss = nn.CrossEntropyLoss(weight=(counts.sum() / (len(counts) * counts)).float())
    ours_loader = DataLoader(ds, batch_size=batch_size, sampler=BalancedSampler(ds, batch_size=batch_size, seed=0))
    ours_loss = make_loss("ldam:s=5,drw_epoch=0", torch.bincount(ds.targets).tolist())
    epoch_seconds(torch_loader, torch_loss, 0)  # warm-up (allocator, threads)
    theirs, ours = [], []
    for r in range(repeats):
        theirs.append(epoch_seconds(torch_loader, torch_loss, r))
        ours.append(epoch_seconds(ours_loader, ours_loss, r))
    return len(ds), statistics.median(theirs), statistics.median(ours)


LOSSES = [("ce", {}), ("weighted_ce", {}), ("focal", {"gamma": 2.0}), ("cb", {"beta": 0.999}),
          ("cb", {"beta": 0.999, "base": "focal"}), ("la", {"tau": 1.0}), ("ldam", {"s": 30.0}),
          ("ldam", {"s": 30.0, "drw_epoch": 0})]


class HandWritten(nn.Module):
    """A reference loss as a user's nn.Module (so both sides pay nn.Module's call)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, z, y):
        return self.fn(z, y)


def loss_seconds(fn, z, y, iters):
    t0 = time.perf_counter()
    for _ in range(iters):
        z.grad = None
        fn(z, y).backward()
    return (time.perf_counter() - t0) / iters


def bench_losses(iters, shapes, repeats=5):
    rows = []
    for b, c in shapes:
        counts = [max(1, int(1000 * 100 ** (-k / (c - 1)))) for k in range(c)]
        g = torch.Generator().manual_seed(0)
        z = torch.randn(b, c, generator=g).requires_grad_()
        y = torch.randint(0, c, (b,), generator=g)
        for name, params in LOSSES:
            spec = name + (":" + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
            ours = make_loss(spec, counts)
            ours.set_epoch(1)
            ref_params = {k: v for k, v in params.items() if k != "drw_epoch"}
            if "drw_epoch" in params:
                ref_params["drw"] = True
            theirs = HandWritten(reference(name, counts, dtype=torch.float32, **ref_params))
            torch.testing.assert_close(ours(z, y), theirs(z, y), rtol=1e-4, atol=1e-5)
            loss_seconds(ours, z, y, 20), loss_seconds(theirs, z, y, 20)
            t_ours, t_theirs = [], []
            for _ in range(repeats):
                t_theirs.append(loss_seconds(theirs, z, y, iters))
                t_ours.append(loss_seconds(ours, z, y, iters))
            rows.append((f"[{b}, {c}]", spec, statistics.median(t_theirs), statistics.median(t_ours)))
    return rows


def main():
    ap = argparse.ArgumentParser(description="rebalance.torch against plain PyTorch")
    ap.add_argument("--epoch-repeats", type=int, default=7)
    ap.add_argument("--loss-iters", type=int, default=300)
    args = ap.parse_args()
    n, theirs, ours = bench_epoch(args.epoch_repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads.")
    print()
    print(f"One epoch, long-tailed Fashion-MNIST ({n} images, batch 128, the CNN of examples/pytorch_longtail.py), "
          f"median of {args.epoch_repeats}:")
    print()
    print("| loop | seconds | ratio |")
    print("|---|---|---|")
    print(f"| WeightedRandomSampler + nn.CrossEntropyLoss(weight) | {theirs:.3f} | 1.000 |")
    print(f"| rebalance BalancedSampler + LDAMLoss (DRW) | {ours:.3f} | {ours / theirs:.3f} |")
    print()
    print(f"Loss forward + backward (CPU, float32), median of 5 runs of {args.loss_iters} calls:")
    print()
    print("| logits | loss | hand-written PyTorch, us | rebalance.torch, us | ratio |")
    print("|---|---|---|---|---|")
    for shape, spec, t_theirs, t_ours in bench_losses(args.loss_iters, [(128, 10), (512, 100)]):
        print(f"| {shape} | `{spec}` | {t_theirs * 1e6:.1f} | {t_ours * 1e6:.1f} | {t_ours / t_theirs:.3f} |")


if __name__ == "__main__":
    main()
