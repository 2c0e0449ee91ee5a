"""rebalance inside a PyTorch training loop.

    from rebalance.torch.losses import LDAMLoss
    from rebalance.torch.data import BalancedSampler
    from rebalance.torch.decision import LogitAdjustment

    loader = DataLoader(train_set, batch_size=128, sampler=BalancedSampler(train_set, seed=0))
    criterion = LDAMLoss.from_targets(train_set.targets, drw_epoch=160)
    ...
    logits = LogitAdjustment(class_counts)(model(x))      # post-hoc, at test time

Submodules: ``losses`` (every loss of ``rebalance methods losses`` as an ``nn.Module``), ``data``
(the batch policies as ``torch.utils.data.Sampler``\\ s, the augmentation over-sampler over a
``Dataset``), ``transforms`` (augmentations on ``[C, H, W]`` and ``[N, C, H, W]`` tensors), ``mix``
(mixup, Remix, CutMix and CMO on batches), ``decouple`` (tau-normalisation and MaxNorm of a final
layer), ``generative`` (the VAE, MGVAE, CycleGAN and StarGAN over-samplers on tensors, with TorchScript
export) and ``decision`` (threshold moving and logit adjustment as post-hoc modules).

The compiled half, ``rebalance._torch``, is a torch extension built against the same libtorch as
the ``torch`` it is imported beside: tensors cross without copies and autograd runs through
rebalance's C++ operations. Importing this package with a different torch is refused.
"""
import re as _re

import torch as _torch_module


class TorchVersionError(ImportError, ValueError):
    """Python's torch is not the version rebalance._torch was compiled against."""


def _base_version(text):
    m = _re.match(r"(\d+)\.(\d+)\.(\d+)", str(text))
    return tuple(int(v) for v in m.groups()) if m else None


def _check_version(found, built):
    """Raise TorchVersionError unless torch `found` (torch.__version__) is the release `built`."""
    if _base_version(found) != _base_version(built):
        raise TorchVersionError(
            f"rebalance.torch was built against libtorch {built}, but the torch imported is {found}; "
            f"install torch {built} or rebuild rebalance against torch {found} (scripts/setup, then cmake)")


try:
    from ._build import TORCH_VERSION as _BUILT
except ImportError as e:  # pragma: no cover - a build without libtorch_python
    raise ImportError("rebalance.torch is not built: the build found no libtorch_python or torch/extension.h") from e

_check_version(_torch_module.__version__, _BUILT)

from .. import _torch as _ext  # noqa: E402  (after the version check: a mismatched torch must not load it)

__all__ = ["losses", "data", "transforms", "mix", "decouple", "generative", "decision", "TorchVersionError"]


def __getattr__(name):
    if name in ("losses", "data", "transforms", "mix", "decouple", "generative", "decision"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'rebalance.torch' has no attribute {name!r}")
