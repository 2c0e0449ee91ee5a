"""Over-sampling followed by cleaning, with imbalanced-learn's class names and arguments.

    >>> from rebalance.combine import SMOTETomek
    >>> X_res, y_res = SMOTETomek(random_state=0).fit_resample(X, y)
"""
from .base import BaseSampler, _docstring, _spec_value
from .over_sampling import SMOTE
from .under_sampling import EditedNearestNeighbours, TomekLinks

__all__ = ["SMOTEENN", "SMOTETomek"]


def _inner_spec(obj, expected, name, strategy):
    """An inner sampler as a bracketed factory string (its own sampling_strategy kept when set)."""
    if not isinstance(obj, expected):
        raise ValueError(f"{name} needs to be a {expected.__name__} object.Got {type(obj)} instead.")
    params = obj._spec_params()
    text = obj.sampling_strategy if strategy is None else strategy
    if not isinstance(text, str):
        raise ValueError(f"{name}: give the inner sampler's sampling_strategy as a string here, got {text!r}")
    parts = [f"sampling_strategy={text}"] + [f"{k}={_spec_value(v)}" for k, v in params.items()]
    return "[" + obj._factory + ":" + ",".join(parts) + "]"


class _OverThenClean(BaseSampler):
    _sampling_type = "over-sampling"
    _cleaner_key = None
    _cleaner_class = None

    def _validate_estimator(self):
        """``smote_`` and the cleaner (``enn_``/``tomek_``): clones of the given ones, or the
        defaults made with this object's sampling_strategy, random_state and n_jobs, as
        imbalanced-learn's."""
        from sklearn.base import clone
        self.smote_ = clone(self.smote) if self.smote is not None else SMOTE(
            sampling_strategy=self.sampling_strategy, random_state=self.random_state, n_jobs=self.n_jobs)
        cleaner = getattr(self, self._cleaner_key)
        setattr(self, self._cleaner_key + "_", clone(cleaner) if cleaner is not None else self._cleaner_class(
            sampling_strategy="all", n_jobs=self.n_jobs))

    def _spec(self, strategy_text):
        self._validate_estimator()
        smote = SMOTE(k_neighbors=5) if self.smote is None else self.smote
        # as imbalanced-learn: the over-sampler runs with this object's sampling_strategy
        over = _inner_spec(smote, SMOTE, "smote", strategy_text)
        cleaner = getattr(self, self._cleaner_key + "_")
        clean = _inner_spec(cleaner, self._cleaner_class, self._cleaner_key, None)
        return f"{self._factory}:sampling_strategy={strategy_text},smote={over},{self._cleaner_key}={clean}"

    def fit(self, X, y):
        super().fit(X, y)
        self.sampling_strategy_ = self.sampling_strategy  # imbalanced-learn keeps the argument as given
        return self

    def fit_resample(self, X, y):
        """Over-sample with SMOTE, then clean with the cleaner (both seeded from random_state)."""
        out = super().fit_resample(X, y)
        self.over_sampling_strategy_ = self.sampling_strategy_  # what SMOTE was asked to add
        self.sampling_strategy_ = self.sampling_strategy  # imbalanced-learn keeps the argument as given
        return out


class SMOTEENN(_OverThenClean):
    _factory = "smote_enn"
    _cleaner_key = "enn"
    _cleaner_class = EditedNearestNeighbours

    def __init__(self, *, sampling_strategy="auto", random_state=None, smote=None, enn=None, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.enn = enn
        self.n_jobs = n_jobs


class SMOTETomek(_OverThenClean):
    _factory = "smote_tomek"
    _cleaner_key = "tomek"
    _cleaner_class = TomekLinks

    def __init__(self, *, sampling_strategy="auto", random_state=None, smote=None, tomek=None, n_jobs=None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.tomek = tomek
        self.n_jobs = n_jobs


for _cls in (SMOTEENN, SMOTETomek):
    _cls.__doc__ = _docstring(_cls.__name__)
