"""rebalance's batch policies as ``torch.utils.data.Sampler``\\ s, and the augmentation over-sampler
over a ``Dataset``.

    sampler = BalancedSampler(train_set, batch_size=128, seed=0)
    loader = DataLoader(train_set, batch_size=128, sampler=sampler, num_workers=2)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)               # optional: each pass moves on by itself
        for x, y in loader: ...

    dyn = DynamicSampler(train_set)            # F1-driven (Pouyanfar et al. 2018)
    ...
    dyn.update(per_class_f1)                   # between epochs: low-F1 classes get more draws

Targets come from a tensor or sequence, a Dataset's ``targets`` attribute (torchvision's), a
``Subset`` of one, ``targets=`` (a tensor, a sequence or a callable taking the dataset), or else
the ``(input, target)`` items themselves. Each epoch's indices are the CLI trainer's for the same
seed, epoch and policy (the library draws them); a sampler holds only plain Python state, so it
pickles into DataLoader workers, and with ``num_replicas``/``rank`` each process takes its own
shard of the same epoch, as ``DistributedSampler`` does (padding with the epoch's first indices,
or dropping the tail with ``drop_last``).
"""
import math
import numbers

import torch
from torch.utils.data import Dataset, Sampler

from .. import _params
from . import _ext
from ._targets import class_counts_of, read_targets

__all__ = ["PolicySampler", "UniformSampler", "BalancedSampler", "SqrtSampler", "ClassAwareSampler",
           "DynamicSampler", "AugmentationOverSampler", "batch_policy_names"]

_DECLARED = {name: (description, params) for name, description, params in _ext.batch_policies()}


def batch_policy_names():
    """The factory names of every batch policy (``rebalance methods batch-policies``)."""
    return list(_DECLARED)


