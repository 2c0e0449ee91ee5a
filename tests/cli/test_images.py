#!/usr/bin/env python3
"""Rare image classes through the program: image folders (decoded pixels against Pillow's, bad
images refused or skipped by path), augmentation oversampling, transfer learning from TorchScript
backbones exported by Debian's python3-torch (same features as Python), lr-find.

Usage: test_images.py PATH_TO_rebalance
"""
import os
import subprocess
import sys

import numpy as np

import cli_util
from cli_util import run

PY = "/usr/bin/python3"  # Debian's torch and Pillow


def pil(code, cwd):
    """Run `code` with Debian's Python (Pillow, torch); fail loudly."""
    # From a file: torch.jit.script reads the classes' source code.
    script = os.path.join(cwd, "_step.py")
    with open(script, "w") as f:
        f.write(code)
    p = subprocess.run([PY, script], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


MAKE_FOLDER = r"""
import numpy as np, os
from PIL import Image
rng = np.random.default_rng(0)
def put(path, arr, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr, mode).save(path)
# grey PNGs, a class of 12 and rare classes of 2 and 1
for c, n in (("common", 12), ("rare", 2), ("single", 1)):
    for i in range(n):
        put(f"grey/{c}/{i:02d}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8), "L")
# RGB: a JPEG, an RGB PNG, an RGBA PNG (alpha composited on black)
put("rgb/a/x.png", rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), "RGB")
rgba = rng.integers(0, 256, (6, 6, 4), dtype=np.uint8); rgba[..., 3] = 255
put("rgb/a/y.png", rgba, "RGBA")
put("rgb/b/z.jpg", rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), "RGB")
"""


class ImageFolders(cli_util.TempCase):
    def setUp(self):
        super().setUp()
        pil(MAKE_FOLDER, self.d)

    def test_pixels_equal_pillows_and_show_profiles_the_tail(self):
        p = run("datasets", "show", self.path("grey"))
        self.assertIn("rows      15", p.stdout)
        self.assertIn("long-tail profile (3 classes, 15 rows)", p.stdout)
        self.assertIn("1 row       1 classes", p.stdout)
        out = self.path("emb.npy")
        # embed with an identity-like TorchScript backbone writes the decoded pixels back out
        pil("import torch\n"
            "class F(torch.nn.Module):\n"
            "    def forward(self, x):\n"
            "        return torch.flatten(x, 1)\n"
            "torch.jit.script(F()).save('flat.pt')\n", self.d)
        run("embed", "--backbone", self.path("flat.pt"), "--data", self.path("grey"), "-o", out)
        got = np.load(out)
        want = pil("import numpy as np, glob\nfrom PIL import Image\n"
                   "a=[np.asarray(Image.open(f)).reshape(-1) for c in ('common','rare','single') "
                   "for f in sorted(glob.glob(f'grey/{c}/*.png'))]\n"
                   "np.save('want.npy', np.stack(a).astype(np.float32)/255)\n", self.d)
        np.testing.assert_array_equal(got, np.load(self.path("want.npy")))
        labels = np.load(self.path("emb_labels.npy"))
        self.assertEqual(list(labels[:12]), ["common"] * 12)
        # RGB: PNG and JPEG decoded as Pillow does (libjpeg-turbo on both sides)
        run("embed", "--backbone", self.path("flat.pt"), "--data", self.path("rgb"), "-o", self.path("rgb.npy"))
        pil("import numpy as np\nfrom PIL import Image\n"
            "a=[np.asarray(Image.open(f).convert('RGB')).transpose(2,0,1).reshape(-1) for f in "
            "('rgb/a/x.png','rgb/a/y.png','rgb/b/z.jpg')]\n"
            "np.save('want_rgb.npy', np.stack(a).astype(np.float32)/255)\n", self.d)
        np.testing.assert_array_equal(np.load(self.path("rgb.npy")), np.load(self.path("want_rgb.npy")))

    def test_bad_images_fail_or_skip_by_path(self):
        with open(self.path("grey", "rare", "broken.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
        p = run("datasets", "show", self.path("grey"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("broken.png", p.stderr)
        self.assertIn("--on-bad-image skip", p.stderr)
        p = run("datasets", "show", self.path("grey"), "--on-bad-image", "skip")
        self.assertIn("broken.png", p.stderr)
        self.assertIn("rows      15", p.stdout)
        os.makedirs(self.path("grey", "empty"))
        p = run("datasets", "show", self.path("grey"), ok=False)
        self.assertIn("class folder \"empty\" holds no images", p.stderr)
        p = run("datasets", "show", self.path("rgb"), "--image-channels", "grey", "--image-size", "3x3")
        self.assertIn("features  1x3x3", p.stdout)

    def test_augmentation_oversampling_tops_up_rare_classes(self):
        out = self.path("aug.npy")
        p = run("resample", "-i", self.path("grey"), "--method", "augment:min_count=10,transforms=hflip:p=1|vflip:p=1",
                "-o", out, "--provenance", self.path("prov.npy"))
        self.assertIn("{common: 12, rare: 10, single: 10}", p.stdout)
        x = np.load(out)
        prov = np.load(self.path("prov.npy"))
        self.assertEqual(x.shape, (32, 1, 8, 8))
        self.assertTrue((prov[:15, 0] == np.arange(15)).all())
        self.assertTrue((prov[15:, 0] == -1).all())
        for i in range(15, 32):
            src = x[prov[i, 1]]
            self.assertTrue(np.array_equal(x[i], src[:, :, ::-1]) or np.array_equal(x[i], src[:, ::-1, :]))
        # An image folder out: the originals byte for byte, the copies as PNG naming their source.
        p = run("resample", "-i", self.path("grey"), "--method", "augment:min_count=10,transforms=hflip:p=1|vflip:p=1",
                "-o", self.path("out"))
        import csv
        with open(self.path("out", "rows.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 32)
        for r in rows[:15]:
            with open(r["source"], "rb") as a, open(self.path("out", r["path"]), "rb") as b:
                self.assertEqual(a.read(), b.read())
        new = [r for r in rows if r["origin"] == "-1"]
        self.assertEqual(len(new), 17)
        self.assertTrue(all(os.path.basename(r["path"]).startswith("synthetic-") and r["source"] for r in new))
        self.assertEqual(sorted(os.listdir(self.path("out", "single"))).__len__(), 10)
        pil("import numpy as np, csv\nfrom PIL import Image\n"
            "ok = True\n"
            "for r in csv.DictReader(open('out/rows.csv')):\n"
            "    if r['origin'] != '-1': continue\n"
            "    a = np.asarray(Image.open('out/' + r['path'])); s = np.asarray(Image.open(r['source']))\n"
            "    ok &= bool((a == s[:, ::-1]).all() or (a == s[::-1, :]).all())\n"
            "assert ok\n", self.d)
        p = run("resample", "-i", self.path("grey"), "--method", "augment", "-o", self.path("out"), ok=False)
        self.assertIn("exists", p.stderr)
        p = run("resample", "-i", self.path("grey"), "--method", "augment:transforms=swirl", "-o", out, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown augmentation \"swirl\"", p.stderr)


EXPORT = r"""
import torch, numpy as np
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 14 * 14, 16)
    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return torch.relu(self.fc(torch.flatten(x, 1)))
net = Net()
net.bn.running_mean.uniform_(-0.1, 0.1); net.bn.running_var.uniform_(0.5, 1.5)
net.eval()
x = torch.rand(50, 1, 28, 28)
y = (torch.arange(50) % 5 == 0).long()
np.save('x.npy', x.numpy()); np.save('y.npy', y.numpy())
torch.jit.trace(net, x[:2]).save('traced.pt')
torch.jit.script(net).save('scripted.pt')
with torch.no_grad():
    np.save('features.npy', net(x).numpy())
"""


class Transfer(cli_util.TempCase):
    def test_python_exported_backbones_give_pythons_features(self):
        pil(EXPORT, self.d)
        want = np.load(self.path("features.npy"))
        for name in ("traced.pt", "scripted.pt"):
            run("embed", "--backbone", self.path(name), "--data", self.path("x.npy"), "--label", self.path("y.npy"),
                "-o", self.path("e.npy"))
            np.testing.assert_allclose(np.load(self.path("e.npy")), want, rtol=1e-5, atol=1e-6)
        # CSV output feeds any sampler in embedding space.
        run("embed", "--backbone", self.path("traced.pt"), "--data", self.path("x.npy"), "--label", self.path("y.npy"),
            "-o", self.path("e.csv"))
        p = run("resample", "-i", self.path("e.csv"), "--label", "label", "--method", "smote", "-o", self.path("s.csv"))
        self.assertIn("{0: 40, 1: 40}", p.stdout)
        # Frozen backbone + new head, unfrozen after one epoch.
        p = run("train", "--data", self.path("x.npy"), "--label", self.path("y.npy"), "--backbone", self.path("traced.pt"),
                "--freeze", "--unfreeze-after", "1", "--epochs", "2", "--monitor", "none", "--batch-size", "10")
        self.assertIn("backbone unfrozen", p.stdout)
        p = run("embed", "--backbone", self.path("x.npy"), "--data", self.path("x.npy"), "--label", self.path("y.npy"),
                "-o", self.path("bad.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a TorchScript model", p.stderr)
        self.assertFalse(os.path.exists(self.path("bad.npy")))

    def test_pretrained_backbone_loads_in_python(self):
        pil(EXPORT, self.d)
        p = run("pretrain", "--data", self.path("x.npy"), "--label", self.path("y.npy"), "--channels", "4,8",
                "--features", "12", "--epochs", "1", "-o", self.path("ours.pt"))
        self.assertIn("wrote", p.stdout)
        run("embed", "--backbone", self.path("ours.pt"), "--data", self.path("x.npy"), "--label", self.path("y.npy"),
            "-o", self.path("ours.npy"))
        pil("import torch, numpy as np\nm = torch.jit.load('ours.pt')\n"
            "np.save('py.npy', m(torch.from_numpy(np.load('x.npy'))).detach().numpy())\n", self.d)
        np.testing.assert_allclose(np.load(self.path("ours.npy")), np.load(self.path("py.npy")), rtol=1e-5, atol=1e-6)
        self.assertEqual(np.load(self.path("ours.npy")).shape, (50, 12))

    def test_lr_find_prints_plots_and_suggests(self):
        pil(EXPORT, self.d)
        p = run("lr-find", "--data", self.path("x.npy"), "--label", self.path("y.npy"), "--model", "mlp:hidden=[32]",
                "--steps", "40", "--batch-size", "10", "--plot", self.path("lr.svg"), "-o", self.path("lr.csv"))
        self.assertIn("suggested learning rate:", p.stdout)
        with open(self.path("lr.svg")) as f:
            self.assertIn("<polyline", f.read())
        with open(self.path("lr.csv")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "lr,loss,smoothed")
        self.assertGreaterEqual(len(lines), 4)


if __name__ == "__main__":
    cli_util.main()
