#!/usr/bin/env python3
"""Nothing a user gives is lost, and no input crashes the program or runs code (issue 26, parts 1b,
3 and 4): outputs refused before any work when they would land on an input or on each other or
cannot be written; class labels as folder names one to one; the default monitor fits the
validation split it meets; nested keys and specs bounded; model, generator and checkpoint files
read as data; streams read whole. On real data: scikit-learn's breast-cancer set and Fashion-MNIST.

Usage: test_safety.py PATH_TO_rebalance
"""
import gzip
import json
import os
import struct
import subprocess
import threading
import time
import urllib.parse

import numpy as np
from sklearn.datasets import load_breast_cancer

import cli_util
from cli_util import run

FASHION = "/usr/share/datasets/fashion-mnist"


def fashion_test():
    """Fashion-MNIST's test images [10000, 28, 28] uint8 and labels."""
    with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y


def write_png(path, img):
    """A greyscale PNG written with zlib alone (no Pillow needed by the test)."""
    import zlib
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def cancer_csv(path):
    """Breast cancer as a screening CSV: 30 features and a named label column."""
    data = load_breast_cancer()
    names = ["malignant", "benign"]
    with open(path, "w") as f:
        f.write(",".join(n.replace(" ", "_") for n in data.feature_names) + ",diagnosis\n")
        for row, t in zip(data.data, data.target):
            f.write(",".join(repr(float(v)) for v in row) + f",{names[t]}\n")
    return path