def _positive_int(value, name, who, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive integer, got {value!r}")
    return int(value)


class PolicySampler(Sampler):
    """The indices of each epoch chosen by a batch policy (a factory string, as
    ``rebalance train --batch-policy`` takes it: ``"balanced"``, ``"sqrt"``, ``"dynamic:floor=0.1"``).

    data : a Dataset, or the targets themselves
    targets : overrides where targets come from (a tensor, a sequence, or a callable taking ``data``)
    num_classes : default: the largest target + 1
    batch_size : the DataLoader's batch size; the balanced policy makes every batch of this many
        indices class-balanced (default: the number of classes)
    seed : the epochs' orders come from (seed, epoch), as in the CLI trainer
    num_replicas, rank : shard each epoch across processes (default: torch.distributed's world
        size and rank when it is initialised, else 1 and 0)
    drop_last : drop the tail that does not split evenly across replicas instead of padding
    """

    def __init__(self, data, policy="uniform", *, targets=None, num_classes=None, batch_size=None, seed=0,
                 num_replicas=None, rank=None, drop_last=False):
        who = type(self).__name__
        if not isinstance(policy, str):
            raise TypeError(f"{who}: policy must be a factory string, got {type(policy).__name__}")
        self.targets = read_targets(data, targets, where=who)
        if self.targets.numel() == 0:
            raise ValueError(f"{who}: there are no targets to sample from")
        self.class_counts = class_counts_of(self.targets, num_classes, where=who)
        self.num_classes = len(self.class_counts)
        self.policy = policy
        self.batch_size = _positive_int(batch_size, "batch_size", who, allow_none=True) or self.num_classes
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"{who}: seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        if num_replicas is None or rank is None:
            dist = torch.distributed.is_available() and torch.distributed.is_initialized()
            if num_replicas is None:
                num_replicas = torch.distributed.get_world_size() if dist else 1
            if rank is None:
                rank = torch.distributed.get_rank() if dist else 0
        self.num_replicas = _positive_int(num_replicas, "num_replicas", who)
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < self.num_replicas:
            raise ValueError(f"{who}: rank must be in [0, {self.num_replicas - 1}], got {rank!r}")
        self.rank = int(rank)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self._state = []
        self._total = None
        # A bad policy string fails here, not in the first epoch.
        self._epoch_indices(0)

    def _epoch_indices(self, epoch):
        return _ext.epoch_rows(self.policy, self.targets, self.num_classes, self.batch_size, self.seed, epoch,
                               self._state)

    def set_epoch(self, epoch):
        """The epoch the next pass draws (as ``DistributedSampler.set_epoch``); passes without it
        move on by one each time."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"{type(self).__name__}.set_epoch: epoch must be an integer >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    def _shard(self, indices):
        total = indices.numel()
        if self.num_replicas == 1:
            return indices
        if self.drop_last:
            per = total // self.num_replicas
            indices = indices[:per * self.num_replicas]
        else:
            per = math.ceil(total / self.num_replicas)
            pad = per * self.num_replicas - total
            if pad:
                reps = math.ceil(pad / total)
                indices = torch.cat([indices] + [indices] * reps)[:per * self.num_replicas]
        return indices[self.rank::self.num_replicas]

    def epoch_indices(self, epoch=None):
        """This replica's indices of `epoch` (default: the next pass's) as an int64 tensor."""
        return self._shard(self._epoch_indices(self.epoch if epoch is None else epoch))

    def __iter__(self):
        indices = self.epoch_indices()
        self.epoch += 1
        return iter(indices.tolist())

    def __len__(self):
        if self._total is None:
            self._total = int(self._epoch_indices(self.epoch).numel())
        if self.num_replicas == 1:
            return self._total
        if self.drop_last:
            return self._total // self.num_replicas
        return math.ceil(self._total / self.num_replicas)

    def __repr__(self):
        return (f"{type(self).__name__}(policy={self.policy!r}, num_classes={self.num_classes}, "
                f"seed={self.seed}, num_replicas={self.num_replicas}, rank={self.rank})")


class UniformSampler(PolicySampler):
    """Every index once per epoch, shuffled (the CLI trainer's default order)."""

    def __init__(self, data, **kwargs):
        super().__init__(data, "uniform", **kwargs)


class BalancedSampler(PolicySampler):
    """Class-balanced batches drawn with replacement: each run of ``batch_size`` indices holds
    (nearly) equal numbers of every class; an epoch has as many batches as a uniform pass."""

    def __init__(self, data, **kwargs):
        super().__init__(data, "balanced", **kwargs)


class SqrtSampler(PolicySampler):
    """Square-root sampling (Mahajan et al., ECCV 2018): class c gets draws in proportion to
    sqrt(n_c), rows within a class uniformly; N draws per epoch."""

    def __init__(self, data, **kwargs):
        super().__init__(data, "sqrt", **kwargs)


class ClassAwareSampler(PolicySampler):
    """Class-aware sampling (Shen, Lin & Huang, ECCV 2016): a class from shuffled passes over the
    classes, then the next index of that class's own shuffled passes; N draws per epoch."""

    def __init__(self, data, **kwargs):
        super().__init__(data, "class_aware", **kwargs)


class DynamicSampler(PolicySampler):
    """F1-driven dynamic sampling (Pouyanfar et al., MIPR 2018). The first epoch visits every
    index once; after ``update(per_class_f1)``, class c gets a share
    floor / C + (1 - floor) (1 - F1_c) / sum_k (1 - F1_k) of the N draws."""

    def __init__(self, data, *, floor=0.0, **kwargs):
        self.floor = floor
        super().__init__(data, _params.spec("dynamic", {"floor": floor}), **kwargs)

    def update(self, per_class_f1):
        """The validation F1 of each class after an epoch (a sequence or tensor of C values in [0, 1])."""
        f1 = per_class_f1.tolist() if hasattr(per_class_f1, "tolist") else list(per_class_f1)
        if len(f1) != self.num_classes:
            raise ValueError(f"DynamicSampler.update: {len(f1)} F1 values for {self.num_classes} classes")
        for c, v in enumerate(f1):
            if not isinstance(v, numbers.Real) or not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"DynamicSampler.update: F1 of class {c} is {v!r}, outside [0, 1]")
        self._state = [float(v) for v in f1]

    def class_draws(self):
        """The draws each class gets in the next epoch (None before the first update)."""
        if not self._state:
            return None
        return _ext.dynamic_sample_counts(self._state, int(self.targets.numel()), float(self.floor))


