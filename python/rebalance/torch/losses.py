"""Every loss of ``rebalance methods losses`` as a ``torch.nn.Module``, built from class counts.

    criterion = LDAMLoss(class_counts, max_margin=0.5, s=30, drw_epoch=160)
    criterion = ClassBalancedLoss.from_targets(train_set.targets, beta=0.999, base="focal")
    criterion = make_loss("cb:beta=0.999,base=focal", class_counts)
    for epoch in range(epochs):
        criterion.set_epoch(epoch)            # deferred re-weighting (every loss's drw_epoch) switches here
        ...
        loss = criterion(model(x), y)         # logits [B, C], targets [B] int64: the batch mean
        loss.backward()

The formulas are the C++ library's, the ones the CLI trainer uses (``src/losses/loss.cpp``):
``forward`` calls them on the caller's tensors without a copy, and autograd runs through them on
any device. Each class's constructor takes the parameters the factory declares, with its
defaults, and ``reduction``; ``make_loss`` takes the factory's strings. ``reduction="mean"`` (the
default) is the batch mean as the trainer computes it (PyTorch's weighted mean
sum(w_y l) / sum(w_y) for the weighted and LDAM losses, the class-balanced paper's plain mean of
weighted terms for ``cb`` and focal); ``"none"`` gives each sample's term w_y l_i (PyTorch's
meaning with class weights) and ``"sum"`` their sum.
"""
import inspect
import numbers

import torch
from torch import nn

from .. import _params
from . import _ext
from ._compiled import CompiledState
from ._targets import class_counts_of, read_targets

__all__ = ["RebalanceLoss", "make_loss", "loss_names"]

# The factory's losses and the class each becomes (parameters come from the declarations).
_CLASS_NAMES = {
    "ce": "CrossEntropyLoss",
    "weighted_ce": "WeightedCrossEntropyLoss",
    "focal": "FocalLoss",
    "cb": "ClassBalancedLoss",
    "la": "LogitAdjustedLoss",
    "balanced_softmax": "BalancedSoftmaxLoss",
    "ldam": "LDAMLoss",
}
_DECLARED = {name: (description, params) for name, description, params in _ext.losses()}


def loss_names():
    """The factory names of every loss (``rebalance methods losses``)."""
    return list(_DECLARED)


def _counts(class_counts, who):
    if isinstance(class_counts, torch.Tensor):
        if class_counts.is_floating_point():
            raise TypeError(f"{who}: class_counts must be integers, got a tensor of {class_counts.dtype}")
        class_counts = class_counts.tolist()
    elif hasattr(class_counts, "tolist"):
        class_counts = class_counts.tolist()
    try:
        values = list(class_counts)
    except TypeError:
        raise TypeError(f"{who}: class_counts must be a sequence of per-class counts, got "
                        f"{type(class_counts).__name__}") from None
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{who}: class_counts[{i}] must be an integer count, got {v!r}")
        out.append(int(v))
    return out


