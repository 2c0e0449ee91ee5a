#!/usr/bin/env python3
"""Busy machines and long phases: `rebalance run --jobs N` (cells in parallel processes that split
the cores) gives the sequential run's results, in grid order; long generator phases report their
progress in a log.

Usage: test_busy.py PATH_TO_rebalance
"""
import json
import os
import signal
import subprocess
import time

import cli_util
from cli_util import run, TempCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TINY = os.path.join(ROOT, "examples", "tiny.toml")


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class ParallelCells(TempCase):
    def test_jobs_gives_the_sequential_results_in_grid_order(self):
        seq, par = self.path("seq"), self.path("par")
        run("run", TINY, "--out", seq, env={"REBALANCE_THREADS": "1"})
        p = run("run", TINY, "--out", par, "--jobs", "2")
        self.assertIn("2 worker processes, ", p.stdout)
        self.assertIn("done: 16 run, 0 already", p.stdout)
        self.assertIn("| Vanilla", p.stdout)  # the table of a complete grid
        a, b = rows(os.path.join(seq, "results.jsonl")), rows(os.path.join(par, "results.jsonl"))
        self.assertEqual([r["key"] for r in a], [r["key"] for r in b])  # grid order, every cell once
        for ra, rb in zip(a, b):
            with self.subTest(ra["key"]):
                self.assertEqual(ra["train_counts"], rb["train_counts"])
                self.assertEqual(ra["metrics"]["confusion_matrix"], rb["metrics"]["confusion_matrix"])
                self.assertAlmostEqual(ra["metrics"]["f1_macro"], rb["metrics"]["f1_macro"], places=6)

    def test_a_rerun_with_jobs_resumes_and_runs_only_what_is_missing(self):
        out = self.path("out")
        run("run", TINY, "--out", out, "--stop-after", "3")
        self.assertEqual(len(rows(os.path.join(out, "results.jsonl"))), 3)
        # A killed --jobs run leaves its workers' claims behind: the rerun forgets them.
        os.makedirs(os.path.join(out, ".claims"))
        with open(os.path.join(out, ".claims", "cell-4"), "w"):  # a cell not run yet
            pass
        p = run("run", TINY, "--out", out, "--jobs", "2")
        self.assertIn("done: 13 run, 3 already", p.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, ".claims")))
        keys = [r["key"] for r in rows(os.path.join(out, "results.jsonl"))]
        self.assertEqual(len(keys), 16)
        self.assertEqual(len(set(keys)), 16)

    def test_status_lists_the_missing_cells_and_runs_nothing(self):
        out = self.path("out")
        p = run("run", TINY, "--out", out, "--status")
        self.assertEqual(p.stdout.splitlines()[0], f"tiny: 0 of 16 cells in {os.path.join(out, 'results.jsonl')}")
        self.assertFalse(os.path.exists(os.path.join(out, "results.jsonl")))
        run("run", TINY, "--out", out, "--stop-after", "5")
        lines = run("run", TINY, "--out", out, "--status").stdout.splitlines()
        self.assertIn(": 5 of 16 cells in ", lines[0])
        self.assertEqual(len(lines), 1 + 11)
        self.assertEqual(lines[1], "missing: level 10, seed 1, method CS")  # grid order: levels, seeds, methods
        self.assertEqual(len(rows(os.path.join(out, "results.jsonl"))), 5)  # nothing ran
        p = run("run", TINY, "--out", out, "--status", "--jobs", "2", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--status runs nothing", p.stderr)
        # A table of the partial grid says which cells rest on fewer seeds than the fullest.
        table = run("table", os.path.join(out, "results.jsonl"), "--metric", "f1_macro").stdout
        vanilla = next(l for l in table.splitlines() if l.startswith("| Vanilla |"))
        cs = next(l for l in table.splitlines() if l.startswith("| CS |"))
        self.assertIn("±", vanilla)
        self.assertNotIn("seed", vanilla)
        self.assertIn(" (1 seed) |", cs)
        # Cells in the order workers finished them: --config puts rows and columns as the config lists them.
        shuffled = self.path("shuffled.jsonl")
        with open(os.path.join(out, "results.jsonl")) as f, open(shuffled, "w") as g:
            g.writelines(reversed(f.readlines()))
        methods = lambda t: [l.split(" | ")[0][2:] for l in t.splitlines() if l.startswith("| ") and "---" not in l][1:]
        self.assertEqual(methods(run("table", shuffled, "--metric", "f1_macro").stdout),
                         ["Vanilla", "SMOTE", "TS", "CS"])  # level 10: seed 1's Vanilla, then seed 0's backwards
        ordered = run("table", shuffled, "--metric", "f1_macro", "--config", TINY).stdout
        self.assertEqual(methods(ordered), ["Vanilla", "CS", "TS", "SMOTE"])
        self.assertIn("| method | 10 |", ordered)
        # A row of another version of the config (other settings, another key) is no cell of it: the
        # config's table leaves it out and says so, rather than averaging it in under the same name.
        stale = self.path("stale.jsonl")
        with open(shuffled) as f:
            lines = f.readlines()
        foreign = json.loads(lines[0])
        foreign["key"] = "0123456789abcdef" + foreign["key"][foreign["key"].index("|"):]
        foreign["metrics"]["f1_macro"] = 0.0
        with open(stale, "w") as g:
            g.writelines(lines + [json.dumps(foreign) + "\n"])
        p = run("table", stale, "--metric", "f1_macro", "--config", TINY)
        self.assertEqual(p.stdout, ordered)
        self.assertIn("left out 1 row of", p.stderr)
        self.assertIn("another version of the config", p.stderr)
        self.assertNotEqual(run("table", stale, "--metric", "f1_macro").stdout,
                            run("table", shuffled, "--metric", "f1_macro").stdout)  # without --config: every row
        with open(stale, "w") as g:
            g.write(json.dumps(foreign) + "\n")
        p = run("table", stale, "--config", TINY, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("none of its 1 rows is a cell of", p.stderr)
        p = run("table", shuffled, "--config", self.path("none.toml"), ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("none.toml", p.stderr)

    def test_bad_jobs_and_worker_values_are_refused(self):
        p = run("run", TINY, "--out", self.path("o"), "--jobs", "0", ok=False)
        self.assertEqual(p.returncode, 2)
        p = run("run", TINY, "--out", self.path("o"), "--worker", "2/2", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--worker 2/2: expected K/N with 0 <= K < N", p.stderr)

    def test_workers_end_when_the_run_that_started_them_is_killed(self):
        # `kill`/`pkill` on the parent alone (SIGKILL here: it cannot pass anything on) must not leave its
        # workers running on into results nobody manages.
        with open(TINY) as f:
            text = f.read().replace("epochs = 3", "epochs = 100000")  # cells that outlive the test
        config = self.path("slow.toml")
        with open(config, "w") as f:
            f.write(text)
        parent = subprocess.Popen([cli_util.BIN, "run", config, "--out", self.path("out"), "--jobs", "2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            workers, deadline = [], time.monotonic() + 60
            while len(workers) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
                workers = []
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        with open(f"/proc/{pid}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            cmdline = f.read().split(b"\0")
                    except OSError:
                        continue
                    if int(fields[1]) == parent.pid and b"--worker" in cmdline:
                        workers.append(int(pid))
            self.assertEqual(len(workers), 2, "the workers did not start")
            time.sleep(1.0)  # into their first cells
            for w in workers:
                self.assertTrue(os.path.exists(f"/proc/{w}"), "a worker ended before the test could kill its parent")
            parent.kill()
            parent.wait()
            deadline = time.monotonic() + 30
            alive = workers
            while alive and time.monotonic() < deadline:
                time.sleep(0.1)
                alive = [w for w in workers if os.path.exists(f"/proc/{w}") and not _zombie(w)]
            self.assertEqual(alive, [], "workers outlived the killed run")
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait()
            for w in workers:  # whatever the outcome, nothing of this test runs on
                try:
                    os.kill(w, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def test_a_worker_whose_parent_has_gone_refuses_to_start(self):
        p = run("run", TINY, "--out", self.path("o"), "--worker", "0/2", env={"REBALANCE_RUN_PARENT": "1"}, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("the `rebalance run --jobs` that started this worker (pid 1) has ended", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.path("o"), "results.jsonl")))


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


class Progress(TempCase):
    def test_a_generator_phase_reports_steps_rate_and_time_left_in_a_log(self):
        p = run("generate", "--method", "cyclegan:ngf=4,ndf=4,blocks=1,batch_size=4,steps=12,decay_steps=4",
                "--input", "mnist-digits", "--pair", "0:60,6:12", "--class", "6", "--count", "5",
                "-o", self.path("rows.npy"), env={"REBALANCE_PROGRESS_SECONDS": "0.05"})
        lines = [l for l in p.stderr.splitlines() if l.startswith("CycleGAN: step ")]
        self.assertTrue(lines, p.stderr)
        self.assertRegex(lines[-1], r"^CycleGAN: step \d+/16 \(\d+%\), [0-9.]+ (steps/s|s/step), ~\S+ left$")

    def test_progress_can_be_silenced(self):
        p = run("generate", "--method", "cyclegan:ngf=4,ndf=4,blocks=1,batch_size=4,steps=12,decay_steps=4",
                "--input", "mnist-digits", "--pair", "0:60,6:12", "--class", "6", "--count", "5",
                "-o", self.path("rows.npy"), env={"REBALANCE_PROGRESS_SECONDS": "0.05", "REBALANCE_PROGRESS": "0"})
        self.assertNotIn("CycleGAN: step", p.stderr)

    def test_vae_training_reports_progress(self):
        p = run("generate", "--method", "vae:epochs=1,min_steps=60,batch_size=4,hidden=[16],latent=2",
                "--input", "mnist-digits", "--pair", "0:60,6:12", "--class", "6", "--count", "5",
                "-o", self.path("rows.npy"), env={"REBALANCE_PROGRESS_SECONDS": "0.02"})
        self.assertRegex(p.stderr, r"VAE fit: step \d+/60 ")


if __name__ == "__main__":
    cli_util.main()
