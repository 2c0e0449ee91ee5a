#!/usr/bin/env python3
"""Writes that fail midway (a full disk, a file size limit) leave the previous output intact.

For every writer of the program: a good run produces the output, then a run whose writes fail
midway (the LD_PRELOAD shim enospc_shim.c fills the disk after N bytes, or `ulimit -f`) must exit
1 with `error: cannot write FILE: No space left on device`, leave every earlier file byte for byte
as it was and leave no temporary or other new file behind.

Usage: test_faults.py PATH_TO_rebalance [PATH_TO_libenospc_shim.so]
(the shim path may also come from $REBALANCE_ENOSPC_SHIM)
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import cli_util  # noqa: E402
from cli_util import run  # noqa: E402

SHIM = None

DATA = "synthetic:n=2000,features=6,informative=4,redundant=0,weights=[0.9,0.1],seed=3"
ENOSPC = "No space left on device"


def full_disk(substr, after_bytes, **extra):
    """Environment that makes writes to paths containing `substr` fail after `after_bytes` bytes."""
    env = {"LD_PRELOAD": SHIM, "ENOSPC_PATH_SUBSTR": substr, "ENOSPC_AFTER_BYTES": str(after_bytes)}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def snapshot(folder):
    """Every file under `folder` (relative path -> bytes)."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = fh.read()
    return out


def checkpoint_files(folder):
    """The files of `rebalance run`'s cell checkpoints under `folder`."""
    return sorted(k for k in snapshot(folder) if f"{os.sep}.checkpoints{os.sep}" in k)


class FaultCase(cli_util.TempCase):
    def assertFailedCleanly(self, p, before, name, reason=ENOSPC, shared=()):
        """Exit 1, `error: cannot write NAME: REASON`, and the folder exactly as `before`, but for
        the files in `shared`: whole files the run keeps once written, which a rerun loads (a grid's
        judge, shared between its cells; the failed cell's training checkpoint)."""
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertTrue(p.stderr.startswith("error:"), p.stderr)
        self.assertIn(f"cannot write {name}", p.stderr)
        self.assertIn(reason, p.stderr)
        after = {k: v for k, v in snapshot(self.d).items() if k not in shared}
        self.assertEqual(sorted(after), sorted(before), "files appeared or vanished")
        for k in before:
            self.assertEqual(after[k], before[k], f"{k} changed")
        self.assertFalse([k for k in after if ".tmp-" in k])


class Shim(FaultCase):
    """The shim itself: it cuts a write short at the limit, then refuses with ENOSPC."""

    def test_shim_fills_the_disk_after_n_bytes_of_matching_files_only(self):
        code = ("import os\n"
                "def w(p):\n"
                "    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n"
                "    try:\n"
                "        n = os.write(fd, b'x' * 100)\n"
                "        try: os.write(fd, b'y' * 100); print(n, 'ok')\n"
                "        except OSError as e: print(n, e.errno)\n"
                "    finally: os.close(fd)\n"
                f"w({self.path('other')!r}); w({self.path('full.bin')!r})\n")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, **full_disk("full.bin", 60)})
        self.assertEqual(p.stdout.split("\n")[:2], ["100 ok", "60 28"], p.stderr)  # 28 = ENOSPC
        self.assertEqual(os.path.getsize(self.path("full.bin")), 60)


class Resample(FaultCase):
    def good(self, out, *extra, seed=0):
        return run("resample", "-m", "smote", "-i", DATA, "-o", out, "--seed", str(seed), *extra)

    def test_csv_output_survives_a_full_disk(self):
        out = self.path("out.csv")
        self.good(out, "--provenance", self.path("prov.npy"))
        before = snapshot(self.d)
        size = len(before["out.csv"])
        p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--provenance", self.path("prov.npy"), "--seed", "1",
                env=full_disk("out.csv", size // 2), ok=False)
        self.assertFailedCleanly(p, before, out)

    def test_npy_labels_failing_leaves_the_features_as_they_were(self):
        out = self.path("out.npy")
        self.good(out, "--provenance", self.path("prov.npy"))
        before = snapshot(self.d)
        self.assertIn("out_labels.npy", before)
        # The features are written first; the labels then hit the full disk: neither may change.
        p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--provenance", self.path("prov.npy"), "--seed", "1",
                env=full_disk("out_labels.npy", 100), ok=False)
        self.assertFailedCleanly(p, before, self.path("out_labels.npy"))

    def test_npy_features_failing_midway(self):
        out = self.path("out.npy")
        self.good(out)
        before = snapshot(self.d)
        p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--seed", "1",
                env=full_disk("out.npy", len(before["out.npy"]) // 3), ok=False)
        self.assertFailedCleanly(p, before, out)

    def test_provenance_failing_leaves_output_and_labels_as_they_were(self):
        out = self.path("out.npy")
        self.good(out, "--provenance", self.path("prov.npy"))
        before = snapshot(self.d)
        p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--provenance", self.path("prov.npy"), "--seed", "1",
                env=full_disk("prov.npy", 500), ok=False)
        self.assertFailedCleanly(p, before, self.path("prov.npy"))

    def test_first_output_into_an_empty_folder_leaves_nothing(self):
        p = run("resample", "-m", "smote", "-i", DATA, "-o", self.path("out.csv"),
                env=full_disk("out.csv", 1000), ok=False)
        self.assertFailedCleanly(p, {}, self.path("out.csv"))

    def test_fsync_and_close_errors_count(self):
        out = self.path("out.csv")
        self.good(out)
        before = snapshot(self.d)
        for flag in ("ENOSPC_FAIL_FSYNC", "ENOSPC_FAIL_CLOSE"):
            with self.subTest(flag):
                env = full_disk("out.csv", -1, **{flag: 1})
                p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--seed", "1", env=env, ok=False)
                self.assertFailedCleanly(p, before, out)

    def test_file_size_limit_is_an_error_not_a_signal(self):
        # ulimit -f: past the limit write() fails with EFBIG; SIGXFSZ must not kill the program.
        out = self.path("out.csv")
        self.good(out)
        before = snapshot(self.d)
        p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--seed", "1", fsize=len(before["out.csv"]) // 2,
                ok=False)
        self.assertNotEqual(p.returncode, -25, "killed by SIGXFSZ")
        self.assertFailedCleanly(p, before, out, reason="File too large")

    def test_file_size_limit_on_npy(self):
        out = self.path("out.npy")
        self.good(out)
        before = snapshot(self.d)
        p = run("resample", "-m", "smote", "-i", DATA, "-o", out, "--seed", "1", fsize=4096, ok=False)
        self.assertFailedCleanly(p, before, out, reason="File too large")


