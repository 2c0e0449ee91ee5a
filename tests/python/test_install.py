"""`pip install --no-build-isolation .` in a virtualenv made with --system-site-packages, offline:
the package installs from the repository (reusing the build directory's compiled core), imports
from the virtualenv, not from the source tree, and resamples."""
import os
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="Debian's python3 needed")
def test_pip_install_in_a_virtualenv():
    build = os.environ.get("REBALANCE_BUILD_DIR", os.path.join(REPO, "build"))
    with tempfile.TemporaryDirectory() as tmp:
        venv = os.path.join(tmp, "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        env = dict(os.environ, REBALANCE_BUILD_DIR=build, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        env.pop("PYTHONPATH", None)
        r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-deps", REPO],
                           env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        code = ("import rebalance, numpy as np; from rebalance.over_sampling import SMOTE;"
                "x = np.random.RandomState(0).rand(60, 3); y = np.r_[np.zeros(50, int), np.ones(10, int)];"
                "xr, yr = SMOTE(random_state=0).fit_resample(x, y); print(rebalance.__file__, np.bincount(yr).tolist())")
        r = subprocess.run([py, "-c", code], env=env, capture_output=True, text=True, cwd=tmp)
        assert r.returncode == 0, r.stderr
        path, counts = r.stdout.split(" ", 1)
        assert path.startswith(venv) and counts.strip() == "[50, 50]"
        # rebalance.torch (the torch extension and the version it was built against) installs too.
        code = ("import torch, rebalance.torch.losses as L; l = L.LDAMLoss([50, 10]);"
                "print(L.__file__, float(l(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])) > 0))")
        r = subprocess.run([py, "-c", code], env=env, capture_output=True, text=True, cwd=tmp)
        assert r.returncode == 0, r.stderr
        path, ok = r.stdout.split(" ", 1)
        assert path.startswith(venv) and ok.strip() == "1.0"
