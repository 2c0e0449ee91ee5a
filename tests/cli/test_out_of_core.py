#!/usr/bin/env python3
"""Data larger than memory through the program: `resample --out-of-core` writes exactly what the
in-memory path writes (features, labels in their dtype, provenance) for every sampler that
streams, its peak memory does not grow with the input (measured peak RSS of the child process),
and what cannot stream, or cannot be read, is refused by name with exit 1.

Usage: test_out_of_core.py PATH_TO_rebalance
"""
import os
import resource
import subprocess
import sys

import numpy as np
from sklearn.datasets import load_digits

import cli_util
from cli_util import run


def digits(path, sixes=40, dtype=np.float32, label_dtype=np.int64):
    """scikit-learn's bundled digits: every 0 and 3, the first `sixes` 6s, as X.npy / y.npy."""
    x, y = load_digits(return_X_y=True)
    keep = np.flatnonzero((y == 0) | (y == 3) | ((y == 6) & (np.cumsum(y == 6) <= sixes)))
    np.save(os.path.join(path, "X.npy"), x[keep].astype(dtype))
    np.save(os.path.join(path, "y.npy"), y[keep].astype(label_dtype))
    return os.path.join(path, "X.npy"), os.path.join(path, "y.npy")


def tiled(path, name, rows):
    """`rows` rows of the digits' 64 features (tiled, 1% sixes), float32, and uint8 labels."""
    x, y = load_digits(return_X_y=True)
    major, minor = x[y == 0].astype(np.float32), x[y == 6].astype(np.float32)
    xs = np.lib.format.open_memmap(os.path.join(path, name + ".npy"), mode="w+", dtype=np.float32, shape=(rows, 64))
    ys = np.zeros(rows, dtype=np.uint8)
    step = 100_000
    for s in range(0, rows, step):
        n = min(step, rows - s)
        idx = np.arange(s, s + n)
        is_minor = idx % 100 == 7
        xs[s:s + n] = np.where(is_minor[:, None], minor[idx % len(minor)], major[idx % len(major)])
        ys[s:s + n] = np.where(is_minor, 6, 0)
    xs.flush()
    del xs
    np.save(os.path.join(path, name + "_y.npy"), ys)
    return os.path.join(path, name + ".npy"), os.path.join(path, name + "_y.npy")


