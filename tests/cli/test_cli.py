#!/usr/bin/env python3
"""The rebalance program as a user runs it: exit codes, messages, files written.

Usage: test_cli.py PATH_TO_rebalance
"""
import json
import os
import tempfile
import unittest

import numpy as np

import cli_util
from cli_util import TempCase, run


class Usage(unittest.TestCase):
    def test_help_lists_commands(self):
        p = run("--help")
        for cmd in ("version", "datasets", "evaluate", "demo"):
            self.assertIn(cmd, p.stdout)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run(ok=False).returncode, 2)
        p = run("datasets", "show", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("name is required", p.stderr)
        p = run("evaluate", "--true", "a.npy", "--format", "xml", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("xml", p.stderr)
        self.assertEqual(run("version", "--bogus", ok=False).returncode, 2)


class Version(unittest.TestCase):
    def test_prints_versions_threads_and_blas(self):
        p = run("version")
        self.assertIn("libtorch  1.", p.stdout)
        self.assertIn(f"threads   {os.cpu_count()} of {os.cpu_count()}", p.stdout)
        self.assertIn("blas      openblas", p.stdout)
        self.assertNotIn("WARNING", p.stderr)

    def test_warns_loudly_on_reference_blas(self):
        ref = "/usr/lib/x86_64-linux-gnu/blas"
        if not os.path.exists(os.path.join(ref, "libblas.so.3")):
            self.fail("reference BLAS not installed; scripts/setup installs libopenblas which pulls it in")
        p = run("version", env={"LD_LIBRARY_PATH": ref})
        self.assertIn("blas      reference", p.stdout)
        self.assertIn("WARNING: libtorch is running on the reference BLAS", p.stderr)


class Datasets(unittest.TestCase):
    def test_list_names_sizes_and_counts(self):
        p = run("datasets", "list")
        self.assertIn("fashion-mnist", p.stdout)
        self.assertIn("60000 rows", p.stdout)
        self.assertIn("mnist-digits", p.stdout)
        self.assertIn("10000 rows", p.stdout)
        self.assertIn("synthetic", p.stdout)
        self.assertIn("weights", p.stdout)

    def test_show_builtin(self):
        p = run("datasets", "show", "fashion-mnist:split=test")
        self.assertIn("rows      10000", p.stdout)
        self.assertIn("Shirt", p.stdout)
        p = run("datasets", "show", "synthetic:n=1000,weights=[0.99,0.01]")
        self.assertIn("imbalance ratio (max/min) 99.00", p.stdout)

    def test_unknown_dataset_exit_1(self):
        p = run("datasets", "show", "imagenet", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("error: unknown data set \"imagenet\""), p.stderr)

    def test_csv_file_and_its_errors(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good.csv")
            with open(good, "w") as f:
                f.write("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
            p = run("datasets", "show", good, "--label", "label")
            self.assertIn("rows      3", p.stdout)
            bad = os.path.join(d, "bad.csv")
            with open(bad, "w") as f:
                f.write("a,b,label\n1,2,x\n3,oops,y\n5,6,x\n7,8,y\n")
            p = run("datasets", "show", bad, ok=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("bad.csv:3: column 2 (\"b\"): cannot parse \"oops\"", p.stderr)
            p = run("datasets", "show", good, "--label", "target", ok=False)
            self.assertIn("no label column \"target\"", p.stderr)
            p = run("datasets", "show", os.path.join(d, "missing.csv"), ok=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("missing.csv", p.stderr)

    def test_npy_features_with_labels(self):
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "x.npy"), np.random.rand(20, 3).astype(np.float32))
            np.save(os.path.join(d, "y.npy"), np.array([0] * 15 + [1] * 5, dtype=np.int64))
            p = run("datasets", "show", os.path.join(d, "x.npy"), "--label", os.path.join(d, "y.npy"))
            self.assertIn("rows      20", p.stdout)
            np.save(os.path.join(d, "c.npy"), np.zeros(3, dtype=np.complex64))
            p = run("datasets", "show", os.path.join(d, "c.npy"), "--label", os.path.join(d, "y.npy"), ok=False)
            self.assertIn("unsupported .npy dtype", p.stderr)


class Evaluate(TempCase):
    def test_text_files_with_class_names(self):
        with open(self.path("t.txt"), "w") as f:
            f.write("label\ncat\ndog\ndog\ncat\n")
        with open(self.path("p.txt"), "w") as f:
            f.write("cat\ndog\ncat\ncat\n")
        p = run("evaluate", "--true", self.path("t.txt"), "--pred", self.path("p.txt"), "--class-names", "cat,dog")
        self.assertIn("avg / total", p.stdout)
        self.assertIn("misclassified         1 of 4", p.stdout)

    def test_json_and_atomic_output(self):
        np.save(self.path("t.npy"), np.array([0, 1, 1, 0, 2], dtype=np.int64))
        np.save(self.path("s.npy"), np.eye(3)[[0, 1, 0, 0, 2]].astype(np.float64))
        out = self.path("report.json")
        run("evaluate", "--true", self.path("t.npy"), "--scores", self.path("s.npy"), "--format", "json", "-o", out)
        with open(out) as f:
            r = json.load(f)
        self.assertEqual(r["misclassified"], 1)
        self.assertEqual(r["confusion_matrix"], [[2, 0, 0], [1, 1, 0], [0, 0, 1]])
        self.assertEqual(sorted(os.listdir(self.d)), ["report.json", "s.npy", "t.npy"])

    def test_bad_input_exit_1_with_message(self):
        np.save(self.path("t.npy"), np.array([0, 1, 1], dtype=np.int64))
        np.save(self.path("p.npy"), np.array([0, 1], dtype=np.int64))
        p = run("evaluate", "--true", self.path("t.npy"), "--pred", self.path("p.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith("error: "), p.stderr)
        np.save(self.path("p3.npy"), np.array([0, 1, 7], dtype=np.int64))
        p = run("evaluate", "--true", self.path("t.npy"), "--pred", self.path("p3.npy"), "--classes", "2", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("7", p.stderr)
        with open(self.path("bad.txt"), "w") as f:
            f.write("0\n1\nseven\n")
        p = run("evaluate", "--true", self.path("bad.txt"), "--pred", self.path("p3.npy"), ok=False)
        self.assertIn("bad.txt:3: cannot parse \"seven\"", p.stderr)
        p = run("evaluate", "--true", self.path("nope.npy"), "--pred", self.path("p3.npy"), ok=False)
        self.assertIn("nope.npy: no such file", p.stderr)
        out = self.path("never.json")
        run("evaluate", "--true", self.path("t.npy"), "--pred", self.path("p.npy"), "-o", out, ok=False)
        self.assertFalse(os.path.exists(out))


class Resample(TempCase):
    def test_methods_lists_every_sampler_with_parameters(self):
        p = run("methods")
        for name in ("smote", "borderline_smote", "adasyn", "tomek_links", "enn", "near_miss", "smote_tomek"):
            self.assertIn(name, p.stdout)
        self.assertIn("k_neighbors", p.stdout)
        self.assertIn("sampling_strategy", p.stdout)

    def test_builtin_to_npy_with_provenance(self):
        out, prov = self.path("o.npy"), self.path("prov.npy")
        p = run("resample", "--method", "smote", "--input", "synthetic:n=1000,weights=[0.9,0.1],seed=1",
                "--output", out, "--provenance", prov, "--seed", "3")
        self.assertIn("{0: 900, 1: 100}", p.stdout)
        self.assertIn("{0: 900, 1: 900} (800 synthetic)", p.stdout)
        x, y, pv = np.load(out), np.load(self.path("o_labels.npy")), np.load(prov)
        self.assertEqual(x.shape, (1800, 20))
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(np.bincount(y).tolist(), [900, 900])
        self.assertEqual(pv.shape, (1800, 3))
        self.assertTrue((pv[:1000, 0] == np.arange(1000)).all())
        self.assertTrue((pv[1000:, 0] == -1).all() and (pv[1000:, 1] >= 0).all())
        again = self.path("again.npy")
        run("resample", "--method", "smote", "--input", "synthetic:n=1000,weights=[0.9,0.1],seed=1",
            "--output", again, "--seed", "3")
        self.assertTrue(np.array_equal(np.load(again), x), "same seed, same bytes")

    def test_csv_in_csv_out_and_composition(self):
        src = self.path("in.csv")
        rng = np.random.default_rng(0)
        with open(src, "w") as f:
            f.write("f1,f2,kind\n")
            for i in range(60):
                f.write(f"{rng.normal():.5f},{rng.normal() + (i < 10) * 2:.5f},{'rare' if i < 10 else 'common'}\n")
        out = self.path("out.csv")
        p = run("resample", "--method", "smote+tomek", "--input", src, "--label", "kind", "--output", out)
        self.assertIn("{common: 50, rare: 10}", p.stdout)
        with open(out) as f:
            header = f.readline().strip()
            rows = f.readlines()
        self.assertEqual(header, "f1,f2,kind")  # the input's header, label under its own name
        self.assertLessEqual(len(rows), 100)
        self.assertGreater(sum(r.strip().endswith("rare") for r in rows), 40)

    def test_errors_exit_1(self):
        base = ["resample", "--input", "synthetic:n=100,weights=[0.95,0.05]", "--output", self.path("o.npy")]
        p = run(*base, "--method", "smoote", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown sampler \"smoote\"", p.stderr)
        p = run(*base, "--method", "smote:k_neighbors=10", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("k_neighbors", p.stderr)
        self.assertIn("5", p.stderr)
        p = run("resample", "--method", "smote", "--input", "synthetic", "--output", self.path("o.txt"), ok=False)
        self.assertIn("expected a .csv, .tsv or .npy", p.stderr)
        p = run(*base, "--method", "smote:sampling_strategy={0:10}", ok=False)
        self.assertIn("greater or equal", p.stderr)
        self.assertFalse(os.path.exists(self.path("o.npy")))


class Train(TempCase):
    def test_train_predict_and_summary(self):
        model, summary = self.path("m.rbm"), self.path("s.json")
        p = run("train", "--data", "mnist-digits", "--pair", "0:all,6:20", "--model", "logreg", "--epochs", "3",
                "--loss", "weighted_ce:weights=ratio", "--decision", "threshold:metric=f1", "--seed", "1",
                "-o", model, "--summary", summary)
        self.assertIn("train {0: 721, 6: 18}", p.stdout)
        self.assertIn("epoch 3/3", p.stdout)
        self.assertIn("== test ==", p.stdout)
        with open(summary) as f:
            s = json.load(f)
        self.assertEqual(len(s["history"]), 3)
        self.assertEqual(s["options"]["loss"], "weighted_ce:weights=ratio")
        self.assertEqual(len(s["decision_state"]), 1)
        self.assertGreater(s["test"]["per_class"]["6"]["recall"], 0.5)
        x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
        np.save(self.path("x.npy"), x)
        np.save(self.path("y.npy"), np.array([0, 1, 0, 1, 1], np.int64))
        out = self.path("scores.npy")
        p = run("predict", "--model", model, "--data", self.path("x.npy"), "--label", self.path("y.npy"), "-o", out)
        scores = np.load(out)
        self.assertEqual(scores.shape, (5, 2))
        self.assertTrue(np.allclose(scores.sum(1), 1.0, atol=1e-5))
        self.assertEqual(np.load(self.path("scores_labels.npy")).shape, (5,))

    def test_resume_and_errors(self):
        ck = self.path("ck")
        base = ["train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--model", "logreg", "--epochs", "2",
                "--checkpoint", ck]
        run(*base)
        p = run(*base, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already holds a checkpoint", p.stderr)
        p = run(*base, "--resume", "--lr", "0.5", ok=False)
        self.assertIn("cannot resume", p.stderr)
        p = run(*base, "--resume")
        self.assertIn("resuming", p.stdout)
        for flag, value, msg in [("--model", "vgg", "unknown model"), ("--loss", "cb:beta=1.5", "beta"),
                                 ("--batch-policy", "random", "unknown batch policy"),
                                 ("--pair", "0:all,ten:5", "no class named \"ten\"")]:
            pair = [] if flag == "--pair" else ["--pair", "0:100,6:10"]
            p = run("train", "--data", "mnist-digits", *pair, "--epochs", "1", flag, value, ok=False)
            self.assertEqual(p.returncode, 1, flag)
            self.assertIn(msg, p.stderr)
        self.assertEqual(run("train", "--epochs", "0", ok=False).returncode, 2)

    def test_synthetic_weight(self):
        # The sampler's rows count half a real row's loss; recorded in the summary's options.
        summary = self.path("s.json")
        p = run("train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--model", "logreg", "--epochs", "2",
                "--sampler", "random_over", "--synthetic-weight", "0.5", "--summary", summary)
        self.assertIn("after random_over: {0: 180, 6: 180}", p.stdout)
        with open(summary) as f:
            self.assertEqual(json.load(f)["options"]["synthetic_weight"], 0.5)
        p = run("train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--epochs", "1", "--synthetic-weight",
                "-1", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--synthetic-weight", p.stderr)

    def test_loss_counts(self):
        # Balanced softmax after random oversampling: on the grown counts it is plain cross-entropy
        # (the note says so); --loss-counts real gives it the real rows' counts instead.
        summary = self.path("lc.json")
        base = ["train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--model", "logreg", "--epochs", "1",
                "--sampler", "random_over", "--loss", "balanced_softmax"]
        p = run(*base)
        self.assertIn("note: loss", p.stderr + p.stdout)
        p = run(*base, "--loss-counts", "real", "--summary", summary)
        self.assertNotIn("note: loss", p.stderr + p.stdout)
        with open(summary) as f:
            self.assertEqual(json.load(f)["options"]["loss_counts"], "real")
        p = run(*base, "--loss-counts", "some", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--loss-counts", p.stderr)

    def test_decouple(self):
        # cRT after the epochs: the log says what the second stage did; the summary keeps the spec.
        summary = self.path("crt.json")
        p = run("train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--model", "mlp:hidden=[16]", "--epochs",
                "2", "--decouple", "crt:epochs=3", "--max-norm", "5", "--summary", summary)
        self.assertIn("decouple crt:epochs=3: head re-initialised and retrained, 3 epochs", p.stdout + p.stderr)
        with open(summary) as f:
            options = json.load(f)["options"]
        self.assertEqual((options["decouple"], options["max_norm"]), ("crt:epochs=3", 5))
        p = run("train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--epochs", "1", "--decouple",
                "tau_norm:tau=9", ok=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("tau", p.stderr)

    def test_mix(self):
        # CMO pastes minority digits onto majority ones; the rule is in the summary's options.
        summary = self.path("mix.json")
        run("train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--model", "logreg", "--epochs", "2",
            "--mix", "cmo:p=1", "--loss", "balanced_softmax", "--summary", summary)
        with open(summary) as f:
            self.assertEqual(json.load(f)["options"]["mix"], "cmo:p=1")
        for mix, message in (("mixup:alpha=0", "alpha=0"), ("snowmix", 'unknown mixing rule "snowmix"')):
            p = run("train", "--data", "mnist-digits", "--pair", "0:200,6:20", "--epochs", "1", "--mix", mix, ok=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(message, p.stderr)


    def test_joint_aug_and_alt(self):
        # Seed 004's joint training: a tiny CycleGAN, then (aug) or alternating with (alt) the classifier.
        summary, gen = self.path("s.json"), self.path("g.gen")
        tiny = "ngf=4,ndf=4,blocks=1,batch_size=4,steps=4,decay_steps=0"
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--model", "mlp:hidden=[16]",
                "--epochs", "2", "--batch-size", "16", "--monitor", "none",
                "--joint", "aug:" + tiny, "--summary", summary, "--save-generator", gen)
        self.assertIn("aug round 1: generators 4 steps", p.stdout)
        self.assertIn("classifier epoch 2/2", p.stdout)
        self.assertIn("== test ==", p.stdout)
        with open(summary) as f:
            s = json.load(f)
        self.assertEqual(s["joint"], "aug:" + tiny)
        self.assertEqual([ph["kind"] for ph in s["joint_phases"]], ["generators", "classifier"])
        with open(gen, "rb") as f:
            self.assertTrue(f.read(40).startswith(b"REBALANCE-GENERATOR 1"))
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--model", "mlp:hidden=[16]",
                "--epochs", "2", "--batch-size", "16", "--monitor", "none",
                "--joint", "alt:rounds=2," + tiny)
        self.assertIn("alt round 2: generators 2 steps", p.stdout)
        self.assertIn("teacher", p.stdout)
        # The long-tail recipes stack on the joint classifier: a loss with deferred re-weighting and a
        # decoupled head; mixing is refused with the reason.
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--model", "mlp:hidden=[16]",
                "--epochs", "2", "--batch-size", "16", "--monitor", "none", "--loss", "ldam:drw_epoch=1",
                "--decouple", "tau_norm:tau=1", "--summary", summary, "--joint", "aug:" + tiny)
        self.assertIn("decouple tau_norm:tau=1: head weights divided by their norms^1", p.stdout + p.stderr)
        with open(summary) as f:
            self.assertEqual(json.load(f)["options"]["loss"], "ldam:drw_epoch=1")
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--epochs", "1", "--monitor", "none",
                "--mix", "mixup", "--joint", "aug:" + tiny, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('drop mix "mixup"', p.stderr)
        # One StarGAN for every class instead of a CycleGAN per class, saved with its own kind.
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--model", "mlp:hidden=[16]",
                "--epochs", "2", "--batch-size", "16", "--monitor", "none", "--save-generator", gen,
                "--joint", "alt:generator=stargan,rounds=2,ngf=4,ndf=4,blocks=1,batch_size=4,steps=4,decay_steps=0")
        self.assertIn("alt round 2: StarGAN 2 steps", p.stdout)
        with open(gen, "rb") as f:
            self.assertIn(b'"kind":"stargan"', f.read(400))
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--epochs", "1", "--monitor", "none",
                "--joint", "aug:generator=stargan,pool_size=3", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('"pool_size" belongs to the cyclegan generator', p.stderr)
        for joint, message in [("sideways", 'unknown joint mode "sideways"'), ("aug:gamma=0", "gamma must be > 0"),
                               ("aug:batch_size=50", 'minority class "6"')]:
            with self.subTest(joint):
                p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--epochs", "1",
                        "--monitor", "none", "--joint", joint, ok=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn(message, p.stderr)
        p = run("train", "--data", "mnist-digits", "--pair", "0:100,6:12", "--epochs", "1", "--joint", "aug",
                "--sampler", "smote", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--joint trains its own generator", p.stderr)


class Generate(TempCase):
    def test_cyclegan_translates_majority_rows_with_sources(self):
        out, model = self.path("six.npy"), self.path("cg.gen")
        p = run("generate", "--method", "cyclegan:ngf=4,ndf=4,blocks=1,batch_size=4,steps=3,decay_steps=1",
                "--input", "mnist-digits", "--pair", "0:60,6:12", "--class", "6", "--output", out,
                "--save-model", model)
        self.assertIn("cyclegan: 4 steps", p.stdout)
        x = np.load(out)
        self.assertEqual(x.shape, (48, 1, 28, 28))
        self.assertTrue((x >= 0).all() and (x <= 1).all())
        src = np.load(self.path("six_source.npy"))
        self.assertEqual(len(src), 48)
        self.assertEqual(len(set(src.tolist())), 48, "48 distinct zeros of the 60 translated")
        again = self.path("again.npy")
        run("generate", "--load-model", model, "--input", "mnist-digits", "--pair", "0:60,6:12", "--class", "6",
            "--count", "5", "--output", again)
        self.assertEqual(np.load(again).shape, (5, 1, 28, 28))
        p = run("generate", "--method", "cyclegan", "--input", "mnist-digits", "--pair", "0:60,6:3", "--class", "6",
                "--output", self.path("x.npy"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('class "6" has 3 images', p.stderr)

    def test_vae_train_save_load_and_grid(self):
        out, model, grid, summary = self.path("six.npy"), self.path("vae.gen"), self.path("grid.png"), self.path("s.json")
        p = run("generate", "--method", "vae:epochs=3", "--input", "mnist-digits", "--pair", "0:200,6:40",
                "--class", "6", "--output", out, "--save-model", model, "--grid", grid, "--summary", summary)
        self.assertIn("{0: 200, 6: 40}", p.stdout)
        self.assertIn("fit: 3 epochs", p.stdout)
        x = np.load(out)
        self.assertEqual(x.shape, (160, 1, 28, 28), "default count balances the pair")
        self.assertTrue((x >= 0).all() and (x <= 1).all())
        with open(grid, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        with open(summary) as f:
            self.assertEqual([s["stage"] for s in json.load(f)["stages"]], ["fit"])
        again = self.path("again.npy")
        run("generate", "--load-model", model, "--count", "7", "--output", again)
        self.assertEqual(np.load(again).shape, (7, 1, 28, 28))
        # A saved image generator refuses tabular data.
        p = run("generate", "--load-model", model, "--input", "synthetic:n=100", "--output", again, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("another shape", p.stderr)

    def test_summary_reports_sample_quality_against_held_out_rows(self):
        out, summary = self.path("six.npy"), self.path("q.json")
        p = run("generate", "--method", "vae:epochs=3,hidden=[64]", "--input", "mnist-digits", "--pair", "0:200,6:60",
                "--class", "6", "--holdout", "0.25", "--output", out, "--summary", summary)
        self.assertIn("{0: 150, 6: 45}", p.stdout, "a quarter of each class held out from training")
        self.assertIn("quality: two-sample AUC", p.stdout)
        self.assertIn("TSTR recall", p.stdout)
        self.assertEqual(np.load(out).shape, (105, 1, 28, 28))
        with open(summary) as f:
            q = json.load(f)["quality"]
        self.assertEqual((q["real_rows"], q["synthetic_rows"], q["held_out_rows"]), (45, 105, 15))
        for key in ("two_sample_auc", "tstr_recall", "tstr_other_recall"):
            self.assertTrue(0.0 <= q[key] <= 1.0, key)
        for key in ("memorisation", "reconstruction_error", "nn_synthetic", "nn_held_out"):
            self.assertGreater(q[key], 0.0, key)
        self.assertIn("not trained on", q["held_out"])
        pts = np.array(q["embedding"])
        self.assertEqual(pts.shape, (150 + 45 + 105, 3), "every row of each group (fewer than 300)")
        self.assertEqual(sorted(set(pts[:, 2].astype(int))), [0, 1, 2])
        # Without --holdout the held-out measures are null, the rest still there.
        p = run("generate", "--method", "vae:epochs=1,hidden=[32]", "--input", "mnist-digits", "--pair", "0:100,6:20",
                "--output", out, "--summary", summary)
        with open(summary) as f:
            q = json.load(f)["quality"]
        self.assertIsNone(q["memorisation"])
        self.assertIsNone(q["tstr_recall"])
        self.assertIsNotNone(q["two_sample_auc"])
        self.assertIn("training rows", q["held_out"])
        p = run("generate", "--method", "vae", "--input", "mnist-digits", "--holdout", "0.95", "--output", out, ok=False)
        self.assertEqual(p.returncode, 2, "--holdout outside [0, 0.9]")

    def test_seed_in_the_spec_wins_over_the_option(self):
        # As make_sampler resolves it for resample: vae:seed=5 with --seed 0 is vae with --seed 5.
        rng = np.random.default_rng(1)
        y = np.r_[np.zeros(60, np.int64), np.ones(20, np.int64)]
        np.save(self.path("x.npy"), (rng.random((80, 1, 28, 28)) * (0.4 + 0.4 * y[:, None, None, None])).astype(np.float32))
        np.save(self.path("y.npy"), y)
        base = ["generate", "--input", self.path("x.npy"), "--label", self.path("y.npy"), "--class", "1", "--count", "5"]
        a, b, c = self.path("a.npy"), self.path("b.npy"), self.path("c.npy")
        run(*base, "--method", "vae:epochs=1,seed=5", "--seed", "0", "--output", a)
        run(*base, "--method", "vae:epochs=1", "--seed", "5", "--output", b)
        run(*base, "--method", "vae:epochs=1", "--seed", "0", "--output", c)
        self.assertTrue(np.array_equal(np.load(a), np.load(b)))
        self.assertFalse(np.array_equal(np.load(a), np.load(c)))

    def test_mgvae_writes_majority_sources(self):
        rng = np.random.default_rng(0)
        y = rng.permutation(np.r_[np.zeros(150, np.int64), np.ones(30, np.int64)])
        x = (rng.random((180, 1, 28, 28)) * (0.3 + 0.5 * y[:, None, None, None])).astype(np.float32)
        np.save(self.path("x.npy"), x)
        np.save(self.path("y.npy"), y)
        out = self.path("m.npy")
        p = run("generate", "--method", "mgvae:pretrain_epochs=1,finetune_epochs=2,exemplars=50,fisher_samples=3",
                "--input", self.path("x.npy"), "--label", self.path("y.npy"), "--count", "20", "--output", out)
        self.assertIn("pretrain: 1 epochs", p.stdout)
        self.assertIn("finetune: 2 epochs", p.stdout)
        src = np.load(self.path("m_source.npy"))
        self.assertEqual(np.load(out).shape, (20, 1, 28, 28))
        self.assertEqual(src.shape, (20,))
        self.assertTrue((y[src] == 0).all(), "every sample names the majority row it translates")

    def test_bad_input_exit_1(self):
        base = ["generate", "--input", "mnist-digits", "--pair", "0:100,6:30", "--class", "6", "--output", self.path("o.npy")]
        for method, msg in [("vae:batch_size=64", "batch_size=64"), ("vae:latent=0", "latent"),
                            ("smote", "trains vae, mgvae or cyclegan")]:
            p = run(*base, "--method", method, ok=False)
            self.assertEqual(p.returncode, 1, method)
            self.assertIn(msg, p.stderr)
        p = run("generate", "--method", "vae", "--input", "mnist-digits", "--pair", "0:100,6:1", "--class", "6",
                "--output", self.path("o.npy"), ok=False)
        self.assertIn("has 1 row", p.stderr)
        self.assertFalse(os.path.exists(self.path("o.npy")))


class Demo(unittest.TestCase):
    def test_demo_runs_end_to_end(self):
        p = run("demo")
        self.assertIn("train (imbalanced): {0: 801, 6: 16}", p.stdout)
        self.assertIn("== nearest-centroid ==", p.stdout)
        self.assertIn("G-mean", p.stdout)


if __name__ == "__main__":
    cli_util.main()