def slurp(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def dump_json(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)


def folder_label(name):
    """The label a folder name written by rebalance stands for (label_folder's inverse)."""
    return "" if name == "%" else urllib.parse.unquote(name, errors="strict")


class OutputsNeverLandOnInputs(cli_util.TempCase):
    def setUp(self):
        super().setUp()
        self.csv = cancer_csv(self.path("in.csv"))
        with open(self.csv, "rb") as f:
            self.original = f.read()

    def refused(self, *args, says):
        p = run(*args, ok=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        for s in says:
            self.assertIn(s, p.stderr)
        with open(self.csv, "rb") as f:
            self.assertEqual(f.read(), self.original, "the input changed")
        return p

    def test_output_on_the_input_is_refused_by_identity_not_spelling(self):
        os.mkdir(self.path("sub"))
        os.symlink(self.csv, self.path("link.csv"))
        for out in (self.csv, self.path("sub", "..", "in.csv"), self.path("link.csv")):
            p = self.refused("resample", "-m", "smote", "-i", self.csv, "--label", "diagnosis", "-o", out,
                             says=["is the input --input", "never writes over what it reads"])
            self.assertNotIn("smote:", p.stdout)  # refused before any work
        # relative spellings, from the input's folder
        p = run("resample", "-m", "smote", "-i", "in.csv", "--label", "diagnosis", "-o", "./sub/../in.csv",
                ok=False, cwd=self.d)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is the input --input in.csv", p.stderr)

    def test_train_outputs_on_the_data_are_refused_before_training(self):
        for flag in ("-o", "--summary"):
            p = self.refused("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "1",
                             flag, self.csv, says=[f"{'--output' if flag == '-o' else '--summary'} {self.csv} is the "
                                                   f"input --data {self.csv}"])
            self.assertNotIn("epoch", p.stdout)

    def test_outputs_colliding_with_each_other_or_implicit_label_files(self):
        p = run("resample", "-m", "random_under", "-i", self.csv, "--label", "diagnosis", "-o", self.path("out.npy"),
                "--provenance", self.path("out.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("are the same file", p.stderr)
        self.assertFalse(os.path.exists(self.path("out.npy")))
        # -o Y.npy writes its labels to Y_labels.npy, which is this run's label input
        x = np.loadtxt(self.csv, delimiter=",", skiprows=1, usecols=range(30))
        np.save(self.path("X.npy"), np.ascontiguousarray(x))
        y = np.array([line.rsplit(",", 1)[1].strip() for line in slurp(self.csv, "r").splitlines()[1:]])
        np.save(self.path("Y_labels.npy"), (y == "malignant").astype(np.int64))
        before = slurp(self.path("Y_labels.npy"))
        p = run("resample", "-m", "random_under", "-i", self.path("X.npy"), "--label", self.path("Y_labels.npy"),
                "-o", self.path("Y.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"--output's labels {self.path('Y_labels.npy')} is the input --label", p.stderr)
        self.assertEqual(slurp(self.path("Y_labels.npy")), before)

    def test_unwritable_outputs_fail_before_the_work(self):
        p = run("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "1", "-o",
                self.path("missing", "m.rbm"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"the folder {self.path('missing')} does not exist", p.stderr)
        self.assertNotIn("epoch", p.stdout)
        os.mkdir(self.path("adir"))
        p = run("resample", "-m", "smote", "-i", self.csv, "--label", "diagnosis", "-o", self.path("adir"),
                "--provenance", self.path("adir"), ok=False)
        self.assertEqual(p.returncode, 1)
        p = run("predict", "--model", self.path("nothing.rbm"), "--data", self.csv, "-o", self.path("adir"),
                ok=False)
        self.assertEqual(p.returncode, 1)

    def test_predict_never_writes_over_its_model(self):
        run("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "2", "-o",
            self.path("m.rbm"))
        before = slurp(self.path("m.rbm"))
        p = run("predict", "--model", self.path("m.rbm"), "--data", self.csv, "--label", "diagnosis", "-o",
                self.path("m.rbm"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is the input --model", p.stderr)
        self.assertEqual(slurp(self.path("m.rbm")), before)


class LabelsAsFolders(cli_util.TempCase):
    LABELS = ["..", ".", "a/b", "a-b", "a:b", "50%", "Café"]

    def test_every_label_gets_its_own_folder_inside_the_output_reversibly(self):
        x, y = fashion_test()
        rows = ["path,label"]
        os.mkdir(self.path("img"))
        for k, label in enumerate(self.LABELS):
            for i in np.flatnonzero(y == k)[: 3 + k]:
                name = f"img/{k}_{i}.png"
                write_png(self.path(name), x[i])
                rows.append(f"{name},\"{label}\"")
        self.write("images.csv", "\n".join(rows) + "\n")
        out = self.path("out", "balanced")
        os.mkdir(self.path("out"))
        run("resample", "-m", "random_over", "-i", self.path("images.csv"), "-o", out)
        self.assertEqual(sorted(os.listdir(self.path("out"))), ["balanced"])  # nothing beside the output
        folders = sorted(e for e in os.listdir(out) if os.path.isdir(os.path.join(out, e)))
        self.assertEqual(len(folders), len(self.LABELS))
        self.assertEqual(sorted(folder_label(f) for f in folders), sorted(self.LABELS))
        for f in folders:
            self.assertNotIn(f, (".", ".."))
            self.assertEqual(len(os.listdir(os.path.join(out, f))), 3 + len(self.LABELS) - 1)
        with open(os.path.join(out, "rows.csv")) as f:
            import csv
            table = list(csv.DictReader(f))
        for r in table:  # rows.csv: the label exactly, and a path in that label's folder
            self.assertEqual(folder_label(r["path"].split("/")[0]), r["label"])
            self.assertTrue(os.path.isfile(os.path.join(out, r["path"])))


class MonitorFitsTheData(cli_util.TempCase):
    def test_long_tailed_folder_trains_with_the_defaults(self):
        x, y = fashion_test()
        for k, n in enumerate((200, 50, 10, 3, 1)):
            os.makedirs(self.path("whales", f"class{k}"))
            for i in np.flatnonzero(y == k)[:n]:
                write_png(self.path("whales", f"class{k}", f"{i}.png"), x[i])
        p = run("train", "--data", self.path("whales"), "--model", "lenet", "--sampler", "augment:min_count=10",
                "--epochs", "2", "--summary", self.path("s.json"))
        lines = [line for line in p.stdout.splitlines() if line.startswith("monitor auto")]
        self.assertEqual(len(lines), 1, p.stdout)
        self.assertIn("keeping the final weights", lines[0])
        s = json.loads(slurp(self.path("s.json"), "r"))
        self.assertEqual(s["monitor"], "none")
        self.assertEqual(s["best_epoch"], 1)  # the final epoch (0-based)

    def test_a_single_validation_row_does_not_pick_the_epoch(self):
        p = run("train", "--data", "fashion-mnist", "--pair", "Sneaker:1000,Sandal:12", "--model", "logreg",
                "--epochs", "3", "--summary", self.path("s.json"))
        self.assertIn("monitor auto: keeping the final weights, since the validation set holds", p.stdout)
        self.assertIn('of class "Sandal"', p.stdout)
        s = json.loads(slurp(self.path("s.json"), "r"))
        self.assertEqual((s["monitor"], s["best_epoch"]), ("none", 2))
        # enough rows of every class: auto is macro F1, as before
        p = run("train", "--data", "fashion-mnist", "--pair", "Sneaker:1000,Sandal:200", "--model", "logreg",
                "--epochs", "2", "--summary", self.path("t.json"))
        self.assertNotIn("monitor auto", p.stdout)
        self.assertEqual(json.loads(slurp(self.path("t.json"), "r"))["monitor"], "f1_macro")
        # an explicit monitor is the user's choice: it warns and picks the epoch
        p = run("train", "--data", "fashion-mnist", "--pair", "Sneaker:1000,Sandal:12", "--model", "logreg",
                "--epochs", "2", "--monitor", "f1_macro")
        self.assertIn("warning: the validation set holds", p.stdout)


class BoundedInput(cli_util.TempCase):
    def test_deep_toml_keys_and_headers_are_refused(self):
        for text in ("a" + ".a" * 100000 + " = 1\n", "[" + ".".join(["t"] * 100000) + "]\nx = 1\n",
                     "[data]\n" + "x" + ".y" * 40 + " = 1\n"):
            cfg = self.write("deep.toml", 'name = "deep"\n' + text)
            p = run("run", cfg, "--out", self.path("res"), ok=False)
            self.assertEqual(p.returncode, 1, p.stderr[-300:])
            self.assertIn("keys nested more than 32 deep", p.stderr)
            self.assertIn("deep.toml:", p.stderr)

    def test_deep_specs_are_refused_in_bounded_memory(self):
        csv = cancer_csv(self.path("in.csv"))
        spec = "smote:sampling_strategy=" + "[" * 5000 + "]" * 5000
        p = run("resample", "-m", spec, "-i", csv, "--label", "diagnosis", "-o", self.path("o.csv"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("brackets nested more than 32 deep", p.stderr)
        p = run("resample", "-m", "+".join(["tomek_links"] * 2000) + ":x=" + "{" * 40 + "}" * 40, "-i", csv,
                "--label", "diagnosis", "-o", self.path("o.csv"), ok=False)
        self.assertEqual(p.returncode, 1)

    def test_exponents_are_numbers_not_compositions(self):
        csv = cancer_csv(self.path("in.csv"))
        run("resample", "-m", "random_over:shrinkage=1e+2", "-i", csv, "--label", "diagnosis", "-o",
            self.path("o.csv"))
        p = run("resample", "-m", "random_over:shrinkage=1e+2+tomek_links", "-i", csv, "--label", "diagnosis", "-o",
                self.path("o2.csv"))
        self.assertIn("tomek_links", p.stdout)

    def test_at_least_needs_a_positive_count(self):
        csv = cancer_csv(self.path("in.csv"))
        for bad in ("at_least:-1", "at_least:0", "at-least:-5"):
            p = run("resample", "-m", f"random_over:sampling_strategy={bad}", "-i", csv, "--label", "diagnosis",
                    "-o", self.path("o.csv"), ok=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("at_least:N needs a whole number N >= 1", p.stderr)

    def test_a_strategy_past_memory_names_the_class_and_count(self):
        csv = cancer_csv(self.path("in.csv"))
        p = run("resample", "-m", "random_over:sampling_strategy={malignant:1000000000000}", "-i", csv, "--label",
                "diagnosis", "-o", self.path("o.csv"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('new rows of class "malignant"', p.stderr)
        self.assertIn("of memory", p.stderr)


class Streams(cli_util.TempCase):
    def test_stdin_and_fifos_read_whole(self):
        csv = cancer_csv(self.path("in.csv"))
        run("resample", "-m", "smote", "-i", csv, "--label", "diagnosis", "-o", self.path("file.csv"))
        with open(csv) as f:
            p = subprocess.run([cli_util.BIN, "resample", "-m", "smote", "-i", "/dev/stdin", "--label", "diagnosis",
                                "-o", self.path("stdin.csv")], stdin=f, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(slurp(self.path("stdin.csv"), "r"), slurp(self.path("file.csv"), "r"))
        fifo = self.path("pipe.csv")
        os.mkfifo(fifo)

        def feed():
            with open(fifo, "w") as w, open(csv) as r:
                w.write(r.read())
        t = threading.Thread(target=feed)
        t.start()
        run("resample", "-m", "smote", "-i", fifo, "--label", "diagnosis", "-o", self.path("fifo.csv"))
        t.join(timeout=60)
        self.assertEqual(slurp(self.path("fifo.csv"), "r"), slurp(self.path("file.csv"), "r"))


class FilesAreData(cli_util.TempCase):
    def setUp(self):
        super().setUp()
        self.csv = cancer_csv(self.path("in.csv"))

    def test_model_files_hold_no_code_and_a_lying_header_is_refused(self):
        run("train", "--data", self.csv, "--label", "diagnosis", "--model", "mlp:hidden=[16]", "--epochs", "2",
            "-o", self.path("m.rbm"))
        blob = slurp(self.path("m.rbm"))
        self.assertNotIn(b"PK\x03\x04", blob)  # no zip (torch archive) inside
        self.assertIn(b"REBALANCE-TENSORS 1\n", blob)
        run("predict", "--model", self.path("m.rbm"), "--data", self.csv, "--label", "diagnosis", "-o",
            self.path("p.npy"))
        magic, rest = blob.split(b"\n", 1)
        length, rest = rest.split(b"\n", 1)
        header = json.loads(rest[: int(length)])
        payload = rest[int(length):]

        def crafted(name, h, body=payload):
            text = json.dumps(h).encode()
            with open(self.path(name), "wb") as f:
                f.write(magic + b"\n" + str(len(text)).encode() + b"\n" + text + body)
            return self.path(name)
        cases = {
            "classes": dict(header, class_names=["a", "b", "c", "d"]),
            "spec": dict(header, spec="mlp:hidden=[32]"),
            "shape": dict(header, input_shape=[31]),
            "state": dict(header, decision="prior", decision_state=[0.0]),
            "types": dict(header, class_names="ab"),
            "huge": dict(header, input_shape=[1 << 40]),
        }
        for name, h in cases.items():
            p = run("predict", "--model", crafted(name + ".rbm", h), "--data", self.csv, "--label", "diagnosis",
                    "-o", self.path(f"{name}.npy"), ok=False)
            self.assertEqual(p.returncode, 1, name + p.stderr)
            self.assertIn(self.path(name + ".rbm"), p.stderr)
        for cut in (10, len(payload) // 2, len(payload) - 1):
            p = run("predict", "--model", crafted("cut.rbm", header, payload[:cut]), "--data", self.csv, "--label",
                    "diagnosis", "-o", self.path("cut.npy"), ok=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("cut.rbm", p.stderr)

    def test_torch_archives_are_not_loaded_unless_trusted(self):
        # A model file of the old layout: rebalance's header, then a TorchScript archive (which
        # runs its code when loaded). Refused without --trust-legacy-files, naming the file.
        run("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "1", "-o",
            self.path("m.rbm"))
        blob = slurp(self.path("m.rbm"))
        magic, rest = blob.split(b"\n", 1)
        length, rest = rest.split(b"\n", 1)
        header = rest[: int(length)]
        script = ("import torch\n"
                  "class M(torch.nn.Module):\n"
                  "    def __init__(self):\n"
                  "        super().__init__()\n"
                  "        self.w = torch.nn.Parameter(torch.zeros(2))\n"
                  "    def forward(self, x):\n"
                  "        return x\n"
                  f"torch.jit.script(M()).save({self.path('ts.pt')!r})\n")
        with open(self.path("make_ts.py"), "w") as f:  # torch.jit.script reads the class's source file
            f.write(script)
        subprocess.run(["/usr/bin/python3", self.path("make_ts.py")], check=True, timeout=120)
        with open(self.path("old.rbm"), "wb") as f:
            f.write(magic + b"\n" + length + b"\n" + header + slurp(self.path("ts.pt")))
        p = run("predict", "--model", self.path("old.rbm"), "--data", self.csv, "--label", "diagnosis", "-o",
                self.path("p.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{self.path('old.rbm')} holds a torch archive", p.stderr)
        self.assertIn("--trust-legacy-files", p.stderr)
        self.assertFalse(os.path.exists(self.path("p.npy")))

    def test_checkpoint_state_cannot_point_outside_its_folder(self):
        ck = self.path("ck")
        run("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "2",
            "--checkpoint", ck)
        state = json.loads(slurp(os.path.join(ck, "state.json"), "r"))
        for bad in ("../in.csv", "/etc/passwd", ".."):
            dump_json(dict(state, model=bad), os.path.join(ck, "state.json"))
            p = run("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "2",
                    "--checkpoint", ck, "--resume", ok=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("not a file inside the checkpoint folder", p.stderr)
        dump_json(state, os.path.join(ck, "state.json"))
        with open(os.path.join(ck, state["model"]), "r+b") as f:  # a truncated checkpoint
            f.truncate(100)
        p = run("train", "--data", self.csv, "--label", "diagnosis", "--model", "logreg", "--epochs", "2",
                "--checkpoint", ck, "--resume", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(state["model"], p.stderr)

    def test_generators_round_trip_as_data(self):
        x, y = fashion_test()
        keep = np.concatenate([np.flatnonzero(y == 0)[:300], np.flatnonzero(y == 6)[:40]])
        np.save(self.path("x.npy"), (x[keep].reshape(len(keep), 1, 28, 28) / 255.0).astype(np.float32))
        np.save(self.path("y.npy"), y[keep].astype(np.int64))
        run("generate", "-m", "vae:epochs=1,min_steps=5", "-i", self.path("x.npy"), "--label", self.path("y.npy"),
            "-n", "8", "-o", self.path("a.npy"), "--save-model", self.path("g.bin"), "--seed", "3")
        blob = slurp(self.path("g.bin"))
        self.assertNotIn(b"PK\x03\x04", blob)
        run("generate", "--load-model", self.path("g.bin"), "-n", "8", "-o", self.path("b.npy"), "--seed", "3")
        self.assertEqual(np.load(self.path("b.npy")).shape, (8, 1, 28, 28))
        with open(self.path("g.bin"), "r+b") as f:
            f.truncate(len(blob) - 7)
        p = run("generate", "--load-model", self.path("g.bin"), "-n", "8", "-o", self.path("c.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("g.bin", p.stderr)


if __name__ == "__main__":
    cli_util.main()
