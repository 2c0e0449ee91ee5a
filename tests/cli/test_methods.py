#!/usr/bin/env python3
"""`rebalance methods` as a user runs it: every factory's methods, one family, JSON, bad families.

Usage: test_methods.py PATH_TO_rebalance
"""
import json
import os
import tempfile
import unittest

import cli_util
from cli_util import run


# Every method the README documents, by family: the listing must show each of them.
DOCUMENTED = {
    "samplers": ["random_over", "smote", "borderline_smote", "adasyn", "kmeans_smote", "smotenc", "smoten",
                 "cluster_over", "random_under", "near_miss", "tomek_links", "enn", "renn", "allknn", "cnn", "oss",
                 "ncr", "cluster_centroids", "smote_tomek", "smote_enn", "vae", "mgvae", "deepsmote", "m2m", "cyclegan", "stargan",
                 "augment"],
    "generators": ["vae", "mgvae", "cyclegan"],
    "models": ["logreg", "mlp", "lenet", "resnet", "backbone"],
    "losses": ["ce", "weighted_ce", "focal", "cb", "la", "balanced_softmax", "ldam"],
    "batch-policies": ["uniform", "balanced", "sqrt", "class_aware", "dynamic"],
    "decisions": ["argmax", "threshold", "prior"],
    "joint": ["aug", "alt"],
    "augmentations": ["channel", "blur", "unsharp", "hflip", "vflip", "rotate", "zoom", "translate", "brightness",
                      "contrast"],
    "mixing": ["mixup", "remix", "cutmix", "cmo"],
    "decoupling": ["crt", "lws", "tau_norm", "wb"],
    # Every sampler, as streaming or in memory only (resample --out-of-core).
    "out-of-core": ["random_under", "random_over", "smote", "borderline_smote", "adasyn", "tomek_links", "enn", "cnn",
                    "vae"],
}


def listing(family=None):
    args = ["methods", "--format", "json"] + ([family] if family else [])
    return json.loads(run(*args).stdout)["families"]


class Methods(unittest.TestCase):
    def test_every_family_and_every_documented_method_is_listed(self):
        fams = {f["name"]: f for f in listing()}
        self.assertEqual(sorted(fams), sorted(DOCUMENTED))
        for fam, names in DOCUMENTED.items():
            listed = [m["name"] for m in fams[fam]["methods"]]
            for n in names:
                self.assertIn(n, listed, f"{fam}: {n}")

    def test_text_shows_parameters_defaults_and_descriptions(self):
        p = run("methods")
        for fam in DOCUMENTED:
            self.assertIn(f"({fam}; used by ", p.stdout)
        for text in ("k_neighbors", "sampling_strategy", "= 5", "ewc_lambda", "= 5e6", "drw_epoch", "hidden",
                     "= [512,256]", "floor", "balanced_accuracy", "depth", "focal loss"):
            self.assertIn(text, p.stdout)

    def test_one_family_prints_only_that_family(self):
        p = run("methods", "losses")
        for n in DOCUMENTED["losses"]:
            self.assertIn(n, p.stdout)
        for other in ("smote", "lenet", "argmax", "dynamic", "mgvae"):
            self.assertNotIn(other, p.stdout)
        self.assertEqual([f["name"] for f in listing("losses")], ["losses"])

    def test_singular_and_alias_family_names(self):
        for alias, fam in (("loss", "losses"), ("sampler", "samplers"), ("batch_policy", "batch-policies"),
                           ("decision-rules", "decisions"), ("generator", "generators"), ("Models", "models")):
            with self.subTest(alias):
                self.assertEqual([f["name"] for f in listing(alias)], [fam])

    def test_unknown_family_is_a_usage_error_naming_the_families(self):
        p = run("methods", "colours", ok=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn('unknown method family "colours"', p.stderr)
        for fam in DOCUMENTED:
            self.assertIn(fam, p.stderr)
        p = run("methods", "--format", "xml", ok=False)
        self.assertEqual(p.returncode, 2)

    def test_json_parameters_carry_default_required_and_help(self):
        losses = {m["name"]: m for m in listing("losses")[0]["methods"]}
        focal = {p["name"]: p for p in losses["focal"]["params"]}
        self.assertEqual(focal["gamma"]["default"], "2.0")
        self.assertFalse(focal["gamma"]["required"])
        self.assertTrue(focal["gamma"]["help"])
        self.assertEqual(losses["ce"]["params"], [])
        smote = next(m for m in listing("samplers")[0]["methods"] if m["name"] == "smote")
        self.assertIn("SMOTE", smote["aliases"])
        self.assertEqual(smote["group"], "over-sampling")

    def test_listed_defaults_are_accepted_by_the_program(self):
        # Every method spelled out with every listed default goes through the factories the
        # commands use: `run` validates a whole config before it trains anything, and `resample`
        # builds and applies each sampler.
        fams = {f["name"]: f for f in listing()}

        def spelled(m):
            args = [f"{p['name']}={p['default']}" for p in m["params"] if p["default"] and p["default"] != "from --seed"]
            return m["name"] + (":" + ",".join(args) if args else "")

        data = "synthetic:n=300,features=4,informative=3,redundant=0,weights=[0.8,0.2],seed=1"
        losses, policies, decisions, mixing, decoupling, augmentations = (
            fams[f]["methods"] for f in ("losses", "batch-policies", "decisions", "mixing", "decoupling", "augmentations"))
        n = max(len(losses), len(policies), len(decisions), len(mixing), len(decoupling), len(augmentations))
        with tempfile.TemporaryDirectory() as d:
            for model in fams["models"]["methods"]:
                if model["name"] == "backbone":
                    continue  # needs a TorchScript file: tests/cli/test_images.py trains one
                cfg = os.path.join(d, "all.toml")
                lines = ['name = "all"', "[data]", f'dataset = "{data}"', "[train]", f'model = "{spelled(model)}"',
                         "epochs = 1", "[run]", "seeds = [0]"]
                for i in range(n):
                    lines += ["[[method]]", f'name = "m{i}"', f'loss = "{spelled(losses[i % len(losses)])}"',
                              f'batch_policy = "{spelled(policies[i % len(policies)])}"',
                              f'decision = "{spelled(decisions[i % len(decisions)])}"',
                              f'mix = "{spelled(mixing[i % len(mixing)])}"',
                              f'decouple = "{spelled(decoupling[i % len(decoupling)])}"',
                              f'augment = "{spelled(augmentations[i % len(augmentations)])}"']
                for m in fams["joint"]["methods"]:  # joint methods take no mixing or augmentation
                    lines += ["[[method]]", f'name = "joint {m["name"]}"', f'joint = "{spelled(m)}"']
                with open(cfg, "w") as f:
                    f.write("\n".join(lines) + "\n")
                with self.subTest(model["name"]):
                    p = run("run", cfg, "--out", os.path.join(d, "out"), "--stop-after", "0")
                    self.assertIn("done: 0 run", p.stdout)
            for m in fams["samplers"]["methods"]:
                if m["group"] in ("generative", "augmentation") or m["name"] in ("smotenc", "smoten"):
                    continue  # slow to train / images only / need categorical data: other tests build them
                with self.subTest(m["name"]):
                    run("resample", "-m", spelled(m), "-i", data, "-o", os.path.join(d, "out.csv"))


if __name__ == "__main__":
    cli_util.main()