TINY = """name = "faults"
[data]
dataset = "{data}"
test_fraction = 0.3
[train]
model = "logreg"
epochs = 1
batch_size = 128
[run]
seeds = [0]
metric = "f1_macro"
[[method]]
name = "Vanilla"
[[method]]
name = "CS"
loss = "weighted_ce:weights=ratio"
[[method]]
name = "TS"
decision = "threshold:metric=f1"
"""


class Experiment(FaultCase):
    def test_results_keep_finished_cells_and_a_rerun_completes(self):
        cfg = os.path.join(self.d, "faults.toml")
        with open(cfg, "w") as f:
            f.write(TINY.format(data=DATA))
        out = self.path("out")
        run("run", cfg, "--out", out, "--stop-after", "1")
        before = snapshot(self.d)
        first = before[os.path.join("out", "results.jsonl")]
        self.assertEqual(first.count(b"\n"), 1)
        # The second cell's rewrite of results.jsonl hits the full disk halfway through.
        p = run("run", cfg, "--out", out, env=full_disk("results.jsonl", len(first) * 3 // 2), ok=False)
        # The failed cell's training is kept, whole, in its checkpoint: the rerun continues it.
        kept = checkpoint_files(self.d)
        self.assertEqual(sorted(os.path.basename(k) for k in kept),
                         ["best-0.pt", "cell.key", "model-0.pt", "optimizer-0.pt", "state.json"])
        self.assertFailedCleanly(p, before, os.path.join(out, "results.jsonl"), shared=kept)
        p = run("run", cfg, "--out", out)
        self.assertIn("done: 2 run, 1 already in", p.stdout)
        self.assertIn("continuing the training from the checkpoint in", p.stdout)
        self.assertEqual(checkpoint_files(self.d), [])
        with open(os.path.join(out, "results.jsonl"), "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(lines[0] + b"\n", first)
        self.assertEqual(len([l for l in lines if l]), 3)


    def test_a_failed_cell_leaves_no_sample_grid(self):
        cfg = os.path.join(self.d, "grid.toml")
        with open(cfg, "w") as f:
            f.write('name = "grid"\n[data]\ndataset = "mnist-digits"\npair = ["0", "6"]\nmajority = 100\n'
                    'minority = [10]\n[train]\nmodel = "logreg"\nepochs = 1\n[run]\nseeds = [0]\n'
                    '[[method]]\nname = "Vanilla"\n[[method]]\nname = "ROS"\nsampler = "random_over"\n')
        out = self.path("out")
        run("run", cfg, "--out", out, "--stop-after", "1")
        before = snapshot(self.d)
        first = before[os.path.join("out", "results.jsonl")]
        p = run("run", cfg, "--out", out, env=full_disk("results.jsonl", len(first) * 3 // 2), ok=False)
        # No samples/*.png either. The judge of judge_recall that ROS's cell trained is whole (it is
        # renamed into place before the cell goes on) and kept: the rerun loads it, trains none. The
        # cell's training is kept whole in its checkpoint (its rows are not: ROS takes milliseconds
        # here, and only rows that took 10 s or more to make are kept).
        judges = [k for k in snapshot(self.d) if os.path.basename(k).startswith("judge-")]
        self.assertEqual(len(judges), 1, judges)
        self.assertTrue(judges[0].endswith(".model"))
        kept = checkpoint_files(self.d)
        self.assertIn("state.json", [os.path.basename(k) for k in kept])
        self.assertNotIn("sampled.rows", [os.path.basename(k) for k in kept])
        self.assertFailedCleanly(p, before, os.path.join(out, "results.jsonl"), shared=judges + kept)
        p = run("run", cfg, "--out", out)
        self.assertIn("(trained by an earlier run)", p.stdout)
        self.assertTrue(os.listdir(os.path.join(out, "samples")))
        self.assertEqual(checkpoint_files(self.d), [])


class Train(FaultCase):
    ARGS = ["train", "--data", DATA, "--model", "logreg", "--batch-size", "128"]

    def test_checkpoint_epoch_failing_leaves_the_previous_epoch(self):
        ck = self.path("ck")
        train = [*self.ARGS, "--epochs", "3", "--checkpoint", ck]
        epoch0 = ["best-0.pt", "model-0.pt", "optimizer-0.pt", "state.json"]
        # The disk fills up while epoch 2 (index 1) is saved: epoch 1's checkpoint is what remains.
        # (224 bytes of weights for this logistic regression: the disk fills after 100)
        p = run(*train, env=full_disk(ck + "/model-1.pt", 100), ok=False)
        self.assertFailedCleanly(p, snapshot(self.d), os.path.join(ck, "model-1.pt"))
        self.assertEqual(sorted(os.listdir(ck)), epoch0)
        with open(os.path.join(ck, "state.json")) as f:
            self.assertIn('"epochs_done": 1', f.read())
        before = snapshot(self.d)
        # Resumed, a file of the next epoch failing in turn; state.json is written after the .pt
        # files, which must then not stay behind either.
        for name, n in (("optimizer-1.pt", 100), ("state.json", 10)):
            with self.subTest(name):
                p = run(*train, "--resume", env=full_disk(ck + "/" + name, n), ok=False)
                self.assertFailedCleanly(p, before, os.path.join(ck, name))
        p = run(*train, "--resume")
        self.assertIn(f"resuming {ck} after epoch 1", p.stdout)
        left = sorted(os.listdir(ck))
        self.assertEqual(len(left), 4, left)
        self.assertIn("model-2.pt", left)
        self.assertFalse([f for f in left if ".tmp-" in f])

    def test_model_file_survives_a_full_disk(self):
        model = self.path("m.rbm")
        run(*self.ARGS, "--epochs", "1", "-o", model, "--summary", self.path("s.json"))
        before = snapshot(self.d)
        p = run(*self.ARGS, "--epochs", "2", "-o", model, "--summary", self.path("s.json"),
                env=full_disk("m.rbm", len(before["m.rbm"]) // 2), ok=False)
        self.assertFailedCleanly(p, before, model)
        # The summary comes after the model: its failure must not leave a new model beside an old summary.
        p = run(*self.ARGS, "--epochs", "2", "-o", model, "--summary", self.path("s.json"),
                env=full_disk("s.json", 100), ok=False)
        self.assertFailedCleanly(p, before, self.path("s.json"))


    def test_predict_labels_failing_leaves_the_scores_as_they_were(self):
        model = self.path("m.rbm")
        run(*self.ARGS, "--epochs", "1", "-o", model)
        scores = self.path("p.npy")
        run("predict", "--model", model, "--data", DATA, "-o", scores)
        before = snapshot(self.d)
        p = run("predict", "--model", model, "--data", DATA.replace("seed=3", "seed=4"), "-o", scores,
                env=full_disk("p_labels.npy", 100), ok=False)
        self.assertFailedCleanly(p, before, self.path("p_labels.npy"))


class Generate(FaultCase):
    ARGS = ["generate", "-m", "vae:epochs=2,latent=2,hidden=[8]", "-i", DATA, "-n", "300"]

    def test_every_generate_output_survives_a_full_disk(self):
        out, gen, summary = self.path("g.npy"), self.path("g.gen"), self.path("g.json")
        run(*self.ARGS, "-o", out, "--save-model", gen, "--summary", summary)
        before = snapshot(self.d)
        for name, path in (("g.gen", gen), ("g.json", summary), ("g.npy", out)):
            with self.subTest(name):
                p = run(*self.ARGS, "--seed", "1", "-o", out, "--save-model", gen, "--summary", summary,
                        env=full_disk(name, len(before[name]) // 2), ok=False)
                self.assertFailedCleanly(p, before, path)

    def test_csv_output(self):
        out = self.path("g.csv")
        run(*self.ARGS, "-o", out)
        before = snapshot(self.d)
        p = run(*self.ARGS, "--seed", "1", "-o", out, env=full_disk("g.csv", len(before["g.csv"]) // 2), ok=False)
        self.assertFailedCleanly(p, before, out)


def take_shim():
    global SHIM
    SHIM = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.environ.get("REBALANCE_ENOSPC_SHIM")
    if not SHIM or not os.path.exists(SHIM):
        sys.exit(f"the ENOSPC shim is missing ({SHIM}): pass it as the second argument or in $REBALANCE_ENOSPC_SHIM")


if __name__ == "__main__":
    cli_util.main(take_shim)
