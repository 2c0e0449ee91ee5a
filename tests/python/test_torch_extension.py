"""rebalance.torch's extension and its other modules: zero-copy crossing, the torch version check,
augmentations as transforms, decision rules as modules, generators on tensors with TorchScript
export (real data: scikit-learn's 8x8 digits)."""
import io
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import rebalance.torch as rt
from rebalance.torch import _ext
from rebalance.torch.decision import DecisionRule, LogitAdjustment, ThresholdMoving
from rebalance.torch.generative import (CycleGANOverSampler, DeepSMOTEOverSampler, M2mOverSampler,
                                        MGVAEOverSampler, StarGANOverSampler, VAEOverSampler)
from rebalance.torch.transforms import Augment


def _digits(counts, seed=0):
    d = load_digits()
    rng = np.random.RandomState(seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(d.target == c))[:n] for c, n in enumerate(counts)]))
    x = torch.tensor(d.images[keep] / 16.0, dtype=torch.float32)[:, None]
    return x, torch.tensor(d.target[keep], dtype=torch.int64)


# ---- the extension ---------------------------------------------------------------------------------

def test_tensors_cross_without_a_copy():
    x = torch.rand(64, 10)
    assert _ext.data_ptr(x) == x.data_ptr()
    view = x[:, 3:]  # a strided view: still the caller's storage
    assert _ext.data_ptr(view) == view.data_ptr()
    # A loss result's graph reaches the caller's leaf: gradients land in x.grad itself.
    x.requires_grad_()
    from rebalance.torch.losses import FocalLoss
    FocalLoss([5, 4, 3, 2, 2, 2, 2, 2, 2, 2])(x, torch.arange(64) % 10).backward()
    assert x.grad is not None and x.grad.data_ptr() != 0
    # An augmentation's output is a new tensor; its input is untouched.
    img = torch.rand(2, 1, 8, 8)
    before = img.clone()
    Augment("hflip:p=1")(img)
    assert torch.equal(img, before)


def test_the_torch_version_is_checked_with_both_versions_named():
    rt._check_version(torch.__version__, rt._BUILT)
    rt._check_version("1.13.0a0+git49444c3", "1.13.0")
    with pytest.raises(rt.TorchVersionError, match=r"built against libtorch 1\.13\.0, but the torch imported is 2\.1\.0"):
        rt._check_version("2.1.0+cu121", "1.13.0")
    assert issubclass(rt.TorchVersionError, ImportError) and issubclass(rt.TorchVersionError, ValueError)
    assert rt._BUILT == _ext.TORCH_VERSION


# ---- augmentations ---------------------------------------------------------------------------------

def test_augment_takes_one_image_or_a_batch_in_torchvision_conventions():
    x, _ = _digits([20, 20])
    flip = Augment("hflip:p=1")
    assert torch.equal(flip(x[0]), x[0].flip(2))
    assert torch.equal(flip(x), x.flip(3))
    as_uint8 = (x[:4] * 255).round().to(torch.uint8)
    out = flip(as_uint8)
    assert out.dtype == torch.uint8 and torch.equal(out, as_uint8.flip(3))
    assert flip(x.double()).dtype == torch.float64
    rot = Augment("rotate:degrees=20+blur:sigma=0.5")
    torch.manual_seed(5)
    a = rot(x)
    torch.manual_seed(5)
    b = rot(x)
    assert torch.equal(a, b) and not torch.equal(a, rot(x))
    g = torch.Generator().manual_seed(1)
    c = Augment("rotate:degrees=20", generator=g)(x)
    assert c.shape == x.shape
    assert torch.equal(pickle.loads(pickle.dumps(flip))(x), flip(x))
    with pytest.raises(ValueError, match=r"expects \[C, H, W\] or \[N, C, H, W\], got shape \[8, 8\]"):
        flip(x[0, 0])
    with pytest.raises(TypeError, match="floating point or uint8, got torch.int64"):
        flip(x.long())
    with pytest.raises(ValueError, match="unknown"):
        Augment("sharpen")


# ---- decision rules --------------------------------------------------------------------------------

def test_logit_adjustment_is_the_prior_correction():
    counts = [500, 50, 5]
    z = torch.randn(30, 3, dtype=torch.float64, requires_grad=True)
    adj = LogitAdjustment(counts, tau=0.5)
    prior = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    out = adj(z)
    torch.testing.assert_close(out, z - 0.5 * prior.log())
    out.sum().backward()  # differentiable
    assert torch.equal(adj.predict(z), out.argmax(1))
    fresh = LogitAdjustment([1, 1, 1])
    fresh.load_state_dict(adj.state_dict())
    torch.testing.assert_close(fresh(z), out)
    y = torch.tensor([0] * 500 + [1] * 50 + [2] * 5)
    torch.testing.assert_close(LogitAdjustment.from_targets(y, tau=0.5)(z), out)


