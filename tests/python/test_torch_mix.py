"""rebalance.torch.mix: the mixing rules on DataLoader batches (the library's label arithmetic,
checked against plain PyTorch), the mixed criterion with nn losses and rebalance's, seeds,
pickling and the errors a PyTorch user meets."""
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rebalance.torch import losses as L
from rebalance.torch.mix import Mix, MixedBatch, mix_names


def _digits_longtail():
    """Digits 0-4 made long-tailed: images [N, 1, 8, 8] in [0, 1] and int64 targets."""
    d = load_digits()
    rng = np.random.RandomState(0)
    keep = []
    for c in range(5):
        rows = rng.permutation(np.flatnonzero(d.target == c))
        keep.extend(rows[:max(4, int(len(rows) * 0.4 ** c))])
    keep = np.sort(np.array(keep))
    return (torch.tensor(d.images[keep] / 16.0, dtype=torch.float32)[:, None],
            torch.tensor(d.target[keep], dtype=torch.int64))


X, Y = _digits_longtail()
COUNTS = torch.bincount(Y).tolist()


def test_names_and_counts():
    assert mix_names() == ["mixup", "remix", "cutmix", "cmo"]
    assert Mix("remix", targets=TensorDataset(X, Y).tensors[1]).class_counts == COUNTS
    assert Mix("mixup").class_counts == []


def test_mixup_is_a_convex_blend_with_one_ratio():
    torch.manual_seed(0)
    x, y = X[:32], Y[:32]
    b = Mix("mixup:alpha=0.4")(x, y)
    assert b.mixed and not b.per_row and 0 <= b.ratio <= 1
    assert torch.equal(b.y_a, y)
    # Each mixed row is ratio * its own row + (1 - ratio) * one other row of the batch of class y_b.
    for i in range(32):
        partner = (b.x[i] - b.ratio * x[i]) / (1 - b.ratio)
        j = int(((x - partner).abs().flatten(1).amax(1)).argmin())
        assert torch.allclose(x[j], partner, atol=1e-4)
        assert int(Y[j]) == int(b.y_b[i])
    assert torch.all(b.lam == b.ratio)


def test_remix_shares_follow_the_counts():
    mixer = Mix("remix:kappa=3,tau=0.5", targets=Y)
    torch.manual_seed(1)
    moved = 0
    for _ in range(20):
        idx = torch.randint(0, len(Y), (16,))
        b = mixer(X[idx], Y[idx])
        n_a = torch.tensor(COUNTS)[b.y_a].double()
        n_b = torch.tensor(COUNTS)[b.y_b].double()
        lam = b.ratio
        want = torch.full((16,), lam, dtype=torch.float64)
        want[(n_a / n_b >= 3) & (lam < 0.5)] = 0.0
        want[(n_a / n_b <= 1 / 3) & (1 - lam < 0.5)] = 1.0
        assert torch.allclose(b.lam.double(), want, atol=1e-7)
        moved += int((want != lam).sum())
    assert moved > 0


def test_cutmix_and_cmo_paste_boxes_on_images():
    torch.manual_seed(2)
    b = Mix("cutmix")(X[:16], Y[:16])
    changed = (b.x != X[:16]).flatten(1).any(1)
    area = 1 - b.ratio
    assert changed.any() or area == 0
    mixer = Mix("cmo:p=1", targets=Y, images=X)
    minority = 0
    for _ in range(100):
        idx = torch.randint(0, len(Y), (16,))
        out = mixer(X[idx], Y[idx])
        assert out.mixed
        minority += int((out.y_b >= 3).sum())
    # power 1: classes drawn equally often, so classes 3 and 4 take about 2/5 of the foregrounds
    # although they hold a few percent of the rows.
    assert abs(minority / 1600 - 0.4) < 0.05


