"""The generative over-samplers on tensors: VAE, MGVAE, CycleGAN, StarGAN, DeepSMOTE and M2m.

    gen = VAEOverSampler(epochs=50, seed=0)
    x_res, y_res = gen.fit_resample(x, y)       # x: [N, C, H, W] or [N, D] tensor, y: [N] int targets
    more = gen.sample(3, 500)                   # 500 more rows of class 3 from the networks trained
    gen.export("vae_class3.pt", cls=3)          # TorchScript: torch.jit.load(path)(z) -> rows
    net = gen.to_torchscript(3)

Each class takes the parameters the factory declares (``rebalance methods samplers``), with its
defaults, plus ``sampling_strategy`` (imbalanced-learn's forms: "auto", "not majority", a dict
class -> wanted count, a float for binary targets) and ``seed``. Training runs in the library on
CPU float32 (the input is viewed without a copy when it already is); the rows that come back keep
the caller's dtype and device, and original rows are the caller's own values, taken by index.
The generator's own parameters are in ``params`` (a dict). After ``fit``: ``origin_`` (each output row's input index, -1 for synthetic rows), ``parents_``
([n, 2]: the real row a synthetic row was made from), ``sampling_strategy_`` (rows added per class).

What export writes: for the VAE and MGVAE, the decoder of the class (codes z [n, latent] -> rows
in data units; draw z from N(0, I) for prior samples); for the CycleGAN, the generator from the
majority class to the class (images -> images); for the StarGAN, its generator aimed at the class.
The weights are frozen into the file; the module takes any batch size.

DeepSMOTE (Dablain et al. 2022: SMOTE between an autoencoder's codes of a class's neighbours,
decoded) and M2m (Kim et al. 2020: majority images moved towards the class by gradient steps
against a classifier trained first) make their rows from the training rows: ``fit_resample`` and
``fit`` only, with ``origin_`` and ``parents_`` as above; ``sample`` and ``to_torchscript`` say so.
"""
import inspect
import numbers

import torch
from torch import nn

from .. import _core, _params
from . import _ext
from ._targets import class_counts_of, read_targets
from .data import _strategy_text

__all__ = ["GenerativeOverSampler"]

_CLASSES = ("VAEOverSampler", "MGVAEOverSampler", "CycleGANOverSampler", "StarGANOverSampler",
            "DeepSMOTEOverSampler", "M2mOverSampler")
_DECLARED = {d["class_name"]: d for d in _core.samplers() if d["class_name"] in _CLASSES}


class _Network(nn.Module):
    """A fitted generator's network for one class, as a module for tracing."""

    def __init__(self, generator, cls):
        super().__init__()
        self._generator = generator
        self.cls = cls
        # The network's own tensors (same storage) as buffers: the tracer then keeps them as the
        # module's state, saved by name, instead of inlining them as constants.
        for i, t in enumerate(generator.network_tensors(cls)):
            self.register_buffer(f"w{i}", t)

    def forward(self, x):
        return self._generator.network(self.cls, x)