def test_logit_adjustment_chooses_tau_on_held_out_data():
    g = torch.Generator().manual_seed(1)
    counts = [900, 100]
    y = torch.cat([torch.zeros(500, dtype=torch.int64), torch.ones(500, dtype=torch.int64)])
    signal = torch.randn(1000, generator=g, dtype=torch.float64) + 1.2 * (2 * y - 1)
    prior = torch.log(torch.tensor([0.9, 0.1], dtype=torch.float64))
    logits = torch.stack([-signal / 2, signal / 2], 1) + prior  # a model that learnt the prior
    adj = LogitAdjustment(counts, tau="auto")
    assert adj.chosen_tau is None
    with pytest.raises(ValueError, match="call fit"):
        adj(logits)
    adj.fit(logits, y)
    assert abs(adj.chosen_tau - 1.0) <= 0.3
    torch.testing.assert_close(adj(logits), logits - adj.chosen_tau * torch.log(torch.tensor([0.9, 0.1],
                                                                                             dtype=torch.float64)))
    assert LogitAdjustment(counts, tau=0.5).chosen_tau == pytest.approx(0.5)


def test_threshold_moving_tunes_on_held_out_logits():
    g = torch.Generator().manual_seed(0)
    y = (torch.rand(400, generator=g) < 0.1).long()
    z = torch.stack([torch.zeros(400), 1.5 * y - 1.2 + torch.randn(400, generator=g)], 1)
    tm = ThresholdMoving(metric="f1").fit(z, y)
    p1 = torch.softmax(z.double(), 1)[:, 1]

    def f1(t):
        pred = p1 >= t
        tp = (pred & (y == 1)).sum().item()
        return 2 * tp / (pred.sum().item() + (y == 1).sum().item())

    assert tm.threshold != 0.5 and f1(tm.threshold) > f1(0.5)
    assert torch.equal(tm.predict(z), (p1 >= tm.threshold).long())
    assert torch.equal(tm(z).argmax(1), tm.predict(z))
    buf = io.BytesIO()
    torch.save(tm.state_dict(), buf)
    buf.seek(0)
    other = ThresholdMoving()
    other.load_state_dict(torch.load(buf))
    assert other.threshold == tm.threshold
    with pytest.raises(ValueError, match="binary"):
        ThresholdMoving().fit(torch.randn(10, 3), torch.arange(10) % 3)
    with pytest.raises(TypeError, match="integer class indices"):
        DecisionRule("argmax").fit(z, y.float())


# ---- generators ------------------------------------------------------------------------------------

def _export_round_trip(gen, cls, make_input, tmp_path):
    path = tmp_path / f"{type(gen).__name__}.pt"
    gen.export(path, cls)
    loaded = torch.jit.load(str(path))
    for n in (1, 5, 11):  # any batch size, not only the traced one
        inp = make_input(n)
        with torch.no_grad():
            torch.testing.assert_close(loaded(inp), gen._gen.network(cls, inp))


def test_vae_on_tensors_keeps_the_input_and_exports_its_decoder(tmp_path):
    x, y = _digits([60, 12])
    x64 = x.double()
    gen = VAEOverSampler(steps=30, min_steps=0, seed=3)
    xr, yr = gen.fit_resample(x64, y)
    assert xr.dtype == torch.float64 and yr.dtype == torch.int64
    assert torch.equal(xr[:len(x)], x64) and torch.equal(yr[:len(y)], y)
    assert torch.bincount(yr).tolist() == [60, 60]
    assert gen.sampling_strategy_ == {1: 48}
    assert torch.equal(gen.origin_[:len(x)], torch.arange(len(x))) and (gen.origin_[len(x):] == -1).all()
    assert (y[gen.parents_[len(x):, 0]] == 1).all()  # decoded around real rows of the class
    more = gen.sample(1, 7)
    assert more.shape == (7, 1, 8, 8) and more.dtype == torch.float64
    assert not torch.equal(more, gen.sample(1, 7))  # each call draws afresh
    with pytest.raises(ValueError, match=r"class 0 was not grown by fit \(grown: \[1\]\)"):
        gen.sample(0, 3)
    latent = gen._gen.network_latent(1)
    _export_round_trip(gen, 1, lambda n: torch.randn(n, latent), tmp_path)
    again = VAEOverSampler(steps=30, min_steps=0, seed=3)
    xr2, _ = again.fit_resample(x64, y)
    assert torch.equal(xr, xr2)  # seeded


