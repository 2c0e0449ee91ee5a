"""rebalance's generative over-samplers (VAE, MGVAE, DeepSMOTE, M2m, CycleGAN, StarGAN) as scikit-learn style
samplers. Their classes are made from the C++ factory's declarations, so every parameter, default
and help line is the one the CLI and the configs use (``rebalance methods samplers``).

    >>> from rebalance.generative import VAEOverSampler
    >>> X_res, y_res = VAEOverSampler(steps=500, random_state=0).fit_resample(X, y)

Images go in as [N, C, H, W] (or [N, H*W] rows for the MLP variants); each synthetic row's
``parents_[i, 0]`` names the real row it was decoded around or translated from.
"""
import inspect

from sklearn.base import BaseEstimator, ClassifierMixin

from ._params import python_default as _python_default
from .base import BaseSampler, _DECLARATIONS, _docstring

__all__ = []

_GENERATIVE = ("VAEOverSampler", "MGVAEOverSampler", "DeepSMOTEOverSampler", "M2mOverSampler", "CycleGANOverSampler", "StarGANOverSampler")


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


def _plain(value):
    """A numpy scalar as the Python number it holds (the core takes str, bool, int and float)."""
    import numbers
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


class JointGANClassifier(ClassifierMixin, BaseEstimator):
    """Joint generation and classification (Sahoo, Singh, Panda, Feris & Das, ECCV 2020
    workshops) as a scikit-learn classifier: a CycleGAN per minority class (or one StarGAN,
    ``generator="stargan"``) trained with rebalance's image classifier, in ``mode`` "aug" (the
    generators trained once, then frozen while the classifier learns from real and translated
    images) or "alt" (``rounds`` alternations, the classifier teaching the generators). It runs
    ``rebalance train --joint MODE:...`` through the library: ``generator_params`` takes the
    generator's parameters as the CLI does (``{"steps": 300, "ngf": 16}``), the classifier's
    ``model`` is a factory string (``"lenet"``, ``"resnet:depth=20"``), and a stratified
    ``validation_fraction`` of the rows picks the best epoch by ``monitor``. The long-tail recipes
    stack on its classifier as on ``rebalance train``'s: ``loss`` (``"ldam:drw_epoch=16"``: each
    part of the joint loss the mean of that loss's per-row terms, deferred re-weighting included),
    ``decouple`` (``"crt"``, ``"tau_norm:tau=1"``: the head re-balanced after the last phase) and
    ``max_norm``; ``schedule`` and ``momentum`` as the CLI's.

    X: images [n, C, H, W] (H, W multiples of 4), float32 or float64; y: labels of any type.
    After fit: ``classes_``, ``model_`` (the trained network; pickled as the CLI's model file),
    ``phases_`` (kind, round, steps, mean loss, seconds of each phase).

    >>> clf = JointGANClassifier(mode="aug", generator_params={"steps": 300}, epochs=5).fit(X, y)
    >>> clf.predict_proba(X_test)
    """

    def __init__(self, mode="aug", *, generator="cyclegan", generator_params=None, model="lenet", loss="ce",
                 epochs=10, batch_size=64, lr=1e-3, optimizer="adam", momentum=0.9, weight_decay=0.0,
                 schedule="none", decouple="", max_norm=0.0, gamma=1.0, rounds=4, teacher_weight=1.0,
                 monitor="f1_macro", decision="argmax", validation_fraction=0.2, random_state=None):
        self.mode = mode
        self.generator = generator
        self.generator_params = generator_params
        self.model = model
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.decouple = decouple
        self.max_norm = max_norm
        self.gamma = gamma
        self.rounds = rounds
        self.teacher_weight = teacher_weight
        self.monitor = monitor
        self.decision = decision
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _joint_spec(self):
        from .base import _spec_value
        if self.mode not in ("aug", "alt"):
            raise ValueError(f"mode must be 'aug' or 'alt', got {self.mode!r}")
        parts = [f"generator={self.generator}", f"gamma={_spec_value(float(self.gamma))}"]
        if self.mode == "alt":
            parts += [f"rounds={int(self.rounds)}", f"teacher_weight={_spec_value(float(self.teacher_weight))}"]
        for k, v in (self.generator_params or {}).items():
            parts.append(f"{k}={_spec_value(v)}")
        return f"{self.mode}:" + ",".join(parts)

    @staticmethod
    def _images(X):
        import numpy as np
        x = np.asarray(X)
        if x.ndim != 4:
            raise ValueError(f"JointGANClassifier needs images [n_samples, channels, height, width], "
                             f"got an array of shape {x.shape}")
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float32)
        from .base import _finite_check
        _finite_check(x)
        return np.ascontiguousarray(x)

    def fit(self, X, y):
        from . import _core
        from .base import _Labels, seed_from
        x = self._images(X)
        labels = _Labels(y, x.shape[0])
        # The training options the core declares for Python (train/train_options.hpp), each checked there.
        options = {key: _plain(getattr(self, key)) for key, _, _ in _core.train_options()}
        model, phases = _core.joint_fit(x, labels.codes, labels.names, self._joint_spec(), options,
                                        float(self.validation_fraction), seed_from(self.random_state))
        self.model_ = model
        self.phases_ = [dict(zip(("kind", "round", "steps", "loss", "seconds"), p)) for p in phases]
        self.classes_ = labels.classes
        self.n_features_in_ = int(x[0].size)
        return self

    def _logits(self, X):
        from sklearn.utils.validation import check_is_fitted
        check_is_fitted(self, "model_")
        return self.model_.logits(self._images(X))

    def predict_proba(self, X):
        import numpy as np
        z = self._logits(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Labels by the model's decision rule (argmax, or a tuned threshold / prior correction)."""
        return self.classes_[self.model_.predict(self._logits(X))]

    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = state["model_"].to_bytes()
        return state

    def __setstate__(self, state):
        from . import _core
        if "model_" in state:
            state["model_"] = _core.TrainedModel.from_bytes(state["model_"])
        self.__dict__.update(state)


__all__.append("JointGANClassifier")