class GenerativeOverSampler:
    """Base of the tensor generators: ``fit``, ``fit_resample``, ``sample``, ``to_torchscript``."""

    _factory = None
    _class_name = None
    _own = ()

    def __init__(self, **kwargs):
        names = {"sampling_strategy", "seed"} | {n for n, _ in self._own}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"{self._class_name}.__init__() got an unexpected keyword argument {unknown[0]!r}")
        self.sampling_strategy = kwargs.get("sampling_strategy", "auto")
        self.seed = kwargs.get("seed", 0)
        # The generator's own parameters in a dict: names such as the VAE's "sample" would
        # shadow methods as attributes.
        self.params = {n: kwargs.get(n, d) for n, d in self._own}
        self._gen = None

    def get_params(self):
        out = {"sampling_strategy": self.sampling_strategy, "seed": self.seed}
        out.update(self.params)
        return out

    def __repr__(self):
        changed = {k: v for k, v in self.get_params().items()
                   if v != dict(self._own, sampling_strategy="auto", seed=0).get(k)}
        return f"{self._class_name}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _spec(self, num_classes):
        text = _strategy_text(self.sampling_strategy, num_classes)
        params = {"sampling_strategy": _Raw(text)}
        params.update({n: self.params[n] for n, d in self._own if self.params[n] != d})
        return _params.spec(self._factory, params)

    def fit(self, x, y, num_classes=None):
        """Train the networks and make the rows ``fit_resample`` returns; ``self``."""
        self.fit_resample(x, y, num_classes)
        return self

    def fit_resample(self, x, y, num_classes=None):
        """(x_res, y_res): the input rows, unchanged and in order, then the synthetic rows of each
        class grown, in x's dtype and device (y's dtype)."""
        who = self._class_name
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{who}: x must be a tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{who}: x must be a floating-point tensor, got {x.dtype}")
        if x.dim() < 2:
            raise ValueError(f"{who}: x must be [N, features...] (rows or images), got shape {list(x.shape)}")
        targets = read_targets(y, where=who)
        if targets.numel() != x.shape[0]:
            raise ValueError(f"{who}: x has {x.shape[0]} rows but y has {targets.numel()} targets")
        if not torch.isfinite(x).all():
            bad = torch.nonzero(~torch.isfinite(x.reshape(x.shape[0], -1)))[0].tolist()
            raise ValueError(f"{who}: x row {bad[0]}, feature {bad[1]} is not finite")
        counts = class_counts_of(targets, num_classes, where=who)
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"{who}: seed must be an integer >= 0, got {seed!r}")
        self._gen = _ext.Generator(self._spec(len(counts)), int(seed))
        x32 = x.detach().to("cpu", torch.float32).contiguous()
        xr, yr, origin, parents = self._gen.fit_resample(x32, targets, len(counts))
        self._x, self._targets, self._draws = x32, targets, 0
        self.classes_ = torch.arange(len(counts))
        self.sampling_strategy_ = dict(self._gen.strategy())
        self.origin_, self.parents_ = origin, parents
        kept = origin >= 0
        out = torch.empty((origin.numel(),) + tuple(x.shape[1:]), dtype=x.dtype, device=x.device)
        out[kept.to(x.device)] = x.detach()[origin[kept].to(x.device)]
        synth = ~kept
        if synth.any():
            out[synth.to(x.device)] = xr[synth].reshape((-1,) + tuple(x.shape[1:])).to(x.device, x.dtype)
        y_in = y if isinstance(y, torch.Tensor) else targets
        y_out = torch.empty(origin.numel(), dtype=y_in.dtype, device=y_in.device)
        y_out[kept.to(y_in.device)] = y_in.detach()[origin[kept].to(y_in.device)]
        y_out[synth.to(y_in.device)] = yr[synth].to(y_in.device, y_in.dtype)
        self._dtype, self._device = x.dtype, x.device
        return out, y_out

    def _check_fitted(self):
        if self._gen is None:
            raise ValueError(f"This {self._class_name} instance is not fitted yet. Call 'fit' or 'fit_resample' "
                             "first.")
        if not self._gen.has_networks():
            raise NotImplementedError(
                f"{self._class_name} makes its rows from the training rows (DeepSMOTE: codes interpolated between "
                "neighbours of a class; M2m: majority rows moved by gradient steps), so it keeps no network that "
                "draws rows of a class on its own: use fit_resample")

    def sample(self, cls, n):
        """n more rows of class `cls` from the networks trained ([n, features...], x's dtype and
        device): around real rows or translated from majority rows, as fit_resample made them;
        each call draws afresh. ``last_parents_`` names the real row each was made from."""
        self._check_fitted()
        if isinstance(cls, torch.Tensor):
            cls = int(cls)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"{self._class_name}.sample: n must be an integer >= 0, got {n!r}")
        fitted = self._gen.fitted_classes()
        if cls not in fitted:
            raise ValueError(f"{self._class_name}.sample: class {cls!r} was not grown by fit (grown: {fitted})")
        self._draws += 1
        rows, parents = self._gen.sample(int(cls), int(n), self._draws)
        self.last_parents_ = parents
        return rows.reshape((-1,) + tuple(self._x.shape[1:])).to(self._device, self._dtype)

    def to_torchscript(self, cls):
        """The network behind class `cls` as a TorchScript module (weights frozen into it)."""
        self._check_fitted()
        fitted = self._gen.fitted_classes()
        if cls not in fitted:
            raise ValueError(f"{self._class_name}: class {cls!r} has no trained network (grown: {fitted})")
        latent = self._gen.network_latent(cls)
        g = torch.Generator().manual_seed(0)
        example = torch.randn(3, latent, generator=g) if latent else self._x[:3].reshape(
            (-1,) + tuple(self._x.shape[1:]))
        self._gen.set_trainable(False)
        try:
            with torch.no_grad():
                module = torch.jit.trace(_Network(self._gen, int(cls)), example, check_trace=False)
        finally:
            self._gen.set_trainable(True)
        return module

    def export(self, path, cls):
        """Write class `cls`'s network as TorchScript to `path` (``torch.jit.load`` runs it)."""
        torch.jit.save(self.to_torchscript(cls), str(path))
        return path


class _Raw(str):
    """Factory text passed as it is (a resolved sampling_strategy)."""


def _make(class_name):
    decl = _DECLARED[class_name]
    own = tuple((n, _params.python_default(d)) for n, d, _ in decl["params"] if n not in ("sampling_strategy", "seed"))

    def __init__(self, **kwargs):
        GenerativeOverSampler.__init__(self, **kwargs)

    sig = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
           inspect.Parameter("sampling_strategy", inspect.Parameter.KEYWORD_ONLY, default="auto"),
           inspect.Parameter("seed", inspect.Parameter.KEYWORD_ONLY, default=0)]
    sig += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d) for n, d in own]
    __init__.__signature__ = inspect.Signature(sig)
    __init__.__qualname__ = f"{class_name}.__init__"
    lines = [f"{class_name} on tensors: {decl['description']} (factory name ``{decl['name']}``).", ""]
    for n, d, h in decl["params"]:
        lines += [f"{n} : default {d!r}", f"    {h}"]
    cls = type(class_name, (GenerativeOverSampler,), {
        "__init__": __init__, "_factory": decl["name"], "_class_name": class_name, "_own": own,
        "__doc__": "\n".join(lines), "__module__": __name__})
    cls.__qualname__ = class_name
    return cls


for _name in _CLASSES:
    if _name in _DECLARED:
        globals()[_name] = _make(_name)
        __all__.append(_name)
