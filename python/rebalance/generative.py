"""rebalance's generative over-samplers (VAE, MGVAE, CycleGAN, StarGAN) as scikit-learn style
samplers. Their classes are made from the C++ factory's declarations, so every parameter, default
and help line is the one the CLI and the configs use (``rebalance methods samplers``).

    >>> from rebalance.generative import VAEOverSampler
    >>> X_res, y_res = VAEOverSampler(steps=500, random_state=0).fit_resample(X, y)

Images go in as [N, C, H, W] (or [N, H*W] rows for the MLP variants); each synthetic row's
``parents_[i, 0]`` names the real row it was decoded around or translated from.
"""
import inspect

from .base import BaseSampler, _DECLARATIONS, _docstring

__all__ = []

_GENERATIVE = ("VAEOverSampler", "MGVAEOverSampler", "CycleGANOverSampler", "StarGANOverSampler")


def _python_default(text):
    """A declared default as the Python value whose factory text is the same."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text.startswith("[") and text.endswith("]"):
        # a tuple: an immutable default shared by every instance
        return tuple(_python_default(t.strip()) for t in text[1:-1].split(",") if t.strip())
    return text


def _make(class_name):
    decl = _DECLARATIONS[class_name]
    own = [(n, _python_default(d)) for n, d, _ in decl["params"] if n not in ("sampling_strategy", "seed")]
    names = ["sampling_strategy", "random_state"] + [n for n, _ in own]
    defaults = dict([("sampling_strategy", "auto"), ("random_state", None)] + own)

    def __init__(self, **kwargs):
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise TypeError(f"{class_name}.__init__() got an unexpected keyword argument {unknown[0]!r}")
        for n in names:
            setattr(self, n, kwargs.get(n, defaults[n]))

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=defaults[n]) for n in names]
    __init__.__signature__ = inspect.Signature(params)
    __init__.__qualname__ = f"{class_name}.__init__"

    def _spec_params(self):
        return {n: getattr(self, n) for n, _ in own}

    cls = type(class_name, (BaseSampler,), {
        "__init__": __init__, "_spec_params": _spec_params, "_factory": decl["name"],
        "_sampling_type": "over-sampling", "_accept_sparse": False, "_allow_nd": True,
        "__module__": __name__, "__doc__": _docstring(class_name),
    })
    cls.__qualname__ = class_name
    return cls


for _name in _GENERATIVE:
    globals()[_name] = _make(_name)
    __all__.append(_name)