def test_conditional_vae_exports_one_decoder_per_class(tmp_path):
    x, y = _digits([50, 15, 10])
    gen = VAEOverSampler(conditional=True, steps=30, min_steps=0, seed=2)
    gen.fit(x, y)
    assert sorted(gen.sampling_strategy_) == [1, 2]
    latent = gen._gen.network_latent(2)
    _export_round_trip(gen, 2, lambda n: torch.randn(n, latent), tmp_path)
    z = torch.randn(4, latent)
    with torch.no_grad():
        assert not torch.equal(gen.to_torchscript(1)(z), gen.to_torchscript(2)(z))  # the class is part of it


def test_mgvae_cyclegan_and_stargan_on_tensors_export_and_reload(tmp_path):
    x, y = _digits([40, 12, 12])
    small = dict(steps=4, decay_steps=0, batch_size=4, ngf=4, ndf=4)
    for gen, latent_input in [
        (MGVAEOverSampler(sampling_strategy={1: 20}, seed=1), True),
        (CycleGANOverSampler(sampling_strategy={1: 20}, seed=1, **small), False),
        (StarGANOverSampler(sampling_strategy={1: 20, 2: 16}, seed=1, **small), False),
    ]:
        xr, yr = gen.fit_resample(x, y)
        assert torch.equal(xr[:len(x)], x)
        assert torch.bincount(yr)[1] == 20
        assert (y[gen.parents_[len(x):, 0]] == 0).all()  # translated from the majority
        assert gen.sample(1, 3).shape == (3, 1, 8, 8)
        latent = gen._gen.network_latent(1)
        make = (lambda n, L=latent: torch.randn(n, L)) if latent_input else (lambda n: x[:n])
        _export_round_trip(gen, 1, make, tmp_path)


def test_deepsmote_and_m2m_on_tensors_grow_the_classes_from_their_rows():
    """The published generative baselines on tensors: the caller's rows unchanged and first, the
    classes grown, each new row's parents real rows (DeepSMOTE: two of its class; M2m: the row it
    was moved from), the caller's dtype; no network of a class to sample or export."""
    x, y = _digits([40, 12, 12])
    x64 = x.double()
    for gen in (DeepSMOTEOverSampler(epochs=3, min_steps=0, batch_size=16, latent=8, seed=0),
                M2mOverSampler(model="mlp:hidden=[16]", epochs=5, seed=0)):
        xr, yr = gen.fit_resample(x64, y)
        assert xr.dtype == torch.float64 and torch.equal(xr[:len(x)], x64) and torch.equal(yr[:len(y)], y)
        assert torch.bincount(yr).tolist() == [40, 40, 40]
        new = gen.origin_ < 0
        assert int(new.sum()) == 56 and (gen.origin_[~new] == torch.arange(len(x))).all()
        assert (gen.parents_[new, 0] >= 0).all()
        if isinstance(gen, DeepSMOTEOverSampler):
            assert (y[gen.parents_[new, 0]] == yr[new]).all() and (y[gen.parents_[new, 1]] == yr[new]).all()
        assert gen.sampling_strategy_ == {1: 28, 2: 28}
        with pytest.raises(NotImplementedError, match="use fit_resample"):
            gen.sample(1, 3)
        with pytest.raises(NotImplementedError, match="no network"):
            gen.to_torchscript(1)


def test_generator_bad_input():
    x, y = _digits([30, 10])
    with pytest.raises(TypeError, match="floating-point tensor, got torch.int64"):
        VAEOverSampler().fit_resample(x.long(), y)
    with pytest.raises(ValueError, match="x has 40 rows but y has 39 targets"):
        VAEOverSampler().fit_resample(x, y[:-1])
    with pytest.raises(TypeError, match="integer class indices"):
        VAEOverSampler().fit_resample(x, y.float())
    bad = x.clone()
    bad[3, 0, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="x row 3, feature 18 is not finite"):
        VAEOverSampler().fit_resample(bad, y)
    with pytest.raises(TypeError, match="unexpected keyword argument 'latent_dim'"):
        VAEOverSampler(latent_dim=3)
    with pytest.raises(ValueError, match="not fitted yet"):
        VAEOverSampler().sample(1, 3)
    with pytest.raises(ValueError, match="not a generative sampler"):
        _ext.Generator("smote", 0)
    with pytest.raises(ValueError, match="keeps no network"):
        _ext.Generator("m2m", 0).fitted_classes()
