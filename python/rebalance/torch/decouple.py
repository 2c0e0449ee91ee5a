"""Decoupled training's post-hoc steps on a PyTorch model's final ``nn.Linear`` (Kang et al.,
ICLR 2020; weight balancing, Alshammari et al., CVPR 2022), the formulas the CLI's ``--decouple``
and ``--max-norm`` use:

    from rebalance.torch.decouple import tau_normalize_, max_norm_
    tau_normalize_(model.fc, tau=1.0)        # w_c / ||w_c||^tau, bias dropped (set to zero)
    for x, y in loader:                      # weight balancing: MaxNorm after every step
        ...; optimizer.step(); max_norm_(model.fc, 1.0)

    tau = choose_tau(model.fc, val_features, val_targets)   # tau=auto: best balanced accuracy
    tau_normalize_(model.fc, tau)

cRT is ordinary training of the head on frozen features: re-initialise it
(``fc.reset_parameters()``), freeze the rest, and train with ``rebalance.torch.data.BalancedSampler``
batches. LWS trains one factor per class's logit the same way:

    lws = LearnableWeightScaling(model.fc)   # the head frozen, lws.scales learnt
    model.fc = lws                           # train lws.scales on balanced batches, then
    model.fc = lws.fold_()                   # the factors written into the nn.Linear

``CosineLinear`` is the other final layer of the long-tail papers: logits are the cosines between
the normalised features and class weights (Cao et al. 2019's NormedLinear, ``head=cosine`` in the
CLI), the head ``LDAMLoss``'s scale ``s=30`` is meant for:

    model.fc = CosineLinear(model.fc.in_features, num_classes)
    criterion = LDAMLoss(class_counts, drw_epoch=160)
"""
import math

import torch
from torch import nn

from . import _ext
from ._targets import read_targets

__all__ = ["tau_normalize_", "max_norm_", "tau_normalized", "choose_tau", "LearnableWeightScaling", "CosineLinear"]


def _linear(layer, who):
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"{who}: expects the model's final nn.Linear, got {type(layer).__name__}")
    return layer


def tau_normalized(weight, tau):
    """``weight`` [C, F] with row c divided by its L2 norm to the power ``tau`` (a new tensor)."""
    return _ext.tau_normalized(weight.detach(), float(tau))


def tau_normalize_(layer, tau=1.0):
    """tau-normalise ``layer`` (an ``nn.Linear``) in place; its bias, if any, is set to zero."""
    layer = _linear(layer, "tau_normalize_")
    if not 0.0 <= float(tau) <= 2.0:
        raise ValueError(f"tau_normalize_: tau must lie in [0, 2], got {tau}")
    with torch.no_grad():
        layer.weight.copy_(tau_normalized(layer.weight, tau))
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


def choose_tau(layer, features, targets):
    """tau-normalisation's ``tau=auto`` (the CLI's ``tau_norm:tau=auto``): the tau of 0, 0.05, ...,
    2 whose tau-normalised ``layer`` (bias dropped) scores the best balanced accuracy on held-out
    ``features`` [N, F] (the inputs of the layer) and ``targets``; ties go to the tau nearest 1."""
    layer = _linear(layer, "choose_tau")
    if not isinstance(features, torch.Tensor) or not features.is_floating_point():
        raise TypeError(f"choose_tau: features must be a floating-point tensor, got "
                        f"{getattr(features, 'dtype', type(features).__name__)}")
    return _ext.choose_tau(features.detach(), layer.weight.detach(), read_targets(targets, where="choose_tau"))


class LearnableWeightScaling(nn.Module):
    """Learnable weight scaling (Kang et al., ICLR 2020; the CLI's ``--decouple lws``): a trained
    final ``nn.Linear``, frozen, whose class c's logit is multiplied by a learnt factor ``scales[c]``
    (initially 1). Train ``scales`` alone on frozen features with class-balanced batches;
    ``fold_()`` writes the factors into the layer (w_c f_c, b_c f_c) and returns it."""

    def __init__(self, layer):
        super().__init__()
        self.layer = _linear(layer, "LearnableWeightScaling")
        self.layer.requires_grad_(False)
        self.scales = nn.Parameter(torch.ones(layer.out_features, device=layer.weight.device, dtype=layer.weight.dtype))

    def forward(self, x):
        return self.layer(x) * self.scales

    def fold_(self):
        """The layer with the learnt factors multiplied into its rows (and bias); the factors reset to 1."""
        with torch.no_grad():
            self.layer.weight.mul_(self.scales.unsqueeze(1))
            if self.layer.bias is not None:
                self.layer.bias.mul_(self.scales)
            self.scales.fill_(1.0)
        return self.layer

    def extra_repr(self):
        return f"classes={self.layer.out_features}"


def max_norm_(layer, radius):
    """MaxNorm: each class's weight vector of ``layer`` longer than ``radius`` scaled back onto it."""
    layer = _linear(layer, "max_norm_")
    if not float(radius) > 0:
        raise ValueError(f"max_norm_: radius must be > 0, got {radius}")
    with torch.no_grad():
        _ext.project_max_norm_(layer.weight, float(radius))
    return layer


class CosineLinear(nn.Module):
    """A bias-free final layer whose logits are cos(x, w_c) in [-1, 1], for ``LDAMLoss``."""

    def __init__(self, in_features, out_features, device=None, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"CosineLinear: {name} must be a positive int, got {v!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Linear's initialisation

    def forward(self, x):
        return _ext.cosine_logits(x, self.weight)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"