MEASURE = ("import resource, subprocess, sys\n"
           "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
           "sys.stderr.write(p.stderr)\n"
           "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def peak_mib(*args):
    """Run the program in a fresh Python parent and return the child's peak resident memory (MiB)."""
    p = subprocess.run([sys.executable, "-c", MEASURE, cli_util.BIN, *args], capture_output=True, text=True,
                       timeout=600)
    rc, kib = p.stdout.split()
    assert rc == "0", p.stderr
    return int(kib) / 1024


class OutOfCore(cli_util.TempCase):
    def assertSameOutputs(self, a, b):
        for suffix in (".npy", "_labels.npy"):
            xa, xb = np.load(self.path(a + suffix)), np.load(self.path(b + suffix))
            self.assertEqual(xa.dtype, xb.dtype)
            np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(np.load(self.path(a + "_prov.npy")), np.load(self.path(b + "_prov.npy")))

    def test_every_streaming_sampler_writes_what_memory_writes(self):
        x, y = digits(self.d)
        for spec in ("random_under", "random_under:replacement=true", "random_over:shrinkage=0.4", "smote",
                     "smote:k_neighbors=3,sampling_strategy=minority", "tomek_links",
                     "tomek_links:sampling_strategy=all", "adasyn:sampling_strategy=minority",
                     "borderline_smote:kind=borderline-2", "near_miss:version=3"):
            with self.subTest(spec=spec):
                run("resample", "-m", spec, "-i", x, "--label", y, "-o", self.path("mem.npy"), "--provenance",
                    self.path("mem_prov.npy"), "--seed", "4")
                p = run("resample", "-m", spec, "-i", x, "--label", y, "-o", self.path("ooc.npy"), "--provenance",
                        self.path("ooc_prov.npy"), "--seed", "4", "--out-of-core", "--block-rows", "37")
                self.assertIn("out of core", p.stdout)
                self.assertIn("peak memory", p.stdout)
                self.assertSameOutputs("mem", "ooc")

    def test_csv_in_chunks_writes_what_memory_writes(self):
        x, y = load_digits(return_X_y=True)
        keep = np.flatnonzero((y == 0) | (y == 3) | ((y == 6) & (np.cumsum(y == 6) <= 40)))
        names = {0: "zero", 3: "three", 6: "six"}
        with open(self.path("d.csv"), "w", newline="") as f:
            f.write("id;" + ";".join(f"px{j}" for j in range(64)) + ";digit\r\n")
            for i in keep:
                f.write(f"row-{i};" + ";".join(f"{v:g}" for v in x[i] / 16) + f";{names[y[i]]}\r\n")
        common = ["-i", self.path("d.csv"), "--delimiter", ";", "--passthrough", "id", "--provenance-columns",
                  "--seed", "2"]
        for spec in ("random_under", "random_over", "smote", "tomek_links"):
            with self.subTest(spec=spec):
                run("resample", "-m", spec, *common, "-o", self.path("mem.csv"))
                run("resample", "-m", spec, *common, "-o", self.path("ooc.csv"), "--out-of-core", "--block-rows", "29")
                with open(self.path("mem.csv"), "rb") as a, open(self.path("ooc.csv"), "rb") as b:
                    self.assertEqual(a.read(), b.read())
        with open(self.path("bad.csv"), "w") as f:
            f.write("a,b,label\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(30)) + "\n2,two,1\n")
        p = run("resample", "-m", "smote", "-i", self.path("bad.csv"), "-o", self.path("o.csv"), "--out-of-core",
                "--block-rows", "4", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad.csv:33:", p.stderr)
        self.assertIn('"two"', p.stderr)
        self.assertFalse(os.path.exists(self.path("o.csv")))

    def test_labels_keep_their_dtype_and_values(self):
        x, y = digits(self.d, dtype=np.float64, label_dtype=np.int32)
        run("resample", "-m", "smote", "-i", x, "--label", y, "-o", self.path("o.npy"), "--out-of-core")
        labels = np.load(self.path("o_labels.npy"))
        self.assertEqual(labels.dtype, np.int32)
        self.assertEqual(sorted(set(labels.tolist())), [0, 3, 6])
        self.assertEqual(np.load(self.path("o.npy")).dtype, np.float64)
        np.testing.assert_array_equal(np.load(self.path("o.npy"))[:len(np.load(y))], np.load(x))

    def test_peak_memory_does_not_grow_with_the_input(self):
        small = tiled(self.d, "small", 20_000)
        big = tiled(self.d, "big", 1_500_000)  # 384 MB of features
        size_mb = os.path.getsize(big[0]) / 2**20
        for spec in ("random_under", "smote"):
            with self.subTest(spec=spec):
                args = ["resample", "-m", spec, "--out-of-core", "--block-rows", "40000", "--label"]
                p_small = peak_mib(*args, small[1], "-i", small[0], "-o", self.path("s.npy"))
                p_big = peak_mib(*args, big[1], "-i", big[0], "-o", self.path("b.npy"))
                # Blocks of 40,000 rows are 10 MB; SMOTE also holds the 15,000 minority rows (4 MB), their
                # neighbour table and its search scratch: a constant, not a share of the input.
                self.assertLess(p_big - p_small, 64, f"{spec}: {p_small:.0f} -> {p_big:.0f} MiB for {size_mb:.0f} MiB")
        # The same run in memory holds the input, for contrast.
        p_mem = peak_mib("resample", "-m", "random_under", "--label", big[1], "-i", big[0], "-o", self.path("m.npy"))
        self.assertGreater(p_mem - p_small, size_mb * 0.9)

    def test_samplers_that_cannot_stream_are_refused_with_the_reason(self):
        x, y = digits(self.d)
        p = run("resample", "-m", "enn", "-i", x, "--label", y, "-o", self.path("o.npy"), "--out-of-core", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("EditedNearestNeighbours (enn) cannot run out of core", p.stderr)
        self.assertIn("N x N", p.stderr)
        p = run("resample", "-m", "smote+tomek", "-i", x, "--label", y, "-o", self.path("o.npy"), "--out-of-core",
                ok=False)
        self.assertIn("one sampler at a time", p.stderr)
        self.assertFalse(os.path.exists(self.path("o.npy")))
        p = run("methods", "out-of-core")
        for name in ("random_under", "random_over", "smote", "tomek_links", "adasyn", "borderline_smote",
                     "near_miss"):
            self.assertIn(name, p.stdout.split("== in memory only ==")[0])
        self.assertIn("enn", p.stdout.split("== in memory only ==")[1])

    def test_bad_inputs_are_refused_by_name(self):
        x, y = digits(self.d)
        cases = [
            (["-i", x], "needs the labels"),
            (["-i", self.write("d.txt", "a,label\n1,0\n"), "--label", y], "reads a .npy features file"),
            (["-i", x, "--label", self.path("missing.npy")], "missing.npy"),
        ]
        cases.append((["-i", x, "--label", y, "--neighbors", "hnsw"], "searches neighbours exactly"))
        np.save(self.path("yf.npy"), np.load(y).astype(np.float32))
        cases.append((["-i", x, "--label", self.path("yf.npy")], "yf.npy: out-of-core labels must be integers"))
        np.save(self.path("short.npy"), np.load(y)[:10])
        cases.append((["-i", x, "--label", self.path("short.npy")], "short.npy has 10 labels"))
        np.save(self.path("xf.npy"), np.asfortranarray(np.load(x)))
        cases.append((["-i", self.path("xf.npy"), "--label", y], "Fortran-order"))
        for args, message in cases:
            with self.subTest(message=message):
                p = run("resample", "-m", "smote", *args, "-o", self.path("o.npy"), "--out-of-core", ok=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(message, p.stderr)
                self.assertFalse(os.path.exists(self.path("o.npy")))

    def test_a_full_disk_leaves_nothing_behind(self):
        x, y = digits(self.d)
        before = sorted(os.listdir(self.d))
        p = run("resample", "-m", "smote", "-i", x, "--label", y, "-o", self.path("o.npy"), "--out-of-core",
                fsize=20_000, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot write", p.stderr)
        self.assertEqual(sorted(os.listdir(self.d)), before)


if __name__ == "__main__":
    cli_util.main()
