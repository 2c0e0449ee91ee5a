"""rebalance's image augmentations as transforms on tensors, in torchvision's conventions: a
callable ``nn.Module`` taking one image ``[C, H, W]`` or a batch ``[N, C, H, W]`` (float in [0, 1],
or uint8 in [0, 255], which is converted and rounded back), on its own device, returning the same
shape, dtype and device; randomness from torch's generator (``torch.manual_seed`` reproduces it,
and each DataLoader worker draws differently), or from ``generator=``.

    train_tf = Augment("rotate:degrees=10+hflip")
    train_set = FashionMNIST(root, transform=torchvision.transforms.Compose([ToTensor(), train_tf]))
    batch = Augment("blur:sigma=1|unsharp")(batch)         # '|': one alternative per image

The ops are the library's (``rebalance methods augmentations``): batched tensor code, the same as
the CLI's ``augment`` sampler and its training-time augmentation.
"""
import torch
from torch import nn

from . import _ext
from ._compiled import CompiledState

__all__ = ["Augment", "augmentation_names"]

_DECLARED = {name: (description, params) for name, description, params in _ext.augmentations()}


def augmentation_names():
    """The factory names of every augmentation op."""
    return list(_DECLARED)


class Augment(CompiledState, nn.Module):
    """An augmentation factory string as a transform: ``'+'`` composes ops left to right, ``'|'``
    separates alternatives (each image gets one, drawn at random)."""

    def __init__(self, spec, *, generator=None):
        super().__init__()
        if not isinstance(spec, str):
            raise TypeError(f"Augment: spec must be a factory string, got {type(spec).__name__}")
        self.spec = spec
        self.generator = generator
        self._impl = _ext.make_augmentation(spec)

    @property
    def alternatives(self):
        return self._impl.alternatives

    def _seed(self):
        return int(torch.randint(0, 2**62, (), generator=self.generator).item())

    def _run(self, fn, img):
        if not isinstance(img, torch.Tensor):
            raise TypeError(f"Augment: expects a tensor [C, H, W] or [N, C, H, W], got {type(img).__name__} "
                            "(put ToTensor() before it)")
        if img.dim() not in (3, 4):
            raise ValueError(f"Augment: expects [C, H, W] or [N, C, H, W], got shape {list(img.shape)}")
        x = img.unsqueeze(0) if img.dim() == 3 else img
        uint8 = x.dtype == torch.uint8
        if uint8:
            x = x.float() / 255.0
        elif not x.is_floating_point():
            raise TypeError(f"Augment: images must be floating point or uint8, got {img.dtype}")
        out = fn(x)
        if uint8:
            out = (out * 255.0).round().clamp(0, 255).to(torch.uint8)
        return out.squeeze(0) if img.dim() == 3 else out

    def forward(self, img):
        seed = self._seed()
        return self._run(lambda x: self._impl.apply(x, seed), img)

    def alternative_of(self, k, img, seed):
        """Alternative `k` of the spec applied to `img` with the given seed (deterministic)."""
        return self._run(lambda x: self._impl.apply_alternative(int(k), x, int(seed)), img)

    def extra_repr(self):
        return repr(self.spec)

    def _rebuild(self):
        self._impl = _ext.make_augmentation(self.spec)