def test_mixed_loss_with_pytorch_and_rebalance_criteria():
    torch.manual_seed(3)
    logits = torch.randn(16, 5, dtype=torch.float64, requires_grad=True)
    b = Mix("mixup")(X[:16], Y[:16])
    ce = nn.CrossEntropyLoss()
    want = b.ratio * ce(logits, b.y_a) + (1 - b.ratio) * ce(logits, b.y_b)
    assert torch.allclose(b.loss(ce, logits), want)
    # Remix: per-row shares, a per-row criterion, PyTorch's soft-target cross-entropy.
    r = Mix("remix", targets=Y)(X[:16], Y[:16])
    soft = torch.zeros(16, 5, dtype=torch.float64)
    soft[torch.arange(16), r.y_a] += r.lam.double()
    soft[torch.arange(16), r.y_b] += 1 - r.lam.double()
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    got = r.loss(nn.CrossEntropyLoss(weight=w, reduction="none"), logits)
    assert torch.allclose(got, nn.functional.cross_entropy(logits, soft, weight=w))
    got.backward()
    assert logits.grad.abs().sum() > 0
    lw = L.WeightedCrossEntropyLoss(COUNTS, reduction="none")
    assert torch.isfinite(r.loss(lw, logits.detach()))
    with pytest.raises(ValueError, match="reduction='none'"):
        r.loss(nn.CrossEntropyLoss(), logits)


def test_seeded_by_torch_and_by_generator_and_pickles():
    mixer = Mix("cmo:p=1", targets=Y, images=X)
    torch.manual_seed(5)
    a = mixer(X[:8], Y[:8])
    torch.manual_seed(5)
    b = mixer(X[:8], Y[:8])
    assert torch.equal(a.x, b.x) and torch.equal(a.y_b, b.y_b)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert torch.equal(Mix("mixup", generator=g1)(X[:8], Y[:8]).x, Mix("mixup", generator=g2)(X[:8], Y[:8]).x)
    copy = pickle.loads(pickle.dumps(mixer))
    torch.manual_seed(5)
    assert torch.equal(copy(X[:8], Y[:8]).x, a.x)


def test_epoch_window_and_training_loop():
    mixer = Mix("mixup:start=1,end=1", epochs=3)
    assert [mixer.active(e) for e in range(3)] == [False, True, False]
    x, y = X[:8], Y[:8]
    out = mixer(x, y)
    assert not out.mixed and out.x is not None and torch.equal(out.x, x)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True)
    mixer = Mix("remix", targets=Y)
    crit = L.CrossEntropyLoss(COUNTS, reduction="none")
    torch.manual_seed(0)
    for epoch in range(2):
        mixer.set_epoch(epoch)
        for xb, yb in loader:
            batch = mixer(xb, yb)
            loss = batch.loss(crit, model(batch.x))
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert torch.isfinite(loss)


def test_errors():
    with pytest.raises(TypeError, match="factory string"):
        Mix(3)
    with pytest.raises(ValueError, match='unknown mixing rule "snow"'):
        Mix("snow")
    with pytest.raises(ValueError, match="alpha"):
        Mix("mixup:alpha=0")
    with pytest.raises(ValueError, match="pass targets="):
        Mix("remix")
    with pytest.raises(ValueError, match="pass images="):
        Mix("cmo", targets=Y)
    with pytest.raises(TypeError, match=r"float tensor \[N, C, H, W\]"):
        Mix("cmo", targets=Y, images=(X * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="pass epochs="):
        Mix("mixup:end=2")
    with pytest.raises(ValueError, match=r"images \[B, C, H, W\]"):
        Mix("cutmix")(X[:4].flatten(1), Y[:4])
    with pytest.raises(TypeError, match="integer tensor"):
        Mix("mixup")(X[:4], Y[:4].float())
    with pytest.raises(TypeError, match="floating-point"):
        Mix("mixup")(Y[:4], Y[:4])
    assert "mixed=" in repr(Mix("mixup")(X[:4], Y[:4])) and isinstance(Mix("mixup")(X[:4], Y[:4]), MixedBatch)


def test_decouple_tau_norm_and_max_norm_on_a_linear_head():
    from rebalance.torch.decouple import max_norm_, tau_normalize_, tau_normalized
    fc = nn.Linear(2, 3)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, 0.0]]))
    assert torch.allclose(tau_normalized(fc.weight, 0.5)[0], torch.tensor([3.0, 4.0]) / 5 ** 0.5)
    tau_normalize_(fc, 1.0)
    assert torch.allclose(fc.weight, torch.tensor([[0.6, 0.8], [0.6, 0.8], [0.0, 0.0]]))
    assert torch.equal(fc.bias, torch.zeros(3))
    with torch.no_grad():
        fc.weight.mul_(10)
    max_norm_(fc, 2.0)
    assert torch.allclose(fc.weight.norm(dim=1), torch.tensor([2.0, 2.0, 0.0]))
    with pytest.raises(TypeError, match="nn.Linear"):
        max_norm_(nn.Conv2d(1, 1, 1), 1.0)
    with pytest.raises(ValueError, match="radius"):
        max_norm_(fc, 0)
    with pytest.raises(ValueError, match="tau"):
        tau_normalize_(fc, 3)