def _strategy_text(strategy, num_classes):
    if isinstance(strategy, str):
        return strategy
    if isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        if num_classes != 2:
            raise ValueError('"sampling_strategy" can be a float only when the type of target is binary. '
                             "For multi-class, use a dict.")
        return repr(float(strategy))
    if isinstance(strategy, dict):
        parts = []
        for k, v in strategy.items():
            if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < num_classes:
                raise ValueError(f"sampling_strategy: class {k!r} is not one of 0..{num_classes - 1}")
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(f"sampling_strategy[{k!r}] must be an integer number of samples, got {v!r}")
            parts.append(f"{int(k)}:{int(v)}")
        return "{" + ",".join(parts) + "}"
    raise ValueError(f"sampling_strategy must be a str, a float or a dict, got {type(strategy).__name__}")


class AugmentationOverSampler(Dataset):
    """A Dataset topped up with augmented copies of its rare classes' images (the copying of
    Chatterjee's whale post): items 0..len(dataset)-1 are the dataset's own, unchanged; item
    len(dataset) + k is copy k, made on access from a real image of its class through one
    alternative of ``transforms`` (alternatives used in turn, round by round), seeded by
    (seed, class, k) so every worker and every epoch sees the same copy.

    The copies are the CLI's ``augment`` sampler's plan (``sampling_strategy`` as
    imbalanced-learn's: ``"auto"``, ``"at_least:10"``, a dict class -> wanted count, a float for
    binary targets). ``source_index[k]`` is the dataset index copy k was made from, and
    ``origin(i)`` says where item i came from (its own index, or -1 for a copy).
    A copy's item is the source item with its image transformed (float ``[C, H, W]``; uint8
    images are scaled to [0, 1] for the transform and back) and its target the class, of the
    type the dataset's own targets have.
    """

    def __init__(self, dataset, transforms="channel:which=r|channel:which=g|channel:which=b|blur|unsharp", *,
                 sampling_strategy="auto", targets=None, num_classes=None, seed=0):
        from .transforms import Augment  # noqa: PLC0415  (transforms imports nothing from here)
        self.dataset = dataset
        self.augment = Augment(transforms)
        self.targets_in = read_targets(dataset, targets, where="AugmentationOverSampler")
        counts = class_counts_of(self.targets_in, num_classes, where="AugmentationOverSampler")
        self.num_classes = len(counts)
        self.seed = int(seed)
        text = _strategy_text(sampling_strategy, self.num_classes)
        self.sampling_strategy_ = dict(_ext.resolve_strategy(text, self.targets_in, self.num_classes, "over-sampling"))
        sources, alts, classes = [], [], []
        for c, add in sorted(self.sampling_strategy_.items()):
            if add <= 0:
                continue
            rows = torch.nonzero(self.targets_in == c).flatten()
            src, alt = _ext.copy_plan(int(rows.numel()), int(add), self.augment.alternatives, self.seed, int(c))
            sources.append(rows[torch.tensor(src, dtype=torch.int64)])
            alts.append(torch.tensor(alt, dtype=torch.int64))
            classes.append(torch.full((int(add),), int(c), dtype=torch.int64))
        empty = torch.empty(0, dtype=torch.int64)
        self.source_index = torch.cat(sources) if sources else empty
        self.alternative = torch.cat(alts) if alts else empty
        self.copy_class = torch.cat(classes) if classes else empty
        self.targets = torch.cat([self.targets_in, self.copy_class])

    def __len__(self):
        return len(self.dataset) + int(self.source_index.numel())

    def origin(self, index):
        return index if index < len(self.dataset) else -1

    def __getitem__(self, index):
        n = len(self.dataset)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} items")
        if index < n:
            return self.dataset[index]
        k = index - n
        item = self.dataset[int(self.source_index[k])]
        image = item[0] if isinstance(item, (tuple, list)) else item
        seed = hash((self.seed, int(self.copy_class[k]), k)) & ((1 << 63) - 1)
        copy = self.augment.alternative_of(int(self.alternative[k]), image, seed)
        if not isinstance(item, (tuple, list)):
            return copy, int(self.copy_class[k])
        # The label as the dataset gives its own (a tensor stays a tensor), other fields as they are.
        label = item[1]
        label = torch.tensor(int(self.copy_class[k]), dtype=label.dtype) if isinstance(label, torch.Tensor) else int(
            self.copy_class[k])
        return (copy, label) + tuple(item[2:])
