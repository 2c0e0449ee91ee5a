#!/usr/bin/env python3
"""CycleGAN and joint (ALT) training speed: rebalance against the same models in PyTorch's Python
API, in one command.

    /usr/bin/python3 bench/cyclegan_speed.py build/rebalance [--steps 100] [--alt-steps 50] [--repeat 3]

Data: seed 000's Fashion-MNIST pair, 5000 T-shirt/top (domain A) and 100 Shirt (domain B)
training images, written once to .npy files that both sides read.
Model: rebalance's `cyclegan` defaults (the original CycleGAN narrowed for 28x28): ResNet
generators c7s1-16, d32, d64, 4 residual blocks, u32, u16, c7s1-1, tanh; PatchGAN discriminators
C16(s2)-C32(s1)-conv1 with instance norm and LeakyReLU 0.2; least-squares GAN loss, cycle weight
10, identity 0.5 x 10, image pools of 50, Adam 2e-4 with betas (0.5, 0.999); batches of 8 pairs.
One step = the generators' update (six generator passes, both discriminators) and the
discriminators' update on the real batch and pooled fakes. The Python side makes each pass as the
reference CycleGAN does, one call per batch; rebalance concatenates the batches one network sees
in a step (instance norm is per image, so the values are the same): three generator calls and one
call per discriminator in each update. Both sides run --steps steps at the
constant learning rate; the rebalance time is the training time `rebalance generate --summary`
reports (stage "cyclegan"), the Python time covers the same loop. Same thread count on both
sides, the two alternating --repeat times (the fastest of each kept). Ratio = rebalance / PyTorch
(<= 1.0: rebalance is no slower). Nothing else should run
meanwhile: the machine has 2 cores.

One ALT round (seed 004): `rebalance train --joint alt:rounds=2` with LeNet, and its second round
timed from the summary's phases: --alt-steps generator steps whose objective adds the frozen
classifier's loss L_cls (the teacher), then one classifier epoch over the training majority, each
step 32 majority and 32 minority rows with their translations (computed once for the phase), the
loss CE(b, B) + CE(G_A->B(a), B) + CE(a, A) + CE(G_B->A(b), A), Adam 1e-3. The Python side runs the
same round on the same numbers of training rows (its validation pass of a few dozen rows aside).
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
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import seed000_pair  # noqa: E402
from train_speed import LeNet  # noqa: E402


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


class PyCycleGAN:
    def __init__(self, lr=2e-4, cyc=10.0, idt=0.5):
        self.g_ab, self.g_ba, self.d_a, self.d_b = generator(), generator(), discriminator(), discriminator()
        self.opt_g = torch.optim.Adam(list(self.g_ab.parameters()) + list(self.g_ba.parameters()), lr=lr,
                                      betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(list(self.d_a.parameters()) + list(self.d_b.parameters()), lr=lr,
                                      betas=(0.5, 0.999))
        self.pool_a, self.pool_b, self.cyc, self.idt = Pool(), Pool(), cyc, idt

    def step(self, ra, rb, teacher=None):
        """One step on batches in model units ([-1, 1]); teacher(ra, fb, rb, fa) in data units."""
        ls = lambda d, t: (d - t).pow(2).mean()  # noqa: E731
        l1 = lambda x, y: (x - y).abs().mean()  # noqa: E731
        ds = list(self.d_a.parameters()) + list(self.d_b.parameters())
        for p in ds:
            p.requires_grad_(False)
        self.opt_g.zero_grad()
        fb, fa = self.g_ab(ra), self.g_ba(rb)
        loss_g = (ls(self.d_b(fb), 1) + ls(self.d_a(fa), 1)
                  + self.cyc * (l1(self.g_ba(fb), ra) + l1(self.g_ab(fa), rb))
                  + self.idt * self.cyc * (l1(self.g_ab(rb), rb) + l1(self.g_ba(ra), ra)))
        if teacher is not None:
            loss_g = loss_g + teacher((ra + 1) / 2, (fb + 1) / 2, (rb + 1) / 2, (fa + 1) / 2)
        loss_g.item()
        loss_g.backward()
        self.opt_g.step()
        for p in ds:
            p.requires_grad_(True)
        self.opt_d.zero_grad()
        pb, pa = self.pool_b.query(fb.detach()), self.pool_a.query(fa.detach())
        loss_da = 0.5 * (ls(self.d_a(ra), 1) + ls(self.d_a(pa), 0))
        loss_db = 0.5 * (ls(self.d_b(rb), 1) + ls(self.d_b(pb), 0))
        (loss_da + loss_db).backward()
        self.opt_d.step()
        loss_da.item(), loss_db.item()


def batches(a, b, batch):
    return a[torch.randperm(a.shape[0])[:batch]] * 2 - 1, b[torch.randperm(b.shape[0])[:batch]] * 2 - 1


def py_cyclegan(a, b, steps, batch=8):
    torch.manual_seed(0)
    random.seed(0)
    gan = PyCycleGAN()
    t0 = time.perf_counter()
    for _ in range(steps):
        gan.step(*batches(a, b, batch))
    return time.perf_counter() - t0


def classifier_loss(clf, b, fb, a, fa):
    n = b.shape[0]
    lg = clf(torch.cat([b, fb, a, fa]))
    ones, zeros = torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
    return (F.cross_entropy(lg[:n], ones) + F.cross_entropy(lg[n:2 * n], ones)
            + F.cross_entropy(lg[2 * n:3 * n], zeros) + F.cross_entropy(lg[3 * n:], zeros))


def py_alt_round(a, b, steps, batch=8, half=32):
    """(generator phase s, classifier phase s) of one ALT round after the first."""
    torch.manual_seed(0)
    random.seed(0)
    gan, clf = PyCycleGAN(), LeNet()
    clf.fc3 = nn.Linear(84, 2)
    opt_c = torch.optim.Adam(clf.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    clf.eval()
    for p in clf.parameters():
        p.requires_grad_(False)
    for _ in range(steps):
        gan.step(*batches(a, b, batch), teacher=lambda ra, fb, rb, fa: classifier_loss(clf, rb, fb, ra, fa))
    t1 = time.perf_counter()
    for p in clf.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        fake_b = torch.cat([(gan.g_ab(a[i:i + 256] * 2 - 1) + 1) / 2 for i in range(0, a.shape[0], 256)])
        fake_a = torch.cat([(gan.g_ba(b[i:i + 256] * 2 - 1) + 1) / 2 for i in range(0, b.shape[0], 256)])
    clf.train()
    pa = torch.randperm(a.shape[0])
    pb = torch.cat([torch.randperm(b.shape[0]) for _ in range(a.shape[0] // b.shape[0] + 1)])[:a.shape[0]]
    for s in range(0, a.shape[0], half):
        ia, ib = pa[s:s + half], pb[s:s + half]
        opt_c.zero_grad()
        loss = classifier_loss(clf, b[ib], fake_b[ia], a[ia], fake_a[ib])
        loss.backward()
        opt_c.step()
        loss.item()
    return t1 - t0, time.perf_counter() - t1


def rebalance_alt_round(binary, steps, x_path, y_path, threads, d):
    summary = os.path.join(d, "alt.json")
    subprocess.run([binary, "train", "--data", x_path, "--label", y_path, "--model", "lenet", "--epochs", "2",
                    "--batch-size", "64", "--monitor", "none",
                    "--joint", f"alt:rounds=2,steps={2 * steps},decay_steps=0", "--summary", summary],
                   check=True, capture_output=True, env={**os.environ, "REBALANCE_THREADS": str(threads)})
    with open(summary) as f:
        s = json.load(f)
    phases = s["joint_phases"]
    assert [p["kind"] for p in phases[2:]] == ["generators", "classifier"], phases
    return phases[2]["seconds"], phases[3]["seconds"], s["train_counts"]


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
    ap.add_argument("--alt-steps", type=int, default=50, help="generator steps of the timed ALT round")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=3, help="runs per side, alternating; the fastest is kept")
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
        # The two sides alternate, so a drift of the machine's speed (other tenants, clocks) falls on both.
        pys, rbs = [], []
        for _ in range(args.repeat):
            pys.append(py_cyclegan(xt[:5000], xt[5000:], args.steps))
            rbs.append(rebalance_cyclegan(args.binary, args.steps, x_path, y_path, args.threads, d))
        py, rb = min(pys), min(rbs)
        name = f"CycleGAN, {args.steps} steps"
        print(f"{name:>26} {py:10.2f} {rb:12.2f} {rb / py:7.2f}", flush=True)
        print(f"{'one step':>26} {py / args.steps:10.4f} {rb / args.steps:12.4f}", flush=True)
        reb, pys = [], []
        for _ in range(args.repeat):
            reb.append(rebalance_alt_round(args.binary, args.alt_steps, x_path, y_path, args.threads, d))
            n_a, n_b = reb[0][2]
            # The same numbers of training rows as rebalance's split kept (its first rows of each class).
            pys.append(py_alt_round(xt[:n_a], xt[5000:5000 + n_b], args.alt_steps))
        for k, label in ((0, f"ALT generators, {args.alt_steps} st"), (1, "ALT classifier, 1 epoch")):
            p, r = min(t[k] for t in pys), min(t[k] for t in reb)
            print(f"{label:>26} {p:10.2f} {r:12.2f} {r / p:7.2f}", flush=True)
        p, r = min(sum(t[:2]) for t in pys), min(t[0] + t[1] for t in reb)
        print(f"{'one ALT round':>26} {p:10.2f} {r:12.2f} {r / p:7.2f}")


if __name__ == "__main__":
    sys.exit(main())
