#!/usr/bin/env python3
"""`rebalance auto` as a user runs it on a CSV: the leaderboard, the chosen recipe as `rebalance train`
flags, the refitted model (which `rebalance predict` applies), the leaderboard CSV, the budget,
and the errors.

Usage: test_auto.py PATH_TO_rebalance
"""
import csv
import json
import os
import tempfile
import unittest

import numpy as np

import cli_util
from cli_util import run


def write_overlapping(path, seed=0):
    """Two overlapping Gaussians, 500 "common" rows against 40 "rare", 4 features and the label."""
    rs = np.random.RandomState(seed)
    x = np.vstack([rs.normal(0, 1, (500, 4)), rs.normal(1.2, 1, (40, 4))])
    labels = ["common"] * 500 + ["rare"] * 40
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "d", "kind"])
        for row, label in zip(x, labels):
            w.writerow([f"{v:.6f}" for v in row] + [label])


class Auto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.d = cls.tmp.name
        cls.data = os.path.join(cls.d, "rows.csv")
        write_overlapping(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_leaderboard_recipe_model_and_csv(self):
        model, board = os.path.join(self.d, "auto.rbm"), os.path.join(self.d, "board.csv")
        p = run("auto", "--data", self.data, "--label", "kind", "--recipes", "nothing;class weights;tomek_links;smote:k_neighbors=5",
                "--epochs", "10", "--quiet", "-o", model, "--leaderboard", board)
        out = p.stdout
        self.assertIn("data {common: 500, rare: 40}", out)
        self.assertIn("winner: ", out)
        self.assertIn("held-out rows the search never saw", out)
        self.assertIn("recipe: rebalance train --model logreg --", out)
        self.assertIn(f"wrote {model}", out)
        with open(board, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 4)
        self.assertEqual(rows[0]["status"], "winner")
        self.assertEqual(rows[0]["folds"], "5")
        self.assertEqual({r["recipe"] for r in rows}, {"nothing", "class weights", "tomek_links", "smote:k_neighbors=5"})
        # The refitted winner is a model file `rebalance predict` applies.
        scores = os.path.join(self.d, "scores.csv")
        p = run("predict", "--model", model, "--data", self.data, "--label", "kind", "-o", scores)
        self.assertTrue(os.path.exists(scores))
        self.assertIn("rare", p.stdout)

    def test_the_budget_is_kept(self):
        # The budget decides which fits start (a running fit is not cut short): with 21 recipes x 5
        # folds of a 40-epoch MLP in 4 s, recipes are left unrun and the report says so. No wall-clock
        # bound is asserted: on a loaded machine the same run takes longer, and tests never time.
        p = run("auto", "--data", self.data, "--label", "kind", "--model", "mlp:hidden=[256,256]", "--epochs", "40",
                "--budget", "4s", env={"OMP_WAIT_POLICY": "PASSIVE"})
        self.assertIn("budget: not run", p.stdout)
        self.assertIn("the budget ran out", p.stdout)
        self.assertIn("of a 4s budget", p.stdout)

    def test_images_rungs_method_block_model_and_report(self):
        # MNIST digits 0 against 20 sixes, LeNet: the epoch rungs, the winner as a [[method]]
        # block that `rebalance run` takes, the model `rebalance predict` applies, the report.
        out_dir = os.path.join(self.d, "img")
        method, model = os.path.join(self.d, "winner.toml"), os.path.join(self.d, "img.rbm")
        p = run("auto", "--data", "mnist-digits", "--pair", "0:all,6:20", "--epochs", "3", "--batch-size", "64",
                "--no-generators", "--quiet", "--method-out", method, "-o", model, "--report", out_dir,
                env={"OMP_WAIT_POLICY": "PASSIVE"})
        self.assertIn("rungs of 1, 3 epoch(s)", p.stdout)
        self.assertIn("test acsa", p.stdout)
        self.assertIn("the winner as a [[method]]", p.stdout)
        config = os.path.join(self.d, "from_auto.toml")
        with open(method) as f, open(config, "w") as c:
            c.write('name = "from-auto"\n[data]\ndataset = "mnist-digits"\npair = ["0", "6"]\nmajority = 100\n'
                    'minority = [10]\n[train]\nmodel = "lenet"\nepochs = 1\n[run]\nseeds = [0]\n' + f.read())
        p = run("run", config, "--out", os.path.join(self.d, "run_out"), "--stop-after", "0")
        self.assertIn("1 cells", p.stdout)
        p = run("predict", "--model", model, "--data", "mnist-digits", "-o", os.path.join(self.d, "p.npy"))
        with open(os.path.join(out_dir, "results.jsonl")) as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual({r["level"] for r in rows}, {"1 epoch", "3 epochs"})
        from test_report import Page, chromium
        shot = chromium("--dump-dom", "file://" + os.path.join(out_dir, "report.html"))
        self.assertEqual(shot.returncode, 0, shot.stderr[-2000:])
        page = Page()
        page.feed(shot.stdout)
        self.assertEqual(page.text["errors"].strip(), "", "script errors in the report")
        self.assertEqual(page.svgs, page.charts, "a chart did not render")
        # Tabular options are refused for images, and image options for tabular data.
        p = run("auto", "--data", "mnist-digits", "--pair", "0:all,6:20", "--recipes", "nothing", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--leaderboard and --recipes are for tabular data", p.stderr)
        p = run("auto", "--data", self.data, "--label", "kind", "--pair", "common:10,rare:5", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("are for image data", p.stderr)

    def test_errors_are_named(self):
        p = run("auto", "--data", self.data, "--label", "kind", "--recipes", "nothing;smote", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('--recipes: unknown recipe "smote"', p.stderr)
        p = run("auto", "--data", self.data, "--label", "kind", "--budget", "soon", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('budget "soon"', p.stderr)
        p = run("auto", "--data", self.data, "--label", "colour", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("colour", p.stderr)
        p = run("auto", "--data", self.data, "--label", "kind", "--metric", "auc_pr", "--recipes", "nothing", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('metric "auc_pr"', p.stderr)
        # No output may land on an input.
        with open(self.data) as f:
            before = f.read()
        p = run("auto", "--data", self.data, "--label", "kind", "-o", self.data, ok=False)
        self.assertEqual(p.returncode, 1)
        with open(self.data) as f:
            self.assertEqual(f.read(), before)
        p = run("auto", "--data", self.data, "--label", "kind", "--model", "vgg", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown model "vgg"', p.stderr)


if __name__ == "__main__":
    cli_util.main()
