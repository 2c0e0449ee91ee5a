#!/usr/bin/env python3
"""Reading an image folder: does decoding keep the trainer fed? In one command, on real images.

    /usr/bin/python3 bench/image_folder_speed.py build/rebalance [--images 20000]

Writes the first N Fashion-MNIST training images as PNG files (DIR/<class>/<i>.png, Pillow) into
a scratch folder, then measures:
  - rebalance's decode of the whole folder (`rebalance datasets show DIR`, libpng, all cores; the
    program's start, measured with `rebalance version`, subtracted), in memory and memory-mapped
    on disk (--image-storage disk);
  - torchvision's ImageFolder through a DataLoader (Pillow decode, ToTensor), batch 256, with 0 and
    2 worker processes: the usual PyTorch pipeline;
  - what the trainer consumes: one epoch of `rebalance train` (LeNet, batch 128, Adam) on the
    folder, the epoch time it reports.
images/s; decode rates far above the training rate mean loading never starves training.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import load_idx  # noqa: E402


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
    return time.perf_counter() - t0, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--images", type=int, default=20000)
    a = ap.parse_args()
    x = load_idx("train-images-idx3-ubyte.gz")[: a.images]
    y = load_idx("train-labels-idx1-ubyte.gz")[: a.images]
    n = len(x)
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, "fmnist")
        for c in range(10):
            os.makedirs(os.path.join(root, f"{c}"))
        for i in range(n):
            Image.fromarray(x[i], "L").save(os.path.join(root, f"{y[i]}", f"{i:05d}.png"))
        start = min(timed([a.binary, "version"])[0] for _ in range(3))
        rows = []
        for storage in ("memory", "disk"):
            t = min(timed([a.binary, "datasets", "show", root, "--image-storage", storage])[0] for _ in range(3))
            rows.append((f"rebalance decode ({storage})", n / max(t - start, 1e-9)))
        tf = transforms.Compose([transforms.Grayscale(), transforms.ToTensor()])
        for workers in (0, 2):
            ds = datasets.ImageFolder(root, transform=tf)
            loader = torch.utils.data.DataLoader(ds, batch_size=256, num_workers=workers)
            t0 = time.perf_counter()
            seen = sum(len(b[0]) for b in loader)
            rows.append((f"torchvision ImageFolder + DataLoader, {workers} workers", seen / (time.perf_counter() - t0)))
        _, out = timed([a.binary, "train", "--data", root, "--model", "lenet", "--epochs", "1", "--batch-size", "128",
                        "--val-fraction", "0.1", "--test-fraction", "0.1"])
        m = re.search(r"epoch 1/1 .* ([0-9.]+)s\n", out)
        train_rows = int(re.search(r"^train \{(.*)\}", out, re.M).group(1).count(":")) and sum(
            int(v) for v in re.findall(r": (\d+)", re.search(r"^train \{(.*)\}", out, re.M).group(1)))
        rows.append(("rebalance train, LeNet (one epoch, incl. validation)", train_rows / float(m.group(1))))
    print(f"{n} Fashion-MNIST PNG files (28x28 grey), {os.cpu_count()} cores; images/s")
    for name, rate in rows:
        print(f"{name:<58} {rate:>10.0f}")


if __name__ == "__main__":
    main()
