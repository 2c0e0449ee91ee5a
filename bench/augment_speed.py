#!/usr/bin/env python3
"""Augmentation throughput: rebalance's batched ops against the same transforms in torchvision
(Debian's python3-torchvision 0.14 on python3-torch 1.13), in one process, on real images.

    /usr/bin/python3 bench/augment_speed.py [--threads 1] [--images 4096]

Images: Fashion-MNIST training images, [N, 1, 28, 28], and the same images upsampled to
[N, 3, 64, 64] (three copies of the grey channel). rebalance draws every image's random
parameters (its angle, its flip) and transforms the batch in one call. torchvision is timed two
ways: per image, as a Dataset's transform runs in a DataLoader (every image its own draw, the
equivalent work), and on the whole batch with one draw for all images (torchvision's functional
ops accept a batch but share the parameters: less work than a per-image draw, shown for scale).
Rotation and zoom interpolate bilinearly on both sides (torchvision's default, nearest, is set to
bilinear). images/s: higher is better; ratio = rebalance / torchvision (>= 1: rebalance is faster).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "python"))
from fashion_data import load_idx  # noqa: E402
from rebalance.augment import augment  # noqa: E402

BL = T.InterpolationMode.BILINEAR  # rebalance's geometric ops interpolate bilinearly; torchvision's default is nearest

# name -> (rebalance spec, torchvision per-image transform, torchvision batch transform)
OPS = [
    ("hflip", "hflip:p=1", T.RandomHorizontalFlip(p=1.0), TF.hflip),
    ("rotate +-15", "rotate:degrees=15", T.RandomRotation(15, interpolation=BL), lambda b: TF.rotate(b, 7.5, interpolation=BL)),
    ("blur sigma 1", "blur:sigma=1", T.GaussianBlur(7, sigma=1.0), lambda b: TF.gaussian_blur(b, [7, 7], [1.0, 1.0])),
    ("brightness+contrast", "brightness:factor=0.2+contrast:factor=0.2", T.ColorJitter(brightness=0.2, contrast=0.2),
     lambda b: TF.adjust_contrast(TF.adjust_brightness(b, 1.1), 0.9)),
    ("zoom 1-1.2", "zoom:scale=[1,1.2]", T.RandomAffine(0, scale=(1.0, 1.2), interpolation=BL),
     lambda b: TF.affine(b, 0, [0, 0], 1.1, [0.0], interpolation=BL)),
    ("seed 001 mix", "rotate:degrees=10+hflip+brightness:factor=0.2",
     T.Compose([T.RandomRotation(10, interpolation=BL), T.RandomHorizontalFlip(), T.ColorJitter(brightness=0.2)]),
     lambda b: TF.adjust_brightness(TF.hflip(TF.rotate(b, 5.0, interpolation=BL)), 1.1)),
]


def best_of(fn, repeat):
    fn()  # warm-up: first-call allocations and lazy initialisation are not the transform's cost
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)  # one libtorch in the process: both sides use this many
    grey = load_idx("train-images-idx3-ubyte.gz")[: a.images].astype(np.float32)[:, None] / 255.0
    grey = np.ascontiguousarray(grey)
    rgb = torch.nn.functional.interpolate(torch.from_numpy(grey), size=(64, 64), mode="bilinear",
                                          align_corners=False).repeat(1, 3, 1, 1).contiguous().numpy()
    print(f"{a.images} Fashion-MNIST images, {a.threads} thread(s), best of {a.repeat}; images/s")
    print(f"{'images':<12} {'transform':<22} {'rebalance':>10} {'tv per image':>13} {'ratio':>7} "
          f"{'tv batch (1 draw)':>18} {'ratio':>7}")
    for label, arr in (("1x28x28", grey), ("3x64x64", rgb)):
        t = torch.from_numpy(arr)
        small = max(256, a.images // 8)  # the per-image loop is slow: time a part, scale
        for name, spec, per_image, batch in OPS:
            ours = best_of(lambda: augment(arr, spec, 0), a.repeat)
            torch.manual_seed(0)
            tv = best_of(lambda: [per_image(t[i]) for i in range(small)], a.repeat) * (len(arr) / small)
            tvb = best_of(lambda: batch(t), a.repeat)
            n = len(arr)
            print(f"{label:<12} {name:<22} {n / ours:>10.0f} {n / tv:>13.0f} {tv / ours:>7.2f} {n / tvb:>18.0f} "
                  f"{tvb / ours:>7.2f}")


if __name__ == "__main__":
    main()