class RebalanceLoss(CompiledState, nn.Module):
    """A rebalance loss as an ``nn.Module``: ``forward(logits, target)`` is the batch's scalar
    loss. ``set_epoch(e)`` (0-based) before each epoch drives deferred re-weighting; the epoch is
    kept in ``state_dict()``. ``class_weights`` is the per-class weight in use now (or None)."""

    _factory = None

    def __init__(self, class_counts, spec=None, reduction="mean", **params):
        super().__init__()
        name = type(self).__name__
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction (mean, sum or none)")
        self.reduction = reduction
        counts = _counts(class_counts, name)
        if spec is None:
            spec = _params.spec(self._factory, params)
        self._spec = spec
        self.class_counts = tuple(counts)
        self._impl = _ext.make_loss(spec, counts)
        self.epoch = 0

    @classmethod
    def from_targets(cls, targets, num_classes=None, **params):
        """Built from training targets (a tensor, array, sequence, or a Dataset with ``targets``):
        class counts by ``bincount`` over ``num_classes`` (default: the largest target + 1)."""
        t = read_targets(targets)
        return cls(class_counts_of(t, num_classes), **params)

    @property
    def spec(self):
        """The factory string this loss was built from (``rebalance train --loss``'s form)."""
        return self._spec

    @property
    def num_classes(self):
        return len(self.class_counts)

    @property
    def class_weights(self):
        w = self._impl.class_weights()
        return torch.tensor(w, dtype=torch.float64) if w else None

    def set_epoch(self, epoch):
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
            raise ValueError(f"{type(self).__name__}.set_epoch: epoch must be an integer >= 0, got {epoch!r}")
        self.epoch = int(epoch)
        self._impl.set_epoch(self.epoch)

    def forward(self, logits, target):
        if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
            raise TypeError(f"{type(self).__name__}: logits and target must be tensors, got "
                            f"{type(logits).__name__} and {type(target).__name__}")
        if self.reduction == "mean":
            return self._impl.forward(logits, target)
        terms = self._impl.per_sample(logits, target)
        return terms.sum() if self.reduction == "sum" else terms

    def extra_repr(self):
        extra = "" if self.reduction == "mean" else f", reduction={self.reduction!r}"
        return f"spec={self._spec!r}, num_classes={self.num_classes}{extra}"

    # The epoch travels with the module's state_dict (torch.save of a checkpoint).
    def get_extra_state(self):
        return {"epoch": self.epoch, "spec": self._spec, "class_counts": list(self.class_counts)}

    def set_extra_state(self, state):
        if state.get("spec") != self._spec or list(state.get("class_counts", ())) != list(self.class_counts):
            raise ValueError(f"{type(self).__name__}: the state was saved by loss {state.get('spec')!r} over "
                             f"class counts {state.get('class_counts')}, not {self._spec!r} over "
                             f"{list(self.class_counts)}")
        self.set_epoch(state["epoch"])

    def _rebuild(self):
        self._impl = _ext.make_loss(self._spec, list(self.class_counts))
        self._impl.set_epoch(self.epoch)


class _Generic(RebalanceLoss):
    """A loss from a factory string (``make_loss``)."""


def make_loss(spec, class_counts, reduction="mean"):
    """A loss from its factory string, as ``rebalance train --loss`` takes it:
    ``make_loss("ldam:drw_epoch=160", counts)``, ``make_loss("cb:beta=0.999,base=focal", counts)``."""
    if not isinstance(spec, str):
        raise TypeError(f"make_loss: spec must be a factory string, got {type(spec).__name__}")
    name = spec.split(":", 1)[0].strip()
    cls = globals().get(_CLASS_NAMES.get(name, ""), _Generic)
    loss = RebalanceLoss.__new__(cls)
    RebalanceLoss.__init__(loss, class_counts, spec=spec, reduction=reduction)
    return loss


def _make_class(factory, class_name):
    description, declared = _DECLARED[factory]
    own = [(n, _params.python_default(d), h) for n, d, h in declared]

    def __init__(self, class_counts, reduction="mean", **kwargs):
        unknown = sorted(set(kwargs) - {n for n, _, _ in own})
        if unknown:
            raise TypeError(f"{class_name}.__init__() got an unexpected keyword argument {unknown[0]!r}")
        params = {n: kwargs[n] for n, _, _ in own if n in kwargs}
        RebalanceLoss.__init__(self, class_counts, reduction=reduction, **params)
        for n, d, _ in own:
            setattr(self, n, params.get(n, d))

    sig = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
           inspect.Parameter("class_counts", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    sig += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d, _ in own]
    sig += [inspect.Parameter("reduction", inspect.Parameter.KEYWORD_ONLY, default="mean")]
    __init__.__signature__ = inspect.Signature(sig)
    __init__.__qualname__ = f"{class_name}.__init__"
    lines = [f"{class_name}: {description} (factory name ``{factory}``).", "",
             "class_counts : training examples per class (every count > 0)"]
    for n, d, h in own:
        lines += [f"{n} : default {d!r}", f"    {h}"]
    lines += ["reduction : default 'mean'", "    mean (the trainer's), sum, or none (each sample's w_y l_i)"]
    cls = type(class_name, (RebalanceLoss,), {"__init__": __init__, "_factory": factory, "__doc__": "\n".join(lines),
                                              "__module__": __name__})
    cls.__qualname__ = class_name
    return cls


for _factory, _name in _CLASS_NAMES.items():
    if _factory in _DECLARED:
        globals()[_name] = _make_class(_factory, _name)
        __all__.append(_name)
