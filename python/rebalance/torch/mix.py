"""Mixing inside a PyTorch training loop: mixup, Remix, CutMix and CMO, the rules of
``rebalance methods mixing`` (the CLI's ``--mix``), on the batches a DataLoader yields.

    mixer = Mix("remix", targets=train_set)                  # Remix reads the class counts
    mixer = Mix("cmo", targets=train_set, images=train_x)    # CMO pastes training images
    for epoch in range(epochs):
        mixer.set_epoch(epoch)
        for x, y in loader:
            batch = mixer(x, y)
            loss = batch.loss(criterion, model(batch.x))

Each row of ``batch.x`` is trained on ``lam * criterion(logits, y_a) + (1 - lam) * criterion(logits,
y_b)``. mixup, CutMix and CMO share one ratio per batch, so any criterion works as written in the
papers; Remix's shares differ row by row, so its criterion must give each row's term
(``reduction="none"``), and the batch loss is their mean: PyTorch's ``cross_entropy`` with
probability targets. Draws come from torch's generator (``torch.manual_seed`` reproduces them) or
from ``generator=``; the mixing itself is the library's C++ code, the same as the CLI trainer's.
"""
import torch

from . import _ext
from ._compiled import CompiledState
from ._targets import class_counts_of, read_targets

__all__ = ["Mix", "MixedBatch", "mix_names"]

_DECLARED = {name: (description, params) for name, description, params in _ext.mixes()}


def mix_names():
    """The factory names of every mixing rule."""
    return list(_DECLARED)


class MixedBatch:
    """A mixed batch: inputs ``x``, labels ``y_a`` (the batch's own) and ``y_b`` (the partners'),
    ``lam`` [B] (the share of each row's loss that goes to ``y_a``), ``ratio`` (the share of each
    input that is its own), ``mixed`` and ``per_row`` (Remix: shares differ by row)."""

    __slots__ = ("x", "y_a", "y_b", "lam", "ratio", "mixed", "per_row")

    def __init__(self, x, y_a, y_b, lam, ratio, mixed, per_row):
        self.x, self.y_a, self.y_b, self.lam = x, y_a, y_b, lam
        self.ratio, self.mixed, self.per_row = float(ratio), bool(mixed), bool(per_row)

    def loss(self, criterion, logits):
        """The mixed batch's loss under `criterion` (called as ``criterion(logits, targets)``)."""
        if not self.mixed:
            return criterion(logits, self.y_a)
        a, b = criterion(logits, self.y_a), criterion(logits, self.y_b)
        if self.per_row:
            if a.dim() == 0:
                raise ValueError("MixedBatch.loss: Remix's label shares differ row by row, so the criterion must "
                                 "return each row's term: use reduction='none' (e.g. "
                                 "nn.CrossEntropyLoss(reduction='none'))")
            lam = self.lam.to(a.device, a.dtype)
            return (lam * a + (1.0 - lam) * b).mean()
        out = a * self.ratio + b * (1.0 - self.ratio)
        return out if out.dim() == 0 else out.mean()

    def __iter__(self):
        return iter((self.x, self.y_a, self.y_b, self.lam))

    def __repr__(self):
        return (f"MixedBatch(mixed={self.mixed}, per_row={self.per_row}, ratio={self.ratio:.4f}, "
                f"x={list(self.x.shape)})")


class Mix(CompiledState):
    """A mixing rule by factory string (``"mixup:alpha=0.2"``, ``"remix"``, ``"cutmix"``,
    ``"cmo:p=0.5"``; see ``mix_names()`` and ``rebalance methods mixing``).

    targets: the training set's class of every row (a Dataset with ``.targets``, a tensor, a
    sequence, ...): Remix reads their counts, CMO draws its foreground rows from them.
    images: CMO only, the training images ``[N, C, H, W]`` (float), row i of class ``targets[i]``.
    epochs: the number of epochs, needed when the spec ends mixing early (``end=``).
    """

    def __init__(self, spec, targets=None, *, images=None, num_classes=None, epochs=None, generator=None):
        if not isinstance(spec, str):
            raise TypeError(f"Mix: spec must be a factory string, got {type(spec).__name__}")
        self.spec = spec
        self.epochs = None if epochs is None else int(epochs)
        self.epoch = 0
        self.generator = generator
        self._impl = _ext.make_mix(spec)
        name = spec.split(":", 1)[0]
        if self._impl.end > 0 and self.epochs is None:
            raise ValueError(f"Mix({spec!r}): end={self._impl.end} counts back from the last epoch; pass epochs=")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"Mix: epochs must be >= 1, got {epochs}")
        self.targets = None
        self.images = None
        self.num_classes = None
        if targets is not None:
            self.targets = read_targets(targets, None, f"Mix({spec!r})")
            self.num_classes = len(class_counts_of(self.targets, num_classes, f"Mix({spec!r})"))
        elif name in ("remix", "cmo"):
            raise ValueError(f"Mix({spec!r}): {name} reads the training set's classes; pass targets= (the training "
                             "set, or its labels)")
        if images is not None:
            if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.dim() != 4:
                raise TypeError(f"Mix({spec!r}): images must be a float tensor [N, C, H, W], got "
                                f"{type(images).__name__ if not isinstance(images, torch.Tensor) else images.dtype} "
                                f"{list(images.shape) if isinstance(images, torch.Tensor) else ''}")
            if self.targets is None or images.shape[0] != self.targets.numel():
                raise ValueError(f"Mix({spec!r}): {images.shape[0]} images but "
                                 f"{0 if self.targets is None else self.targets.numel()} targets")
            self.images = images.detach()
        elif name == "cmo":
            raise ValueError(f"Mix({spec!r}): CMO pastes training images; pass images= ([N, C, H, W] float, row i "
                             "of class targets[i])")
        self._fit()

    def _fit(self):
        if self.targets is not None:
            self._impl.set_training_set(self.images, self.targets, self.num_classes)

    @property
    def class_counts(self):
        return list(self._impl.class_counts)

    def set_epoch(self, epoch):
        """The epoch (0-based) of the batches that follow: the spec's start= and end= read it."""
        self.epoch = int(epoch)

    def active(self, epoch=None):
        """Whether batches of `epoch` (default: the current one) are mixed at all."""
        return self._impl.active(self.epoch if epoch is None else int(epoch), self.epochs or 2**62)

    def __call__(self, x, y):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"Mix: inputs must be a floating-point tensor [B, ...], got "
                            f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}")
        if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.dtype == torch.bool:
            raise TypeError(f"Mix: targets must be an integer tensor of class indices, got "
                            f"{y.dtype if isinstance(y, torch.Tensor) else type(y).__name__}")
        seed = int(torch.randint(0, 2**62, (), generator=self.generator).item())
        out = self._impl.apply(x, y.to(x.device, torch.int64), self.epoch, self.epochs or 2**62, seed)
        return MixedBatch(*out)

    def __repr__(self):
        return f"Mix({self.spec!r})"

    def _rebuild(self):
        self._impl = _ext.make_mix(self.spec)
        self._fit()
