#!/usr/bin/env python3
"""Data-parallel training across processes (torch c10d: TCPStore + ProcessGroupGloo on loopback):
two processes end with the weights one process reaches on the same global batches; a rank that
cannot reach its master, mismatched world sizes and mismatched options are refused clearly.

Usage: test_distributed.py PATH_TO_rebalance
"""
import os
import socket
import subprocess

import numpy as np

import cli_util
from cli_util import run

DATA = ["--data", "mnist-digits", "--keep", "0:300,6:30,8:60", "--model", "lenet", "--optimizer", "sgd", "--lr", "0.01",
        "--epochs", "2", "--iterations", "120", "--batch-size",
        "64", "--monitor", "none", "--seed", "3"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ranks(args_per_rank, timeout=600):
    """Start one process per argument list at once; wait for all; return the CompletedProcess-like list."""
    env = dict(os.environ, OMP_NUM_THREADS="1", REBALANCE_THREADS="1")
    procs = [subprocess.Popen([cli_util.BIN, *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for a in args_per_rank]
    out = []
    for p in procs:
        o, e = p.communicate(timeout=timeout)
        out.append((p.returncode, o, e))
    return out


class Distributed(cli_util.TempCase):
    def test_two_processes_reach_one_process_weights(self):
        port = free_port()
        master = ["--world-size", "2", "--master", f"127.0.0.1:{port}"]
        res = ranks([["train", *DATA, *master, "--rank", "0", "-o", self.path("two.rbm")],
                     ["train", *DATA, *master, "--rank", "1", "-o", self.path("rank1.rbm")]])
        for rc, o, e in res:
            self.assertEqual(rc, 0, e)
            self.assertIn("epoch 2/2", o)
        self.assertFalse(os.path.exists(self.path("rank1.rbm")))  # rank 0 writes the shared result
        # Every rank logs the single process's epoch losses (to the order of float sums).
        one = run("train", *DATA, "-o", self.path("one.rbm"), env={"OMP_NUM_THREADS": "1", "REBALANCE_THREADS": "1"})

        def losses(text):
            return [float(line.split("loss ")[1].split()[0]) for line in text.splitlines() if line.startswith("epoch")]

        for _, o, _ in res:
            np.testing.assert_allclose(losses(o), losses(one.stdout), rtol=2e-3)
        run("predict", "--model", self.path("one.rbm"), "--data", "mnist-digits", "-o", self.path("one.npy"))
        run("predict", "--model", self.path("two.rbm"), "--data", "mnist-digits", "-o", self.path("two.npy"))
        a, b = np.load(self.path("one.npy")), np.load(self.path("two.npy"))
        # 120 SGD steps (an epoch and a half, a validation pass between) apart only by the order of
        # float sums: scores within 1e-5, same labels. Training amplifies that order the longer it
        # runs and the more chaotic its regime: measured here, 4.6e-7 after 150 steps, 9e-5 after 170
        # (momentum 0, lr 0.05), 0.05-0.8 with Adam or SGD at an effective rate of 0.5.
        self.assertLess(np.abs(a - b).max(), 1e-5)
        self.assertTrue((a.argmax(1) == b.argmax(1)).all())

    def test_generators_train_data_parallel(self):
        # VAE (batch 7 over 60 rows: the last batch of each epoch has 4 rows, so with 3 ranks one
        # shard is empty) and MGVAE (pre-training, Fisher, fine-tuning with EWC).
        env = {"OMP_NUM_THREADS": "1", "REBALANCE_THREADS": "1"}
        cases = {
            "vae": (["-m", "vae:epochs=4,min_steps=0,batch_size=7,hidden=[32],latent=4", "--pair", "0:200,6:60"], 3),
            "mgvae": (["-m", "mgvae:pretrain_epochs=2,finetune_epochs=3,finetune_min_steps=0,batch_size=16,hidden=[32],latent=4,"
                       "exemplars=50,fisher_samples=20", "--pair", "0:120,6:40"], 2),
        }
        for name, (args, world) in cases.items():
            with self.subTest(generator=name):
                common = ["generate", "-i", "mnist-digits", *args, "-n", "30", "--seed", "5"]
                run(*common, "-o", self.path(f"{name}_one.npy"), env=env)
                port = free_port()
                res = ranks([[*common, "-o", self.path(f"{name}_many.npy"), "--world-size", str(world), "--rank",
                              str(r), "--master", f"127.0.0.1:{port}"] for r in range(world)])
                for rc, o, e in res:
                    self.assertEqual(rc, 0, e)
                self.assertIn("rank 1: trained; rank 0 writes the outputs", res[1][1])
                for r, (_, o, _) in enumerate(res):  # every step went through the all-reduce
                    steps = int(o.split(f"rank {r} of {world}: ")[1].split()[0])
                    self.assertGreater(steps, 10)
                one, many = np.load(self.path(f"{name}_one.npy")), np.load(self.path(f"{name}_many.npy"))
                # The same steps apart only by the order of float sums.
                self.assertLess(np.abs(one - many).max(), 1e-4)

                def losses(text):
                    return [float(w) for line in text.splitlines() if " epochs, loss " in line
                            for w in line.split("loss ")[1].split(" -> ")[:1]]

                np.testing.assert_allclose(losses(res[1][1]), losses(res[0][1]), rtol=1e-4)
        p = run("generate", "-i", "mnist-digits", "-m", "cyclegan", "-o", self.path("g.npy"), "--world-size", "2",
                ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("CycleGAN trains on one process", p.stderr)

    def test_unreachable_master_mismatched_world_and_options(self):
        p = run("train", "--data", "mnist-digits", "--epochs", "1", "--world-size", "2", "--rank", "1", "--master",
                f"127.0.0.1:{free_port()}", "--dist-timeout", "2", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("rank 1: cannot reach the master's store at 127.0.0.1:", p.stderr)
        port = free_port()
        res = ranks([["train", *DATA, "--world-size", "2", "--rank", "0", "--master", f"127.0.0.1:{port}",
                      "--dist-timeout", "10"],
                     ["train", *DATA, "--world-size", "3", "--rank", "1", "--master", f"127.0.0.1:{port}",
                      "--dist-timeout", "10"]])
        for rc, _, e in res:
            self.assertEqual(rc, 1)
            self.assertIn("disagree on world_size: ", e)
        port = free_port()
        res = ranks([["train", *DATA, "--world-size", "2", "--rank", "0", "--master", f"127.0.0.1:{port}",
                      "--dist-timeout", "10"],
                     ["train", *DATA, "--momentum", "0.5", "--world-size", "2", "--rank", "1", "--master",
                      f"127.0.0.1:{port}", "--dist-timeout", "10"]])
        for rc, _, e in res:
            self.assertEqual(rc, 1)
            self.assertIn("disagree on options and data", e)
        p = run("train", "--data", "mnist-digits", "--world-size", "2", "--rank", "2", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--rank 2 is outside [0, 2)", p.stderr)


if __name__ == "__main__":
    cli_util.main()
