"""rebalance.torch.losses: every loss against a reference written here in plain PyTorch (value and
gradient, float64 gradcheck), the factory strings, deferred re-weighting, state and bad input."""
import copy
import io
import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from rebalance.torch import losses as L
from torch_reference import cb_weights, reference

# Real class counts: the digits 0-9 made long-tailed (178 zeros ... down to a tenth of that).
_Y = load_digits().target
COUNTS = [int(max(3, round((_Y == c).sum() * 0.6 ** c))) for c in range(10)]


def _batch(seed, n=64, c=10, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = (3 * torch.randn(n, c, generator=g, dtype=dtype)).requires_grad_()
    target = torch.randint(0, c, (n,), generator=g)
    return logits, target


CASES = [
    ("ce", {}),
    ("weighted_ce", {}),
    ("weighted_ce", {"weights": "ratio"}),
    ("weighted_ce", {"weights": "normalized"}),
    ("focal", {"gamma": 1.5}),
    ("cb", {"beta": 0.99}),
    ("cb", {"beta": 0.999, "base": "sigmoid"}),
    ("cb", {"beta": 0.999, "base": "focal", "gamma": 0.5}),
    ("la", {"tau": 1.5}),
    ("balanced_softmax", {}),
    ("ldam", {"max_margin": 0.4, "s": 10.0}),
]
CLASSES = {"ce": "CrossEntropyLoss", "weighted_ce": "WeightedCrossEntropyLoss", "focal": "FocalLoss",
           "cb": "ClassBalancedLoss", "la": "LogitAdjustedLoss", "balanced_softmax": "BalancedSoftmaxLoss",
           "ldam": "LDAMLoss"}


def test_every_listed_loss_has_a_class():
    assert set(L.loss_names()) == set(CLASSES)
    for name in CLASSES.values():
        assert issubclass(getattr(L, name), torch.nn.Module)


@pytest.mark.parametrize("name,params", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_value_and_gradient_equal_the_plain_pytorch_reference(name, params):
    loss = getattr(L, CLASSES[name])(COUNTS, **params)
    z, y = _batch(1)
    ours = loss(z, y)
    (g_ours,) = torch.autograd.grad(ours, z)
    theirs = reference(name, COUNTS, **params)(z, y)
    (g_theirs,) = torch.autograd.grad(theirs, z)
    assert ours.dtype == torch.float64 and ours.dim() == 0
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,params", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_gradcheck_float64(name, params):
    loss = getattr(L, CLASSES[name])(COUNTS, **params)
    z, y = _batch(2, n=12)
    assert torch.autograd.gradcheck(lambda logits: loss(logits, y), (z,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name,params", CASES + [("ldam", {"drw_epoch": 0})],
                         ids=[f"{c[0]}{c[1]}" for c in CASES] + ["ldam-drw"])
def test_reductions_sum_and_none(name, params):
    z, y = _batch(9)
    cls = getattr(L, CLASSES[name])
    mean = cls(COUNTS, **params)(z, y)
    terms = cls(COUNTS, reduction="none", **params)(z, y)
    total = cls(COUNTS, reduction="sum", **params)(z, y)
    assert terms.shape == (len(y),)
    torch.testing.assert_close(total, terms.sum())
    weights = cls(COUNTS, **params).class_weights
    pytorch_weighted = name == "weighted_ce" or (name == "ldam" and "drw_epoch" in params)
    # PyTorch's weighted mean divides by the weights drawn; every other mean by the batch.
    denominator = weights[y].sum() if pytorch_weighted else len(y)
    torch.testing.assert_close(mean, terms.sum() / denominator)
    if name == "weighted_ce":  # and the terms are PyTorch's reduction="none" with class weights
        torch.testing.assert_close(terms, torch.nn.functional.cross_entropy(z, y, weight=weights, reduction="none"))
    assert torch.autograd.gradcheck(lambda logits: cls(COUNTS, reduction="none", **params)(logits, y[:6]),
                                    (z[:6].detach().requires_grad_(),), eps=1e-6, atol=1e-5)
    with pytest.raises(ValueError, match="'average' is not a valid value for reduction"):
        cls(COUNTS, reduction="average")


@pytest.mark.parametrize("name,params,plain,corrected", [
    ("weighted_ce", {"drw_epoch": 2}, ("ce", {}), ("weighted_ce", {})),
    ("cb", {"beta": 0.999, "drw_epoch": 2}, ("ce", {}), ("cb", {"beta": 0.999})),
    ("focal", {"gamma": 1.0, "drw_epoch": 2, "beta": 0.99}, ("focal", {"gamma": 1.0}),
     ("focal", {"gamma": 1.0, "beta": 0.99, "drw": True})),
    ("la", {"tau": 1.0, "drw_epoch": 2}, ("ce", {}), ("la", {"tau": 1.0})),
    ("balanced_softmax", {"drw_epoch": 2}, ("ce", {}), ("balanced_softmax", {})),
], ids=["weighted_ce", "cb", "focal", "la", "balanced_softmax"])
def test_deferred_reweighting_for_every_loss(name, params, plain, corrected):
    z, y = _batch(10)
    loss = getattr(L, CLASSES[name])(COUNTS, **params)
    for epoch in (0, 1, 2, 7):
        loss.set_epoch(epoch)
        ref_name, ref_params = plain if epoch < 2 else corrected
        torch.testing.assert_close(loss(z, y), reference(ref_name, COUNTS, **ref_params)(z, y))


def test_factory_strings_are_the_classes():
    z, y = _batch(3)
    a = L.make_loss("cb:beta=0.999,base=focal", COUNTS)
    b = L.ClassBalancedLoss(COUNTS, beta=0.999, base="focal")
    assert isinstance(a, L.ClassBalancedLoss)
    assert a.spec == "cb:beta=0.999,base=focal"
    torch.testing.assert_close(a(z, y), b(z, y))
    c = L.ClassBalancedLoss.from_targets(torch.tensor(sum(([k] * n for k, n in enumerate(COUNTS)), [])),
                                         beta=0.999, base="focal")
    assert c.class_counts == tuple(COUNTS)
    torch.testing.assert_close(c(z, y), b(z, y))


def test_deferred_reweighting_switches_at_set_epoch_and_survives_state_dict():
    z, y = _batch(4)
    loss = L.LDAMLoss(COUNTS, drw_epoch=3)
    assert loss.class_weights is None
    loss.set_epoch(2)
    torch.testing.assert_close(loss(z, y), reference("ldam", COUNTS)(z, y))
    loss.set_epoch(3)
    torch.testing.assert_close(loss(z, y), reference("ldam", COUNTS, drw=True)(z, y))
    torch.testing.assert_close(loss.class_weights, cb_weights(COUNTS, 0.9999, torch.float64))
    fresh = L.LDAMLoss(COUNTS, drw_epoch=3)
    fresh.load_state_dict(loss.state_dict())
    assert fresh.epoch == 3
    torch.testing.assert_close(fresh(z, y), loss(z, y))
    for other in (copy.deepcopy(loss), pickle.loads(pickle.dumps(loss))):
        torch.testing.assert_close(other(z, y), loss(z, y))
    buf = io.BytesIO()
    torch.save(loss.state_dict(), buf)
    buf.seek(0)
    with pytest.raises(ValueError, match="ldam:drw_epoch=3"):
        L.LDAMLoss(COUNTS, drw_epoch=5).load_state_dict(torch.load(buf))


def test_float32_and_integer_target_dtypes():
    z, y = _batch(5, dtype=torch.float32)
    loss = L.FocalLoss(COUNTS)
    out = loss(z, y.to(torch.int32))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, loss(z, y))


def test_bad_input_names_the_value():
    z, y = _batch(6)
    loss = L.LDAMLoss(COUNTS)
    with pytest.raises(TypeError, match="targets must be an integer tensor.*torch.float32"):
        loss(z, y.float())
    with pytest.raises(TypeError, match="logits must be a floating-point tensor, got torch.int64"):
        loss(y[:, None].repeat(1, 10), y)
    with pytest.raises(ValueError, match="target 10 is out of range for 10 classes"):
        loss(z, torch.where(y == 0, torch.tensor(10), y))
    with pytest.raises(ValueError, match="target -1 is out of range"):
        loss(z, torch.where(y == 0, torch.tensor(-1), y))
    with pytest.raises(ValueError, match="logits have 64 rows but targets 63"):
        loss(z, y[:63])
    with pytest.raises(ValueError, match="built for 10 classes, logits have 9"):
        loss(z[:, :9], y % 9)
    with pytest.raises(ValueError, match="logits are on meta but targets on cpu"):
        loss(z.detach().to("meta"), y)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="logits are on cuda:0 but targets on cpu"):
            loss(z.cuda(), y)
    with pytest.raises(ValueError, match=r"class_counts\[2\] is 0"):
        L.LDAMLoss([10, 5, 0, 3])
    with pytest.raises(TypeError, match=r"class_counts\[1\] must be an integer count, got 2.5"):
        L.FocalLoss([10, 2.5])
    with pytest.raises(TypeError, match="unexpected keyword argument 'margin'"):
        L.LDAMLoss(COUNTS, margin=0.5)
    with pytest.raises(ValueError, match="beta"):
        L.ClassBalancedLoss(COUNTS, beta=1.5)
    with pytest.raises(ValueError, match="unknown loss"):
        L.make_loss("hinge", COUNTS)
    with pytest.raises(TypeError, match="integer class indices"):
        L.LDAMLoss.from_targets(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="set_epoch"):
        loss.set_epoch(-1)


def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    z, y = _batch(7)
    loss = L.ClassBalancedLoss(COUNTS, base="focal")
    zc = z.detach().cuda().requires_grad_()
    out = loss(zc, y.cuda())
    out.backward()
    torch.testing.assert_close(out.cpu(), loss(z, y))
    assert zc.grad.device.type == "cuda"


def test_cli_trainer_loss_on_the_same_logits(tmp_path):
    """The CLI's `rebalance loss` (the trainer's make_loss) gives the module's value and gradient."""
    import json
    import os
    import subprocess
    exe = os.path.join(os.environ.get("REBALANCE_BUILD_DIR", "build"), "rebalance")
    if not os.path.exists(exe):
        pytest.skip("the CLI is not built")
    z, y = _batch(8, dtype=torch.float32)
    np.save(tmp_path / "z.npy", z.detach().numpy())
    np.save(tmp_path / "y.npy", y.numpy())
    for name, params in CASES:
        module = getattr(L, CLASSES[name])(COUNTS, **params)
        out = subprocess.run([exe, "loss", module.spec, "--counts", ",".join(map(str, COUNTS)), "--logits",
                              str(tmp_path / "z.npy"), "--targets", str(tmp_path / "y.npy"), "--grad",
                              str(tmp_path / "g.npy")], capture_output=True, text=True, check=True)
        value = json.loads(out.stdout)["loss"]
        ours = module(z, y)
        (g,) = torch.autograd.grad(ours, z)
        assert math.isclose(value, float(ours), rel_tol=1e-6), (name, value, float(ours))
        np.testing.assert_allclose(np.load(tmp_path / "g.npy"), g.numpy(), rtol=1e-5, atol=1e-7)
    bad = subprocess.run([exe, "loss", "ldam", "--counts", "5,x", "--logits", str(tmp_path / "z.npy"), "--targets",
                          str(tmp_path / "y.npy")], capture_output=True, text=True)
    assert bad.returncode == 1 and '"x" is not an integer count' in bad.stderr
    bad = subprocess.run([exe, "loss", "ldam", "--counts", ",".join(map(str, COUNTS)), "--logits",
                          str(tmp_path / "z.npy"), "--targets", str(tmp_path / "y.npy"), "--grad",
                          str(tmp_path / "z.npy")], capture_output=True, text=True)
    assert bad.returncode == 1 and "--grad" in bad.stderr and "--logits" in bad.stderr  # no output onto an input
