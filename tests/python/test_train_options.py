"""The training options the Python classes pass to the core come from its one declaration
(train/train_options.hpp): names, defaults and checks."""
import inspect

import numpy as np
import pytest

from rebalance import _core
from rebalance.generative import JointGANClassifier


def test_every_declared_python_option_is_a_keyword_of_the_classifier():
    declared = {key for key, _, _ in _core.train_options()}
    assert declared == {"model", "loss", "optimizer", "momentum", "lr", "schedule", "weight_decay", "epochs",
                        "batch_size", "monitor", "decision", "decouple", "max_norm"}
    params = inspect.signature(JointGANClassifier.__init__).parameters
    assert declared <= set(params)
    for key, default, help_text in _core.train_options():
        assert help_text
        assert isinstance(default, str)


def test_bad_options_are_refused_by_the_declaration_naming_the_key():
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 8, 8)).astype(np.float32)
    y = np.array([0] * 30 + [1] * 10)
    with pytest.raises(ValueError, match=r"JointGANClassifier: optimizer must be adam or sgd, got \"rmsprop\""):
        JointGANClassifier(optimizer="rmsprop", epochs=1).fit(x, y)
    with pytest.raises(ValueError, match=r"JointGANClassifier: epochs must be in \[1, 100000\], got 0"):
        JointGANClassifier(epochs=0).fit(x, y)
    with pytest.raises(ValueError, match=r"JointGANClassifier: monitor must be auto, f1_macro"):
        JointGANClassifier(monitor="loss", epochs=1).fit(x, y)


def test_numpy_scalars_are_accepted():
    from rebalance.generative import _plain
    assert _plain(np.float32(0.5)) == 0.5 and type(_plain(np.float32(0.5))) is float
    assert _plain(np.int64(3)) == 3 and type(_plain(np.int64(3))) is int
    assert _plain(True) is True and _plain("adam") == "adam"
