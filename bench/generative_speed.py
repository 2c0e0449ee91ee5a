#!/usr/bin/env python3
"""Generator training speed: rebalance against the same models in PyTorch's Python API, in one command.

    /usr/bin/python3 bench/generative_speed.py build/rebalance [--vae-epochs 50] [--mgvae-epochs 2]

Data: seed 000's Fashion-MNIST pair, 5000 T-shirt/top (class 0) and 100 Shirt (class 6) training
images, written once to .npy files that both sides read.
  VAE:   seed 000's convolutional VAE (5x5 stride-2 convolutions with 16 and 32 channels, latent 20,
         transposed-convolution decoder, Bernoulli likelihood) on the 100 minority images, Adam
         lr 1e-3, batch 32, --vae-epochs epochs.
  MGVAE: stage 1 of seed 003's MGVAE (MLP 784-300-300, latent 10, one learned log-variance,
         decoder 10-300-300-784 with a sigmoid, squared error, mixture prior over the majority's
         encodings with gradients through them) on the 5000 majority images, Adam lr 5e-3,
         batch 100, --exemplars exemplars per step, --mgvae-epochs epochs.
The rebalance time is the training time `rebalance generate --summary` reports for that stage;
the Python time covers the same loop (shuffle, batches, forward, backward, Adam step, loss read
back each step). Same thread count on both sides. Ratio = rebalance / PyTorch (<= 1.0: rebalance
is no slower). Nothing else should run meanwhile: the machine has 2 cores.
"""
import argparse
import json
import math
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
from fashion_data import seed000_pair  # noqa: E402

LOG2PI = math.log(2 * math.pi)

class ConvVAE(nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 16, 5, 2, 2), nn.LeakyReLU(0.2), nn.Conv2d(16, 32, 5, 2, 2),
                                 nn.LeakyReLU(0.2))
        self.mu, self.lv = nn.Linear(32 * 49, latent), nn.Linear(32 * 49, latent)
        self.fc = nn.Linear(latent, 32 * 49)
        self.dec = nn.Sequential(nn.ConvTranspose2d(32, 16, 5, 2, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 5, 2, 2, 1))

    def loss(self, x):
        h = self.enc(x).flatten(1)
        mu, lv = self.mu(h), self.lv(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        logits = self.dec(F.relu(self.fc(z)).view(-1, 32, 7, 7)).flatten(1)
        rec = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + lv.exp() - 1 - lv).sum(1)
        return (rec + kl).mean()


class MGVAENet(nn.Module):
    def __init__(self, latent=10):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 300), nn.ReLU())
        self.mu = nn.Linear(300, latent)
        self.log_var = nn.Parameter(torch.randn(1))
        self.dec = nn.Sequential(nn.Linear(latent, 300), nn.ReLU(), nn.Linear(300, 300), nn.ReLU(), nn.Linear(300, 784))

    def loss(self, x, exemplars):
        mu = self.mu(self.enc(x))
        lv = self.log_var
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        centres = self.mu(self.enc(exemplars))
        latent = z.shape[1]
        log_q = -0.5 * (LOG2PI + lv + (z - mu).pow(2) * torch.exp(-lv)).sum(1)
        d2 = (z.pow(2).sum(1, keepdim=True) + centres.pow(2).sum(1)[None] - 2 * z @ centres.t()).clamp_min(0)
        log_r = torch.logsumexp(-0.5 * (latent * (LOG2PI + lv) + d2 * torch.exp(-lv)), 1) - math.log(centres.shape[0])
        rec = (torch.sigmoid(self.dec(z)) - x).pow(2).sum(1)
        return (rec + log_q - log_r).mean()


def train(model, x, epochs, batch, lr, step_loss):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.perf_counter()
    model.train()
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for b in range(0, n, batch):
            idx = perm[b:b + batch]
            opt.zero_grad()
            loss = step_loss(idx)
            math.isfinite(loss.item())
            loss.backward()
            opt.step()
            loss.item()
    return time.perf_counter() - t0


def rebalance_stage(binary, method, x_path, y_path, stage, threads, d):
    summary = os.path.join(d, "summary.json")
    subprocess.run([binary, "generate", "--method", method, "--input", x_path, "--label", y_path, "--class", "1",
                    "--count", "16", "--output", os.path.join(d, "out.npy"), "--summary", summary],
                   check=True, capture_output=True, env={**os.environ, "REBALANCE_THREADS": str(threads)})
    with open(summary) as f:
        return next(s["seconds"] for s in json.load(f)["stages"] if s["stage"] == stage)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--vae-epochs", type=int, default=50)
    ap.add_argument("--mgvae-epochs", type=int, default=2)
    ap.add_argument("--exemplars", type=int, default=10000, help="per step; all 5000 majority rows when larger")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=2, help="runs per side; the fastest is kept")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x, y = seed000_pair()
    xt = torch.from_numpy(x)
    x_min, x_maj = xt[5000:], xt[:5000]

    print(f"PyTorch {torch.__version__} (Python), {args.threads} threads; rebalance: {args.binary}")
    print(f"{'model':>22} {'pytorch s':>10} {'rebalance s':>12} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as d:
        x_path, y_path = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
        np.save(x_path, x)
        np.save(y_path, y)

        def py_vae():
            torch.manual_seed(0)
            m = ConvVAE()
            return train(m, x_min, args.vae_epochs, 32, 1e-3, lambda idx: m.loss(x_min[idx]))

        def py_mgvae():
            torch.manual_seed(0)
            m = MGVAENet()
            flat = x_maj.flatten(1)
            k = min(args.exemplars, flat.shape[0])

            def step(idx):
                ex = flat if k >= flat.shape[0] else flat[torch.randperm(flat.shape[0])[:k]]
                return m.loss(flat[idx], ex)
            return train(m, flat, args.mgvae_epochs, 100, 5e-3, step)

        cases = [
            (f"VAE conv, {args.vae_epochs} ep", py_vae,
             f"vae:arch=conv,latent=20,likelihood=bernoulli,epochs={args.vae_epochs},batch_size=32,lr=0.001", "fit"),
            (f"MGVAE stage 1, {args.mgvae_epochs} ep", py_mgvae,
             f"mgvae:pretrain_epochs={args.mgvae_epochs},finetune_epochs=1,exemplars={args.exemplars},"
             f"fisher_samples=1,batch_size=100", "pretrain"),
        ]
        for name, py_fn, method, stage in cases:
            py = min(py_fn() for _ in range(args.repeat))
            rb = min(rebalance_stage(args.binary, method, x_path, y_path, stage, args.threads, d)
                     for _ in range(args.repeat))
            print(f"{name:>22} {py:10.2f} {rb:12.2f} {rb / py:7.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
