"""rebalance.torch.data: the batch policies as Samplers (class frequencies by chi-square over 10^5
draws, seeds, DataLoader workers, pickling, sharding, targets from any Dataset) and the
augmentation over-sampler over a Dataset."""
import math
import pickle

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, Subset, TensorDataset

from rebalance.torch import data as D


def _digits_longtail():
    """Digits 0-4 made long-tailed (all zeros, then 40%, 16%, ... of each next class): images
    [N, 1, 8, 8] in [0, 1] and int64 targets."""
    d = load_digits()
    keep = []
    rng = np.random.RandomState(0)
    for c in range(5):
        rows = rng.permutation(np.flatnonzero(d.target == c))
        keep.extend(rows[:max(4, int(len(rows) * 0.4 ** c))])
    keep = np.sort(np.array(keep))
    x = torch.tensor(d.images[keep] / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(d.target[keep], dtype=torch.int64)
    return x, y


X, Y = _digits_longtail()
COUNTS = torch.bincount(Y).tolist()


def _draw(sampler, total):
    out = []
    while len(out) < total:
        out.extend(iter(sampler))
    return torch.tensor(out[:total])


def _class_freq(sampler, total=100_000):
    idx = _draw(sampler, total)
    return torch.bincount(Y[idx], minlength=len(COUNTS)).double()


def _chi2_ok(observed, expected_share):
    expected = torch.tensor(expected_share, dtype=torch.float64)
    expected = expected / expected.sum() * observed.sum()
    stat, p = chisquare(observed.numpy(), expected.numpy())
    assert p > 1e-3, (observed.tolist(), expected.tolist(), stat)


def test_balanced_sampler_draws_every_class_equally():
    _chi2_ok(_class_freq(D.BalancedSampler(Y, batch_size=32, seed=1)), [1] * len(COUNTS))


def test_class_aware_sampler_draws_every_class_equally():
    _chi2_ok(_class_freq(D.ClassAwareSampler(Y, seed=2)), [1] * len(COUNTS))


def test_sqrt_sampler_draws_in_proportion_to_sqrt_counts():
    _chi2_ok(_class_freq(D.SqrtSampler(Y, seed=3)), [math.sqrt(n) for n in COUNTS])


def test_uniform_sampler_draws_in_proportion_to_counts():
    _chi2_ok(_class_freq(D.UniformSampler(Y, seed=4)), COUNTS)


def test_dynamic_sampler_follows_the_f1_it_is_given():
    s = D.DynamicSampler(Y, floor=0.2, seed=5)
    first = list(iter(s))
    assert sorted(first) == list(range(len(Y)))  # first epoch: every row once
    f1 = [0.95, 0.9, 0.6, 0.3, 0.1]
    s.update(torch.tensor(f1))
    c = len(COUNTS)
    share = [0.2 / c + 0.8 * (1 - f) / sum(1 - g for g in f1) for f in f1]
    _chi2_ok(_class_freq(s), share)
    assert s.class_draws() == D._ext.dynamic_sample_counts(f1, len(Y), 0.2)
    with pytest.raises(ValueError, match="F1 of class 1 is 1.5, outside"):
        s.update([0.5, 1.5, 0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="4 F1 values for 5 classes"):
        s.update([0.5] * 4)


def test_same_seed_same_batches_with_0_1_and_2_workers():
    ds = TensorDataset(X, Y)
    runs = []
    for workers in (0, 1, 2):
        sampler = D.BalancedSampler(ds, targets=Y, batch_size=16, seed=7)
        loader = DataLoader(ds, batch_size=16, sampler=sampler, num_workers=workers)
        batches = []
        for _ in range(2):
            batches.append([yb.tolist() for _, yb in loader])
        runs.append(batches)
    assert runs[0] == runs[1] == runs[2]
    assert runs[0][0] != runs[0][1]  # each pass moves on to the next epoch
    other = D.BalancedSampler(Y, batch_size=16, seed=8)
    assert list(iter(other)) != list(iter(D.BalancedSampler(Y, batch_size=16, seed=7)))


def test_set_epoch_and_pickling():
    s = D.SqrtSampler(Y, seed=9)
    s.set_epoch(4)
    e4 = list(iter(s))
    assert s.epoch == 5
    t = pickle.loads(pickle.dumps(D.SqrtSampler(Y, seed=9)))
    t.set_epoch(4)
    assert list(iter(t)) == e4
    assert torch.equal(s.epoch_indices(4), torch.tensor(e4))


def test_the_cli_trainer_orders_the_same_epoch():
    """The rows of epoch e are the library's BatchPolicy on the trainer's stream (seed, e)."""
    s = D.PolicySampler(Y, "balanced", batch_size=8, seed=11)
    rows = D._ext.epoch_rows("balanced", Y, len(COUNTS), 8, 11, 3, [])
    assert torch.equal(s.epoch_indices(3), rows)


def test_shards_partition_the_epoch_as_distributed_sampler():
    full = D.ClassAwareSampler(Y, seed=12).epoch_indices(0)
    for replicas in (2, 3):
        shards = [D.ClassAwareSampler(Y, seed=12, num_replicas=replicas, rank=r) for r in range(replicas)]
        got = [s.epoch_indices(0) for s in shards]
        per = math.ceil(len(full) / replicas)
        assert all(len(g) == per == len(s) for g, s in zip(got, shards))
        padded = torch.cat([full, full])[:per * replicas]
        for r in range(replicas):
            assert torch.equal(got[r], padded[r::replicas])
        dropped = [D.ClassAwareSampler(Y, seed=12, num_replicas=replicas, rank=r, drop_last=True) for r in
                   range(replicas)]
        assert sum(len(d.epoch_indices(0)) for d in dropped) == len(full) // replicas * replicas
    with pytest.raises(ValueError, match=r"rank must be in \[0, 1\], got 2"):
        D.ClassAwareSampler(Y, num_replicas=2, rank=2)


class _ItemsOnly(torch.utils.data.Dataset):
    def __len__(self):
        return len(Y)

    def __getitem__(self, i):
        return X[i], int(Y[i])


class _WithTargets(_ItemsOnly):
    targets = Y.tolist()


def test_targets_from_any_dataset():
    ref = D.SqrtSampler(Y, seed=13).epoch_indices(0)
    for data, kw in [(_ItemsOnly(), {}), (_WithTargets(), {}), (Y.numpy(), {}), (Y.tolist(), {}),
                     (_ItemsOnly(), {"targets": lambda ds: [ds[i][1] for i in range(len(ds))]}),
                     (TensorDataset(X, Y), {"targets": Y})]:
        assert torch.equal(D.SqrtSampler(data, seed=13, **kw).epoch_indices(0), ref)
    sub = Subset(_WithTargets(), list(range(0, len(Y), 2)))
    s = D.SqrtSampler(sub, seed=1)
    assert len(s) == len(sub)
    assert torch.equal(s.targets, Y[::2])


def test_bad_targets_name_the_value():
    with pytest.raises(TypeError, match="integer class indices, got torch.float32"):
        D.BalancedSampler(Y.float())
    with pytest.raises(ValueError, match=r"target -3 \(index 1\) is negative"):
        D.BalancedSampler(torch.tensor([0, -3, 1]))
    with pytest.raises(ValueError, match=r"target 3 \(index .*\) is out of range for 3 classes"):
        D.BalancedSampler(Y, num_classes=3)
    with pytest.raises(ValueError, match="unknown batch policy"):
        D.PolicySampler(Y, "stratified")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        D.BalancedSampler(Y, batch_size=0)


def test_augmentation_over_sampler_tops_up_rare_classes_lazily():
    ds = TensorDataset(X, Y)
    aug = D.AugmentationOverSampler(ds, "hflip:p=1|vflip:p=1", sampling_strategy="at_least:40", seed=3)
    counts = torch.bincount(aug.targets).tolist()
    assert counts == [max(40, n) for n in COUNTS]
    assert len(aug) == sum(counts)
    n = len(ds)
    for i in (0, n - 1):  # the dataset's own items, unchanged
        assert torch.equal(aug[i][0], ds[i][0]) and aug.origin(i) == i
    for k in range(len(aug) - n):
        img, label = aug[n + k]
        src = int(aug.source_index[k])
        assert label == int(Y[src]) and aug.origin(n + k) == -1
        flipped = X[src].flip(2) if int(aug.alternative[k]) == 0 else X[src].flip(1)
        assert torch.equal(img, flipped)
    # The copies are the CLI augment sampler's plan: image sources in rounds over the class.
    c = int(aug.copy_class[0])
    rows = torch.nonzero(Y == c).flatten()
    src, alt = D._ext.copy_plan(len(rows), counts[c] - COUNTS[c], 2, 3, c)
    assert torch.equal(aug.source_index[:len(src)], rows[torch.tensor(src)])
    with pytest.raises(IndexError, match="out of range"):
        aug[len(aug)]


def test_augmented_copies_are_the_same_in_every_worker():
    ds = TensorDataset(X, Y)
    aug = D.AugmentationOverSampler(ds, "rotate:degrees=30|blur:sigma=1", sampling_strategy="at_least:30", seed=5)
    loaded = []
    for workers in (0, 2):
        loader = DataLoader(aug, batch_size=64, num_workers=workers)
        loaded.append(torch.cat([xb for xb, _ in loader]))
    assert torch.equal(loaded[0], loaded[1])
    n = len(ds)
    assert not torch.equal(loaded[0][n:], X[aug.source_index])  # the copies are transformed
