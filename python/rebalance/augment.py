"""Image augmentation (rebalance's ``augment/`` family): batched transforms computed in C++ and
the augmentation over-sampler of Chatterjee's whale post, which tops up rare image classes with transformed
copies of their own images.

    >>> from rebalance.augment import AugmentationOverSampler, augment
    >>> X_res, y_res = AugmentationOverSampler(min_count=10, random_state=0).fit_resample(X, y)
    >>> X_aug = augment(X, "rotate:degrees=10+hflip", random_state=0)   # X: [N, C, H, W]

Transforms are factory strings ('+' composes, '|' alternatives); ``rebalance methods
augmentations`` lists every op with its parameters.
"""
import numpy as np

from . import _core
from .generative import _make

__all__ = ["AugmentationOverSampler", "augment"]

AugmentationOverSampler = _make("AugmentationOverSampler")
AugmentationOverSampler.__module__ = __name__


def augment(X, transforms, random_state=0):
    """Apply ``transforms`` to every image of ``X`` ([N, C, H, W] float32 or float64, values in
    [0, 1]); random parameters are drawn per image from ``random_state`` (an int), so the same
    seed gives the same array. ``X`` is not changed."""
    if not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state!r}")
    x = np.ascontiguousarray(X)
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"X must be float32 or float64 images, got dtype {x.dtype}")
    return _core.augment(str(transforms), x, int(random_state))
