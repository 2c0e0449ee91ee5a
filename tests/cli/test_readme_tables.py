#!/usr/bin/env python3
"""scripts/readme_tables keeps a grid's cells beside its table (docs/results/NAME.jsonl) and puts
them back into results/NAME/results.jsonl, which git ignores, so a grid of many hours resumes on a
fresh checkout instead of starting over.

Usage: test_readme_tables.py PATH_TO_rebalance
"""
import importlib.machinery
import importlib.util
import json
import os

import cli_util
from cli_util import run, TempCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TINY = os.path.join(ROOT, "examples", "tiny.toml")


def load_script():
    path = os.path.join(ROOT, "scripts", "readme_tables")
    loader = importlib.machinery.SourceFileLoader("readme_tables", path)
    spec = importlib.util.spec_from_loader("readme_tables", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def keys(path):
    with open(path) as f:
        return [json.loads(line)["key"] for line in f if line.strip()]


class KeptCells(TempCase):
    def test_cells_kept_beside_the_table_come_back_on_a_fresh_checkout(self):
        rt = load_script()
        old, root = self.path("old"), self.path("checkout")
        run("run", TINY, "--out", old, "--stop-after", "5")
        first = keys(os.path.join(old, "results.jsonl"))
        # The session that ran them kept them beside its table ...
        rt.keep_cells("tiny", os.path.join(old, "results.jsonl"), root=root)
        kept = rt.kept_path("tiny", root=root)
        self.assertEqual(kept, os.path.join(root, "docs", "results", "tiny.jsonl"))
        self.assertEqual(keys(kept), first)
        # ... a fresh checkout has no results/: they are put back, and the run resumes from them.
        out = os.path.join(root, "results", "tiny")
        results = os.path.join(out, "results.jsonl")
        self.assertEqual(rt.restore_cells("tiny", results, root=root), 5)
        with open(kept) as a, open(results) as b:
            self.assertEqual(a.read(), b.read())  # byte for byte
        self.assertEqual(rt.restore_cells("tiny", results, root=root), 0)  # nothing twice
        p = run("run", TINY, "--out", out, "--stop-after", "3")
        self.assertIn("done: 3 run, 5 already", p.stdout)
        # Keeping again adds the new cells and keeps every earlier one, once.
        rt.keep_cells("tiny", results, root=root)
        self.assertEqual(keys(kept), keys(results))
        self.assertEqual(len(set(keys(kept))), 8)
        # Cells only this checkout ran and cells only the kept file has are merged both ways, by key.
        with open(results) as f:
            lines = f.readlines()
        with open(results, "w") as f:
            f.writelines(lines[:6])
        self.assertEqual(rt.restore_cells("tiny", results, root=root), 2)
        self.assertEqual(sorted(keys(results)), sorted(keys(kept)))

    def test_a_damaged_kept_file_is_refused_by_name(self):
        rt = load_script()
        root = self.path("checkout")
        kept = rt.kept_path("tiny", root=root)
        os.makedirs(os.path.dirname(kept))
        with open(kept, "w") as f:
            f.write('{"key": "a"}\nnot json\n')
        with self.assertRaises(SystemExit) as e:
            rt.restore_cells("tiny", os.path.join(root, "results", "tiny", "results.jsonl"), root=root)
        self.assertIn("tiny.jsonl:2: not a result line", str(e.exception.code))


class Configs(TempCase):
    def test_every_config_the_script_runs_is_one_run_accepts(self):
        # The grids take hours and run outside CI: a config that `run` refuses would only show
        # when someone starts one. `--status` reads and checks the config without training.
        rt = load_script()
        for name, (config, metrics) in sorted(rt.TABLES.items()):
            with self.subTest(name=name):
                p = run("run", os.path.join(ROOT, config), "--out", self.path(name), "--status")
                self.assertIn(" cells in ", p.stdout)
                self.assertTrue(metrics)


if __name__ == "__main__":
    cli_util.main()
