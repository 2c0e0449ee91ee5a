"""What every test of the rebalance program shares: the binary under test, a runner that never
lets a crash pass as a failure, a scratch folder per test, and the main that reports counts.

Each test file does `from cli_util import run, TempCase` and ends with `cli_util.main()`, which
takes the program's path from the command line: `test_X.py PATH_TO_rebalance [MORE]`.
"""
import os
import resource
import subprocess
import sys
import tempfile
import unittest

BIN = None


def run(*args, env=None, ok=True, fsize=None, cwd=None, timeout=300):
    """Run the program; `ok` asserts exit 0, `fsize` sets RLIMIT_FSIZE (bytes) in the child."""
    e = dict(os.environ)
    e.update(env or {})
    pre = None
    if fsize is not None:
        def pre():
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=e, timeout=timeout, preexec_fn=pre,
                       cwd=cwd)
    for stream in (p.stdout, p.stderr):
        assert "terminate called" not in stream and "Exception raised from" not in stream, stream
    if ok:
        assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


class TempCase(unittest.TestCase):
    """A test with a scratch folder."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, *names):
        return os.path.join(self.d, *names)

    def write(self, name, text):
        with open(self.path(name), "w", newline="") as f:
            f.write(text)
        return self.path(name)


def main(setup=None):
    """Take the program's path from argv[1], let `setup` take further arguments, run the tests."""
    global BIN
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} PATH_TO_rebalance")
    BIN = os.path.abspath(sys.argv.pop(1))
    if setup:
        setup()
    result = unittest.main(module="__main__", exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
