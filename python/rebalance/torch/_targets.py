"""Class targets read from what PyTorch users hold: a tensor, a numpy array, a sequence, a
Dataset with a ``targets`` attribute (torchvision's), a ``Subset`` of one, a callable, or any map-
style Dataset whose items are ``(input, target)``."""
import numbers

import numpy as np
import torch


def _as_tensor(t, where):
    if isinstance(t, torch.Tensor):
        out = t.detach()
    elif isinstance(t, np.ndarray):
        out = torch.from_numpy(np.ascontiguousarray(t))
    else:
        try:
            values = list(t)
        except TypeError:
            raise TypeError(f"{where}: targets must be a tensor, an array or a sequence of class indices, got "
                            f"{type(t).__name__}") from None
        for i, v in enumerate(values):
            if isinstance(v, torch.Tensor) and v.dim() == 0:
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{where}: target {i} is {v!r}; targets must be integer class indices")
        out = torch.tensor([int(v.item() if isinstance(v, torch.Tensor) else v) for v in values], dtype=torch.int64)
    if out.is_floating_point() or out.is_complex() or out.dtype == torch.bool:
        raise TypeError(f"{where}: targets must be integer class indices, got {out.dtype}")
    if out.dim() != 1:
        raise ValueError(f"{where}: targets must be 1-D, got shape {list(out.shape)}")
    out = out.to("cpu", torch.int64)
    if out.numel() and int(out.min()) < 0:
        i = int(torch.nonzero(out < 0)[0])
        raise ValueError(f"{where}: target {int(out[i])} (index {i}) is negative; targets must be class indices >= 0")
    return out


def read_targets(data, targets=None, where="targets"):
    """The class index of every item, as an int64 CPU tensor [N]."""
    if callable(targets) and not isinstance(targets, (torch.Tensor, np.ndarray)):
        return _as_tensor(targets(data), where)
    if targets is not None:
        return _as_tensor(targets, where)
    if isinstance(data, (torch.Tensor, np.ndarray, list, tuple, range)):
        return _as_tensor(data, where)
    if isinstance(data, torch.utils.data.Subset):
        return read_targets(data.dataset, None, where)[torch.as_tensor(data.indices, dtype=torch.int64)]
    if hasattr(data, "targets"):
        return _as_tensor(data.targets, where)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        # Any map-style dataset of (input, target) items: read once, item by item.
        return _as_tensor([data[i][1] for i in range(len(data))], where)
    raise TypeError(f"{where}: cannot read targets from {type(data).__name__}; pass targets= (a tensor, a sequence "
                    f"or a callable taking the dataset)")


def class_counts_of(targets, num_classes=None, where="targets"):
    """Per-class counts [C] (a list of ints) of int64 targets."""
    n = int(targets.max()) + 1 if targets.numel() else 0
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(f"{where}: num_classes must be a positive integer, got {num_classes!r}")
        if n > num_classes:
            i = int(torch.nonzero(targets >= num_classes)[0])
            raise ValueError(f"{where}: target {int(targets[i])} (index {i}) is out of range for {num_classes} "
                             f"classes (0..{num_classes - 1})")
        n = int(num_classes)
    return torch.bincount(targets, minlength=n).tolist()
