"""examples/pytorch_longtail.py runs as shipped (one epoch of the rebalanced loop, real
long-tailed Fashion-MNIST) and prints its table row."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "examples", "pytorch_longtail.py")


@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
                    reason="Fashion-MNIST (dataset-fashion-mnist) not installed")
def test_the_example_runs_its_three_lines():
    r = subprocess.run([sys.executable, EXAMPLE, "--rebalance", "--epochs", "1", "--seeds", "0"],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="2"))
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| all three lines |")]
    assert len(rows) == 1
    acsa = float(rows[0].split("|")[2])
    assert 0.3 < acsa <= 1.0  # one epoch learns something; the full table is docs/results/pytorch_longtail.md
    assert "4958 training images" in r.stdout
