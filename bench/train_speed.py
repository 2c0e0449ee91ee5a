#!/usr/bin/env python3
"""One training epoch on Fashion-MNIST with rebalance and with PyTorch's Python API, in one command.

    /usr/bin/python3 bench/train_speed.py build/rebalance [--models mlp,lenet] [--threads N]

Both sides train the same network (MLP 784-512-256-10, or LeNet-5) with Adam (lr 1e-3), batch
128, cross-entropy, on the same 54,000 training images (Fashion-MNIST train minus a 10%
validation split), then score the 6,000 validation images, with the same thread count. The
rebalance time is the epoch time it reports (training + validation pass); the Python time covers
the same work. Ratio = rebalance / PyTorch (<= 1.0 means rebalance is no slower).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import load_idx  # noqa: E402

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x):
        return self.body(x.flatten(1))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


def pytorch_epoch(model, x, y, xv):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    model.train()
    perm = torch.randperm(x.shape[0])
    for b in range(0, x.shape[0], 128):
        idx = perm[b:b + 128]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        loss.item()
    model.eval()
    with torch.no_grad():
        for b in range(0, xv.shape[0], 1024):
            model(xv[b:b + 1024]).argmax(1)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--models", default="mlp,lenet")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=2, help="epochs timed per side; the fastest is kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(load_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(load_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xv, xt, yt = x[:6000], x[6000:], y[6000:]
    print(f"PyTorch {torch.__version__} (Python), {args.threads} threads; rebalance: {args.binary}")
    print(f"{'model':>8} {'pytorch s':>10} {'rebalance s':>12} {'ratio':>7}")
    specs = {"mlp": ("mlp:hidden=[512,256]", MLP), "lenet": ("lenet", LeNet)}
    for name in args.models.split(","):
        spec, cls = specs[name]
        torch.manual_seed(0)
        py = min(pytorch_epoch(cls(), xt, yt, xv) for _ in range(args.repeat))
        times = []
        with tempfile.TemporaryDirectory() as d:
            for _ in range(args.repeat):
                summary = os.path.join(d, "s.json")
                subprocess.run([args.binary, "train", "--data", "fashion-mnist", "--test", "fashion-mnist:split=test",
                                "--model", spec, "--epochs", "1", "--batch-size", "128", "--lr", "1e-3",
                                "--val-fraction", "0.1", "--summary", summary],
                               check=True, capture_output=True, env={**os.environ, "REBALANCE_THREADS": str(args.threads)})
                with open(summary) as f:
                    times.append(json.load(f)["history"][0]["seconds"])
        rb = min(times)
        print(f"{name:>8} {py:10.2f} {rb:12.2f} {rb / py:7.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