def test_choose_tau_is_the_best_balanced_accuracy_of_the_grid():
    from rebalance.torch.decouple import choose_tau, tau_normalized
    torch.manual_seed(0)
    fc = nn.Linear(6, 3)
    with torch.no_grad():
        fc.weight.mul_(torch.tensor([[8.0], [1.0], [0.3]]))  # a head whose norms follow the class counts
    feats = torch.randn(90, 6)
    targets = torch.arange(3).repeat(30)

    def balanced_accuracy(tau):
        pred = (feats @ tau_normalized(fc.weight, tau).T).argmax(1)
        return torch.stack([(pred[targets == c] == c).double().mean() for c in range(3)]).mean().item()
    grid = [round(0.05 * i, 2) for i in range(41)]
    best = max(balanced_accuracy(t) for t in grid)
    tau = choose_tau(fc, feats, targets)
    assert abs(balanced_accuracy(tau) - best) < 1e-12
    assert tau == min((t for t in grid if abs(balanced_accuracy(t) - best) < 1e-12), key=lambda t: abs(t - 1))
    with pytest.raises(TypeError, match="integer"):
        choose_tau(fc, feats, targets.float())
    with pytest.raises(ValueError, match=r"features must be \[N, 6\]"):
        choose_tau(fc, feats[:, :4], targets)
    with pytest.raises(ValueError, match="none were given"):
        choose_tau(fc, feats[:0], targets[:0])


def test_learnable_weight_scaling_scales_each_logit_and_folds_into_the_layer():
    from rebalance.torch.decouple import LearnableWeightScaling
    torch.manual_seed(0)
    fc = nn.Linear(4, 3)
    before = fc.weight.detach().clone(), fc.bias.detach().clone()
    lws = LearnableWeightScaling(fc)
    assert [n for n, p in lws.named_parameters() if p.requires_grad] == ["scales"]
    x = torch.randn(8, 4)
    assert torch.allclose(lws(x), fc(x))
    with torch.no_grad():
        lws.scales.copy_(torch.tensor([2.0, 0.5, 1.5]))
    scaled = lws(x)
    assert torch.allclose(scaled, fc(x) * torch.tensor([2.0, 0.5, 1.5]))
    # one step on the scales alone: the layer's own weights stay as they are
    opt = torch.optim.SGD(lws.parameters(), lr=0.1)
    nn.functional.cross_entropy(lws(x), torch.tensor([0, 1, 2, 2, 1, 0, 2, 2])).backward()
    opt.step()
    assert torch.equal(fc.weight, before[0]) and torch.equal(fc.bias, before[1])
    learnt = lws(x).detach()
    folded = lws.fold_()
    assert folded is fc and torch.allclose(folded(x), learnt, atol=1e-6)
    assert torch.equal(lws.scales.detach(), torch.ones(3))
    with pytest.raises(TypeError, match="nn.Linear"):
        LearnableWeightScaling(nn.Conv2d(1, 1, 1))


def test_cosine_linear_gives_cosines_and_ldam_trains_on_it():
    from rebalance.torch.decouple import CosineLinear
    head = CosineLinear(2, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    assert torch.allclose(head(torch.tensor([[3.0, 4.0], [0.0, 0.0]])), torch.tensor([[0.6, 0.8], [0.0, 0.0]]))
    x = torch.randn(5, 2, requires_grad=True)
    ref = nn.functional.linear(nn.functional.normalize(x), nn.functional.normalize(head.weight))
    assert torch.allclose(head(x), ref, atol=1e-6)
    head(x).sum().backward()
    assert head.weight.grad is not None and x.grad is not None
    assert "in_features=2, out_features=2" in repr(head)
    # LDAM's s=30 on cosines learns the long tail (the CLI's resnet:head=cosine, loss ldam)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), CosineLinear(32, 5))
    criterion = L.LDAMLoss.from_targets(Y, drw_epoch=20)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    for epoch in range(40):
        criterion.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            criterion(model(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        pred = model(X).argmax(1)
    recalls = [(pred[Y == c] == c).float().mean().item() for c in range(5)]
    assert min(recalls) > 0.8, recalls
    with pytest.raises(ValueError, match="in_features"):
        CosineLinear(0, 3)
    with pytest.raises(ValueError, match="columns"):
        head(torch.randn(3, 4))
