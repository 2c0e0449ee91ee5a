#!/usr/bin/env python3
"""CycleGAN training speed: rebalance against the same model in PyTorch's Python API, in one command.

    /usr/bin/python3 bench/cyclegan_speed.py build/rebalance [--steps 100] [--repeat 2]

Data: seed 000's Fashion-MNIST pair, 5000 T-shirt/top (domain A) and 100 Shirt (domain B)
training images, written once to .npy files that both sides read.
Model: rebalance's `cyclegan` defaults (the original CycleGAN narrowed for 28x28): ResNet
generators c7s1-16, d32, d64, 4 residual blocks, u32, u16, c7s1-1, tanh; PatchGAN discriminators
C16(s2)-C32(s1)-conv1 with instance norm and LeakyReLU 0.2; least-squares GAN loss, cycle weight
10, identity 0.5 x 10, image pools of 50, Adam 2e-4 with betas (0.5, 0.999); batches of 8 pairs.
One step = the generators' update (six generator passes, both discriminators) and the
discriminators' update on the real batch and pooled fakes. Both sides run --steps steps at the
constant learning rate; the rebalance time is the training time `rebalance generate --summary`
reports (stage "cyclegan"), the Python time covers the same loop. Same thread count on both
sides. Ratio = rebalance / PyTorch (<= 1.0: rebalance is no slower). Nothing else should run
meanwhile: the machine has 2 cores.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import seed000_pair  # noqa: E402


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def generator(c=1, ngf=16, blocks=4):
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(c, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU()]
    ch = ngf
    for _ in range(2):
        layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1), nn.InstanceNorm2d(ch * 2), nn.ReLU()]
        ch *= 2
    layers += [ResBlock(ch) for _ in range(blocks)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, 1), nn.InstanceNorm2d(ch // 2), nn.ReLU()]
        ch //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, c, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(c=1, ndf=16):
    return nn.Sequential(nn.Conv2d(c, ndf, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(ndf, ndf * 2, 4, 1, 1),
                         nn.InstanceNorm2d(ndf * 2), nn.LeakyReLU(0.2), nn.Conv2d(ndf * 2, 1, 4, 1, 1))


class Pool:
    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, fakes):
        out = []
        for img in fakes:
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif random.random() > 0.5:
                j = random.randrange(self.size)
                out.append(self.images[j].clone())
                self.images[j] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)


def py_cyclegan(a, b, steps, batch=8, lr=2e-4, cyc=10.0, idt=0.5):
    torch.manual_seed(0)
    random.seed(0)
    g_ab, g_ba, d_a, d_b = generator(), generator(), discriminator(), discriminator()
    opt_g = torch.optim.Adam(list(g_ab.parameters()) + list(g_ba.parameters()), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=lr, betas=(0.5, 0.999))
    pool_a, pool_b = Pool(), Pool()
    ls = lambda d, t: (d - t).pow(2).mean()  # noqa: E731
    l1 = lambda x, y: (x - y).abs().mean()  # noqa: E731
    t0 = time.perf_counter()
    for _ in range(steps):
        ra = a[torch.randperm(a.shape[0])[:batch]] * 2 - 1
        rb = b[torch.randperm(b.shape[0])[:batch]] * 2 - 1
        for p in list(d_a.parameters()) + list(d_b.parameters()):
            p.requires_grad_(False)
        opt_g.zero_grad()
        fb, fa = g_ab(ra), g_ba(rb)
        loss_g = (ls(d_b(fb), 1) + ls(d_a(fa), 1) + cyc * (l1(g_ba(fb), ra) + l1(g_ab(fa), rb))
                  + idt * cyc * (l1(g_ab(rb), rb) + l1(g_ba(ra), ra)))
        loss_g.item()
        loss_g.backward()
        opt_g.step()
        for p in list(d_a.parameters()) + list(d_b.parameters()):
            p.requires_grad_(True)
        opt_d.zero_grad()
        pb, pa = pool_b.query(fb.detach()), pool_a.query(fa.detach())
        loss_da = 0.5 * (ls(d_a(ra), 1) + ls(d_a(pa), 0))
        loss_db = 0.5 * (ls(d_b(rb), 1) + ls(d_b(pb), 0))
        (loss_da + loss_db).backward()
        opt_d.step()
        loss_da.item(), loss_db.item()
    return time.perf_counter() - t0


def rebalance_cyclegan(binary, steps, x_path, y_path, threads, d):
    summary = os.path.join(d, "summary.json")
    subprocess.run([binary, "generate", "--method", f"cyclegan:steps={steps},decay_steps=0", "--input", x_path,
                    "--label", y_path, "--class", "1", "--count", "16", "--output", os.path.join(d, "out.npy"),
                    "--summary", summary],
                   check=True, capture_output=True, env={**os.environ, "REBALANCE_THREADS": str(threads)})
    with open(summary) as f:
        return next(s["seconds"] for s in json.load(f)["stages"] if s["stage"] == "cyclegan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=2, help="runs per side; the fastest is kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x, y = seed000_pair()
    xt = torch.from_numpy(x)
    print(f"PyTorch {torch.__version__} (Python), {args.threads} threads; rebalance: {args.binary}")
    print(f"{'model':>26} {'pytorch s':>10} {'rebalance s':>12} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as d:
        x_path, y_path = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
        np.save(x_path, x)
        np.save(y_path, y)
        py = min(py_cyclegan(xt[:5000], xt[5000:], args.steps) for _ in range(args.repeat))
        rb = min(rebalance_cyclegan(args.binary, args.steps, x_path, y_path, args.threads, d)
                 for _ in range(args.repeat))
        name = f"CycleGAN, {args.steps} steps"
        print(f"{name:>26} {py:10.2f} {rb:12.2f} {rb / py:7.2f}", flush=True)
        print(f"{'one step':>26} {py / args.steps:10.4f} {rb / args.steps:12.4f}")


if __name__ == "__main__":
    sys.exit(main())
