"""A scikit-learn Pipeline whose intermediate steps may be samplers (imbalanced-learn's
``imblearn.pipeline.Pipeline``): while fitting, a step with ``fit_resample`` resamples X and y for
the steps after it; when predicting, transforming or scoring, samplers are skipped, so new data
is never resampled. rebalance's ensembles fit each member as ``Pipeline([("sampler", ...),
("classifier", ...)])``, as imbalanced-learn's do.

    >>> from rebalance.pipeline import make_pipeline
    >>> model = make_pipeline(SMOTE(random_state=0), LogisticRegression()).fit(X, y)
"""
from sklearn import pipeline as _skpipeline
from sklearn.base import clone
from sklearn.utils import _print_elapsed_time

__all__ = ["Pipeline", "make_pipeline"]


def _is_sampler(step):
    return hasattr(step, "fit_resample")


class Pipeline(_skpipeline.Pipeline):
    """scikit-learn's Pipeline, its intermediate steps transformers or samplers
    (``fit_resample``), as imbalanced-learn's; ``memory`` caches nothing (steps are fitted in
    place, as scikit-learn's Pipeline does without a cache)."""

    def _validate_steps(self):
        names, estimators = zip(*self.steps)
        self._validate_names(names)
        for t in estimators[:-1]:
            if t is None or t == "passthrough":
                continue
            fits = hasattr(t, "fit") or hasattr(t, "fit_transform") or _is_sampler(t)
            if not fits or not (hasattr(t, "transform") or _is_sampler(t)):
                raise TypeError("All intermediate steps of the chain should be estimators that implement fit and "
                                f"transform or fit_resample (but not both) or be a string 'passthrough' "
                                f"'{t}' (type {type(t)}) doesn't)")
            if _is_sampler(t) and (hasattr(t, "fit_transform") or hasattr(t, "transform")):
                raise TypeError("All intermediate steps of the chain should be estimators that implement fit and "
                                f"transform or fit_resample. '{t}' implements both)")
        last = estimators[-1]
        if last is not None and last != "passthrough" and not hasattr(last, "fit"):
            raise TypeError(f"Last step of Pipeline should implement fit or be the string 'passthrough'. "
                            f"'{last}' (type {type(last)}) doesn't")

    def _iter(self, with_final=True, filter_passthrough=True, filter_resample=True):
        for idx, name, step in super()._iter(with_final=with_final, filter_passthrough=filter_passthrough):
            if not (filter_resample and _is_sampler(step)):
                yield idx, name, step

    def _fit(self, X, y=None, **fit_params_steps):
        self.steps = list(self.steps)
        self._validate_steps()
        for idx, name, step in self._iter(with_final=False, filter_passthrough=False, filter_resample=False):
            with _print_elapsed_time("Pipeline", self._log_message(idx)):
                if step is None or step == "passthrough":
                    continue
                if self.memory is not None:
                    step = clone(step)
                if _is_sampler(step):
                    X, y = step.fit_resample(X, y, **fit_params_steps[name])
                else:
                    X = step.fit_transform(X, y, **fit_params_steps[name])
                self.steps[idx] = (name, step)
        return X, y

    def _fit_last(self, method, X, y, fit_params):
        fit_params_steps = self._check_fit_params(**fit_params)
        Xt, yt = self._fit(X, y, **fit_params_steps)
        last = self._final_estimator
        with _print_elapsed_time("Pipeline", self._log_message(len(self.steps) - 1)):
            if last == "passthrough":
                return None if method == "fit" else Xt
            params = fit_params_steps[self.steps[-1][0]]
            if method == "fit_transform" and not hasattr(last, "fit_transform"):
                return last.fit(Xt, yt, **params).transform(Xt)
            out = getattr(last, method)(Xt, yt, **params)
            return None if method == "fit" else out

    def fit(self, X, y=None, **fit_params):
        """Fit each step in turn: transformers transform, samplers resample, the last one fits."""
        self._fit_last("fit", X, y, fit_params)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        return self._fit_last("fit_transform", X, y, fit_params)

    @_skpipeline.available_if(_skpipeline._final_estimator_has("fit_predict"))
    def fit_predict(self, X, y=None, **fit_params):
        return self._fit_last("fit_predict", X, y, fit_params)

    @_skpipeline.available_if(_skpipeline._final_estimator_has("fit_resample"))
    def fit_resample(self, X, y=None, **fit_params):
        return self._fit_last("fit_resample", X, y, fit_params)


def make_pipeline(*steps, memory=None, verbose=False):
    """A Pipeline of the given steps, named by their lower-cased class names."""
    return Pipeline(_skpipeline._name_estimators(steps), memory=memory, verbose=verbose)
