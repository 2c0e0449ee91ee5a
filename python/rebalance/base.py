"""The sampler base class: scikit-learn conventions over rebalance's compiled samplers.

Every sampler is a ``BaseEstimator`` whose ``__init__`` stores its arguments unchanged. The work
happens in ``fit_resample``: the input is validated (imbalanced-learn's and scikit-learn's error
wording, plus where the bad value is), converted to a float array the C++ factory takes (without a
copy for C-contiguous float32/float64), resampled with the GIL released, and handed back in the
caller's types: numpy with the same dtype, pandas with the same columns, dtypes and categories,
scipy.sparse in the same format, labels of any type. Kept rows are the caller's rows, taken by
index; synthetic rows say where they came from (``origin_``, ``parents_``).
"""
import numbers
import re
import warnings
from collections import OrderedDict

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from . import _core
from ._params import spec_value as _spec_value

__all__ = ["BaseSampler", "declaration"]

_DECLARATIONS = {d["class_name"]: d for d in _core.samplers()}
_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_.\- ]+")
_CORE_NONFINITE = re.compile(r"^X: row (\d+), feature (\d+)\S* is (\S+): features must be finite")


def declaration(class_name):
    """The C++ factory's declaration of a sampler: name, description, (param, default, help)."""
    return _DECLARATIONS[class_name]


def _docstring(class_name, extra=""):
    d = _DECLARATIONS.get(class_name)
    if d is None:  # a sampler of the Python layer alone: its class docstring says it all
        return extra
    lines = [f"{class_name}: {d['description']}.", "",
             f"rebalance factory name ``{d['name']}``; parameters as the factory declares them:", ""]
    for name, default, help_ in d["params"]:
        lines.append(f"{name} : default {default!r} in the factory string" if default else f"{name} : required")
        lines.append(f"    {help_}")
    if extra:
        lines += ["", extra]
    return "\n".join(lines)


def neighbors_count(name, value, additional):
    """k from an int or a fitted/unfitted NearestNeighbors-like object, as imbalanced-learn's
    check_neighbors_object reads it (the object's n_neighbors counts the row itself when
    ``additional`` is 1). rebalance searches with its own exact Euclidean engine, so an object
    with another metric is refused rather than silently ignored."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if hasattr(value, "kneighbors") and hasattr(value, "n_neighbors"):
        metric = getattr(value, "metric", "minkowski")
        p = getattr(value, "p", 2)
        if not (metric in ("euclidean", "l2") or (metric == "minkowski" and p in (2, None))):
            raise ValueError(
                f"{name}={value!r}: rebalance finds neighbours with its own exact Euclidean search; "
                f"a neighbours object is read for its n_neighbors only, so its metric must be "
                f"Euclidean (got metric={metric!r}, p={p!r}). Pass an int instead.")
        k = int(value.n_neighbors) - additional
        if k < 1:
            raise ValueError(f"{name}: the neighbours object's n_neighbors={value.n_neighbors} leaves no neighbour")
        return k
    raise ValueError(f"{name} has to be one of {(numbers.Integral, 'KNeighborsMixin')}. Got {type(value)} instead.")


def neighbors_object(value, additional):
    """The fitted ``nn_*_`` attribute imbalanced-learn exposes: ``NearestNeighbors(n_neighbors=k +
    additional)`` for an int k, a clone of a given neighbours object."""
    from sklearn.base import clone
    from sklearn.neighbors import NearestNeighbors
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return NearestNeighbors(n_neighbors=int(value) + additional)
    return clone(value)


def seed_from(random_state):
    """An unsigned seed from scikit-learn's random_state (None, int or RandomState)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, None or a RandomState; got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _finite_check(a, what="X"):
    """scikit-learn's wording, plus where the first bad value sits."""
    if a.dtype.kind != "f" or a.size == 0:
        return
    bad = ~np.isfinite(a)
    if bad.any():
        pos = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), a.shape)
        v = a[pos]
        where = f"row {pos[0]}" + (f", column {pos[1]}" if a.ndim == 2 else f", position {tuple(pos[1:])}")
        if np.isnan(v):
            raise ValueError(f"Input {what} contains NaN ({where}).")
        raise ValueError(f"Input {what} contains infinity or a value too large for {a.dtype!r} ({where}: {v}).")


class _Labels:
    """y as codes 0..C-1 with the classes in np.unique's order (imbalanced-learn's), and the way
    back to the caller's type: array, list, Series, one-column DataFrame or one-hot (OVA) matrix."""

    def __init__(self, y, n_rows):
        self.kind, self.meta, self.ova = "numpy", None, False
        if hasattr(y, "iloc") and hasattr(y, "columns"):  # DataFrame
            if y.shape[1] == 1:
                self.kind, self.meta = "frame", (y.columns, y.dtypes.iloc[0])
                arr = y.iloc[:, 0].to_numpy()
            else:
                arr = y.to_numpy()
        elif hasattr(y, "iloc") and hasattr(y, "dtype"):  # Series
            self.kind, self.meta = "series", (y.name, y.dtype)
            arr = y.to_numpy()
        else:
            if isinstance(y, (list, tuple)):
                self.kind = "list"
            arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr.ravel()
        if arr.ndim == 2:
            ttype = type_of_target(arr)
            if ttype == "multilabel-indicator" and (arr.sum(axis=1) == 1).all():
                self.ova, self.ova_dtype, self.ova_columns = True, arr.dtype, arr.shape[1]
                arr = arr.argmax(axis=1)
            elif ttype in ("multilabel-indicator", "multiclass-multioutput", "continuous-multioutput"):
                raise ValueError("Multilabel and multioutput targets are not supported.")
        if arr.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {arr.shape} instead.")
        if arr.shape[0] != n_rows:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n_rows}, {arr.shape[0]}]")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"Input y contains {arr[i]} (row {i}).")
        if arr.dtype == object:
            kinds = {type(v) for v in arr}
            if len(kinds) > 1 and not all(issubclass(k, str) for k in kinds):
                raise ValueError(f"y mixes label types {sorted(k.__name__ for k in kinds)}; "
                                 "use one type for every label")
        self.values = arr
        fast = self._small_integers(arr)
        if fast is None:
            # integers are always class labels; anything else as scikit-learn judges it
            check_classification_targets(arr)
            self.classes, codes = np.unique(arr, return_inverse=True)
            self.codes = np.ascontiguousarray(codes, dtype=np.int64)
        else:
            self.classes, self.codes = fast
        if len(self.classes) < 2:
            raise ValueError(f"The target 'y' needs to have more than 1 class. Got {len(self.classes)} class instead")
        names = [str(c) for c in self.classes]
        self.by_name = len(set(names)) == len(names) and all(_SIMPLE_NAME.fullmatch(n) for n in names)
        self.names = names if self.by_name else [str(i) for i in range(len(names))]

    @staticmethod
    def _small_integers(arr):
        """(classes, codes) for integer labels in a small range without np.unique's sort (a
        million labels: a few ms instead of ~60): None where that does not apply."""
        if arr.dtype.kind not in "iu" or arr.size == 0:
            return None
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= max(1 << 16, 4 * arr.size):
            return None
        present = np.bincount(arr, minlength=hi + 1) > 0
        classes = np.flatnonzero(present).astype(arr.dtype)
        if len(classes) == hi + 1:  # labels 0..C-1: the codes are the labels
            codes = arr if arr.dtype == np.int64 and arr.flags.c_contiguous else arr.astype(np.int64)
        else:
            lut = np.full(hi + 1, -1, dtype=np.int64)
            lut[classes] = np.arange(len(classes))
            codes = lut[arr]
        return classes, codes

    def key(self, label):
        """Factory-string key of a class given as the user's label."""
        idx = np.flatnonzero(self.classes == label) if self.classes.dtype != object else \
            [i for i, c in enumerate(self.classes) if c == label]
        if len(idx) == 0:
            return None
        return self.names[int(idx[0])]

    def labels_of(self, codes):
        return self.classes[codes]

    def output(self, codes):
        if (self.kind == "numpy" and not self.ova and self.classes.dtype == np.int64
                and self.classes[-1] == len(self.classes) - 1):
            return codes  # labels 0..C-1 as int64: the core's codes are the labels
        out = self.classes[codes]
        if self.ova:
            onehot = np.zeros((len(out), self.ova_columns), dtype=self.ova_dtype)
            onehot[np.arange(len(out)), out.astype(np.int64)] = 1
            return onehot
        if self.kind in ("series", "frame"):
            import pandas as pd
            if self.kind == "series":
                name, dtype = self.meta
                return pd.Series(out, name=name, dtype=dtype)
            columns, dtype = self.meta
            return pd.DataFrame({columns[0]: pd.Series(out, dtype=dtype)})
        if self.kind == "list":
            return out.tolist()
        return out


def _strategy_text(strategy, labels, sampling_type):
    """sampling_strategy in imbalanced-learn's forms as the factory's text."""
    if callable(strategy):
        strategy = strategy(labels.values)
        if not isinstance(strategy, dict):
            raise ValueError(f"sampling_strategy callable must return a dict, got {type(strategy).__name__}")
    if isinstance(strategy, str):
        return strategy
    if isinstance(strategy, (numbers.Real,)) and not isinstance(strategy, (bool, np.bool_)):
        if len(labels.classes) != 2:
            raise ValueError('"sampling_strategy" can be a float only when the type of target is binary. '
                             f"For multi-class, use a dict.")
        return repr(float(strategy))
    if isinstance(strategy, dict):
        missing = [k for k in strategy if labels.key(k) is None]
        if missing:
            raise ValueError(f"The {missing} target class is/are not present in the data.")
        parts = []
        for k, v in strategy.items():
            if not isinstance(v, numbers.Integral) or isinstance(v, (bool, np.bool_)):
                raise ValueError(f"sampling_strategy[{k!r}] must be an integer number of samples, got {v!r}")
            parts.append(f"{labels.key(k)}:{int(v)}")
        return "{" + ",".join(parts) + "}"
    if isinstance(strategy, (list, tuple, np.ndarray)):
        if sampling_type != "clean-sampling":
            raise ValueError("'sampling_strategy' cannot be a list for samplers which are not cleaning methods.")
        missing = [k for k in strategy if labels.key(k) is None]
        if missing:
            raise ValueError(f"The {missing} target class is/are not present in the data.")
        return "[" + ",".join(labels.key(k) for k in strategy) + "]"
    raise ValueError(f"sampling_strategy must be a str, a float, a dict, a list or a callable; "
                     f"got {type(strategy).__name__} {strategy!r}")


class _Features:
    """X in the caller's type, and the float array the core takes."""

    def __init__(self, X, *, accept_sparse, allow_nd, index_only, categorical=None, all_categorical=False,
                 check_finite=True):
        import scipy.sparse as sp
        self.check_finite = check_finite
        self.kind = "numpy"
        self.frame = None
        self.sparse_format = None
        self.categories = {}  # feature index -> array of category values (codes index it)
        if sp.issparse(X):
            if not accept_sparse:
                raise TypeError("A sparse matrix was passed, but dense data is required. "
                                "Use X.toarray() to convert to a dense numpy array.")
            self.kind = "sparse"
            self.sparse_format = X.format
            self.original = X.tocsr()
            dense = self.original.toarray()
        elif hasattr(X, "iloc") and hasattr(X, "columns"):  # pandas DataFrame
            self.kind = "pandas"
            self.frame = X
            dense = None
        else:
            if isinstance(X, (list, tuple)):
                self.kind = "list"
            try:
                dense = np.asarray(X)
            except Exception as e:  # ragged lists
                raise ValueError(f"X cannot be read as an array: {e}") from e
            self.original = dense
        if self.kind == "pandas":
            complex_ = any(getattr(t, "kind", "") == "c" for t in X.dtypes)
        elif self.kind == "sparse":
            complex_ = self.original.dtype.kind == "c"
        else:
            complex_ = dense.dtype.kind == "c" or (dense.dtype == object and any(
                isinstance(v, complex) for v in dense.reshape(-1)[:1000]))
        if complex_:  # scikit-learn's refusal, as imbalanced-learn's samplers
            raise ValueError(f"Complex data not supported\n{X}\n")
        if self.kind == "pandas":
            self.original = X
            n, d = X.shape
            self.shape = (n, d)
        else:
            if dense.ndim == 1:
                raise ValueError("Expected 2D array, got 1D array instead:\narray=" + np.array2string(dense[:10]) +
                                 ".\nReshape your data either using array.reshape(-1, 1) if your data has a "
                                 "single feature or array.reshape(1, -1) if it contains a single sample.")
            if dense.ndim > 2 and not allow_nd:
                raise ValueError(f"Found array with dim {dense.ndim}. {type(self).__name__[1:]} expected <= 2. "
                                 f"(Images [N, C, H, W] go to the generative samplers.)")
            if dense.ndim == 0:
                raise ValueError(f"Expected 2D array, got scalar array instead: array={dense!r}.")
            self.shape = dense.shape
        if self.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={self.shape}) while a minimum of 1 is required.")
        if len(self.shape) >= 2 and int(np.prod(self.shape[1:])) == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={self.shape}) while a minimum of 1 is required.")
        self.n = self.shape[0]
        self.index_only = index_only
        if index_only:
            # The sampler draws rows by label alone: X may hold anything (imbalanced-learn's
            # random samplers accept object columns and NaN), and is only indexed.
            self.core = np.zeros((self.n, 1), dtype=np.float32)
            return
        if self.kind == "pandas":
            self.core = self._frame_to_float(X, categorical, all_categorical)
        elif categorical is not None or all_categorical:
            self.core = self._array_to_float(dense, categorical, all_categorical)
        else:
            self.core = self._numeric(dense, "X")

    def _numeric(self, a, what, column=None):
        if a.dtype.kind in "fc" and a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float64)
        elif a.dtype.kind in "iub":
            a = a.astype(np.float64)
        elif a.dtype.kind not in "f":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError) as e:
                flat = a.reshape(-1)
                for i, v in enumerate(flat):
                    try:
                        float(v)
                    except (TypeError, ValueError):
                        pos = np.unravel_index(i, a.shape)
                        where = f"column {column!r}, row {pos[0]}" if column is not None else \
                            f"row {pos[0]}, column {pos[1] if a.ndim > 1 else 0}"
                        raise ValueError(f"could not convert string to float: {v!r} ({what} {where}); "
                                         f"only SMOTENC and SMOTEN take categorical features") from None
                raise ValueError(f"{what}: {e}") from None
        if self.check_finite:  # else the core checks (one parallel reduction) and _core_call words it
            _finite_check(a, what)
        return np.ascontiguousarray(a)

    def _array_to_float(self, a, categorical, all_categorical):
        if a.ndim != 2:
            raise ValueError(f"Found array with dim {a.ndim}. Categorical samplers expected 2.")
        cols = range(a.shape[1]) if all_categorical else categorical
        out = np.empty(a.shape, dtype=np.float64)
        catset = set(cols)
        for j in range(a.shape[1]):
            if j in catset:
                col = a[:, j]
                if col.dtype == object and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in col):
                    i = next(i for i, v in enumerate(col) if v is None or (isinstance(v, float) and np.isnan(v)))
                    raise ValueError(f"Input X contains a missing category (row {i}, column {j}).")
                try:
                    cats, codes = np.unique(col, return_inverse=True)
                except TypeError:
                    cats, codes = np.unique(col.astype(str), return_inverse=True)
                self.categories[j] = cats
                out[:, j] = codes
            else:
                out[:, j] = self._numeric(np.asarray(a[:, j]), "X", column=j)
        _finite_check(out)
        return out

    def _frame_to_float(self, df, categorical, all_categorical):
        import pandas as pd
        cols = []
        catset = set(range(df.shape[1])) if all_categorical else set(categorical or [])
        float32 = all(str(t) == "float32" for t in df.dtypes) and not catset
        for j, name in enumerate(df.columns):
            s = df.iloc[:, j]
            if j in catset:
                if isinstance(s.dtype, pd.CategoricalDtype):
                    if (s.cat.codes < 0).any():
                        i = int(np.flatnonzero(s.cat.codes.to_numpy() < 0)[0])
                        raise ValueError(f"Input X contains a missing category (column {name!r}, row {i}).")
                    self.categories[j] = np.asarray(s.cat.categories)
                    cols.append(s.cat.codes.to_numpy().astype(np.float64))
                else:
                    v = s.to_numpy()
                    if s.isna().any():
                        i = int(np.flatnonzero(s.isna().to_numpy())[0])
                        raise ValueError(f"Input X contains a missing category (column {name!r}, row {i}).")
                    try:
                        cats, codes = np.unique(v, return_inverse=True)
                    except TypeError:
                        raise ValueError(f"column {name!r} mixes value types; a categorical column needs one") from None
                    self.categories[j] = cats
                    cols.append(codes.astype(np.float64))
                continue
            t = s.dtype
            if t == object:  # numbers held as objects are numbers, as scikit-learn's check_array reads them
                try:
                    s, t = s.astype(np.float64), np.dtype(np.float64)
                except (TypeError, ValueError):
                    pass
            if isinstance(t, pd.CategoricalDtype) or t == object or pd.api.types.is_string_dtype(t):
                raise ValueError(f"DataFrame column {name!r} has dtype {t} (categories); only SMOTENC and SMOTEN "
                                 f"take categorical columns (SMOTENC: list it in categorical_features)")
            if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)):
                raise ValueError(f"DataFrame column {name!r} has unsupported dtype {t}; "
                                 f"features must be numeric (or categorical for SMOTENC/SMOTEN)")
            if s.isna().any():
                i = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise ValueError(f"Input X contains NaN (column {name!r}, row {i}).")
            cols.append(s.to_numpy(dtype=np.float32 if float32 else np.float64))
        out = np.ascontiguousarray(np.column_stack(cols)) if cols else np.empty((self.n, 0))
        _finite_check(out)
        return out

    # -- output in the caller's types ------------------------------------------------------------

    def output(self, core_x, origin):
        """The output rows: origin[i] >= 0 takes the caller's row, < 0 the core's new row."""
        kept = origin >= 0
        all_kept = bool(kept.all())
        if self.index_only and not all_kept:
            raise RuntimeError("rebalance: a row-selecting sampler returned new rows")
        if self.kind in ("numpy", "list"):
            out = self._array_output(core_x, origin, kept, all_kept)
            return out.tolist() if self.kind == "list" else out
        if self.kind == "sparse":
            import scipy.sparse as sp
            a = self.original
            if all_kept:
                out = a[origin]
            else:
                order = np.concatenate([np.flatnonzero(kept), np.flatnonzero(~kept)])
                stacked = sp.vstack([a[origin[kept]], sp.csr_matrix(core_x[~kept].astype(a.dtype))], format="csr")
                inverse = np.empty_like(order)
                inverse[order] = np.arange(len(order))
                out = stacked[inverse]
            return out.asformat(self.sparse_format)
        import pandas as pd
        df = self.frame
        if all_kept:
            return df.iloc[origin].reset_index(drop=True)
        new = core_x[~kept]
        cols = {}
        for j, name in enumerate(df.columns):
            s = df.iloc[:, j]
            if j in self.categories:
                vals = self.categories[j][np.rint(new[:, j]).astype(np.int64)]
                if isinstance(s.dtype, pd.CategoricalDtype):
                    cols[j] = pd.Categorical(vals, categories=s.cat.categories, ordered=s.cat.ordered)
                else:
                    cols[j] = pd.array(vals, dtype=s.dtype) if pd.api.types.is_extension_array_dtype(s.dtype) else vals
            else:
                v = new[:, j]
                if s.dtype.kind in "iu":
                    v = v.astype(s.dtype)
                elif s.dtype.kind == "b":
                    v = v > 0.5
                cols[j] = pd.Series(v).astype(s.dtype).to_numpy() if not pd.api.types.is_extension_array_dtype(
                    s.dtype) else pd.array(v).astype(s.dtype)
        synth = pd.DataFrame({j: cols[j] for j in cols})
        synth.columns = df.columns
        for j, name in enumerate(df.columns):
            if synth.iloc[:, j].dtype != df.iloc[:, j].dtype:
                synth[name] = synth[name].astype(df.iloc[:, j].dtype)
        both = pd.concat([df.iloc[origin[kept]], synth], ignore_index=True)
        order = np.concatenate([np.flatnonzero(kept), np.flatnonzero(~kept)])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return both.iloc[inverse].reset_index(drop=True)

    def _array_output(self, core_x, origin, kept, all_kept):
        a = self.original
        if (not self.index_only and a.dtype == core_x.dtype and not self.categories and a.dtype.kind == "f"
                and a.ndim == core_x.ndim):
            return core_x  # the core's array, viewed without a copy
        if all_kept:
            return a[origin]
        out = np.empty((len(origin),) + a.shape[1:], dtype=a.dtype)
        out[kept] = a[origin[kept]]
        out[~kept] = self._decode(core_x[~kept], a.dtype)
        return out

    def _decode(self, rows, dtype):
        """New rows in X's dtype (as imbalanced-learn casts them), category codes as categories."""
        if not self.categories:
            return rows.astype(dtype)
        out = np.empty(rows.shape, dtype=dtype)
        for j in range(rows.shape[1]):
            out[:, j] = self.categories[j][np.rint(rows[:, j]).astype(np.int64)] if j in self.categories else rows[:, j]
        return out


class BaseSampler(OneToOneFeatureMixin, BaseEstimator):
    """Base of rebalance's samplers (imbalanced-learn's ``BaseSampler`` API).

    Subclasses set ``_factory`` (the C++ factory name), ``_sampling_type`` and implement
    ``_spec_params(X_info)`` -> {factory param: value}. After ``fit_resample``:
    ``sampling_strategy_`` (OrderedDict label -> count, as imbalanced-learn's), ``origin_`` (the
    input row of each output row, -1 for a synthetic row), ``parents_`` ([n, 2]: the rows a
    synthetic row was made from), ``sample_indices_`` (samplers that only select rows),
    ``n_features_in_`` and ``feature_names_in_`` (DataFrame input).
    """

    _factory = None
    _sampling_type = None
    _accept_sparse = True
    _allow_nd = False
    _index_only = False
    _has_sample_indices = False
    _n_jobs_deprecated = False  # imbalanced-learn 0.10's over-samplers warn that n_jobs goes in 0.12

    def _spec_params(self):
        return {}

    def _categorical(self, X):
        """(categorical feature indices or None, all_categorical)."""
        return None, False

    def _is_index_only(self):
        return self._index_only

    def _source_rows(self, origin, parents):
        """The caller's row each output row is taken from (< 0: a new row the core made)."""
        return origin

    def _run(self, feats, labels, strategy_text, seed):
        """The resampling itself: {x, y, origin, parents, strategy, seconds} as the core returns it.
        Samplers implemented in the Python layer override this."""
        if strategy_text == "{}":  # sampling_strategy={}: as imbalanced-learn, resample nothing
            return self._unchanged(feats, labels, {})
        return _core.fit_resample(self._spec(strategy_text), feats.core, labels.codes, labels.names, seed)

    @staticmethod
    def _unchanged(feats, labels, strategy):
        """A result that keeps every row as it is."""
        n = len(labels.codes)
        return {"x": feats.core.copy(), "y": labels.codes.copy(), "origin": np.arange(n, dtype=np.int64),
                "parents": np.full((n, 2), -1, dtype=np.int64), "strategy": strategy, "seconds": 0.0}

    def _spec(self, strategy_text):
        parts = [f"sampling_strategy={strategy_text}"]
        for k, v in self._spec_params().items():
            parts.append(f"{k}={_spec_value(v)}")
        return f"{self._factory}:" + ",".join(parts)

    def _prepare(self, X, y, check_finite=True, index_only=None):
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        if index_only is None:
            # A row-selecting sampler gets float arrays themselves (the core gathers rows faster
            # than numpy's fancy indexing); anything else only by index.
            index_only = self._is_index_only() and not (isinstance(X, np.ndarray) and X.dtype in (np.float32,
                                                                                                   np.float64))
        cat, all_cat = self._categorical(X)
        feats = _Features(X, accept_sparse=self._accept_sparse, allow_nd=self._allow_nd,
                          index_only=index_only, categorical=cat, all_categorical=all_cat,
                          check_finite=check_finite)
        labels = _Labels(y, feats.n)
        return feats, labels

    def _record_input(self, X, feats):
        self.n_features_in_ = int(np.prod(feats.shape[1:]))
        if feats.kind == "pandas":
            names = np.asarray(X.columns, dtype=object)
            if all(isinstance(c, str) for c in names):
                self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _strategy_out(self, resolved, labels):
        if self._sampling_type == "clean-sampling":
            n_min = int(np.bincount(labels.codes).min())
            return OrderedDict((labels.classes[int(c)], n_min) for c in sorted(resolved))
        return OrderedDict((labels.classes[int(c)], int(n)) for c, n in sorted(resolved.items()))

    def fit(self, X, y):
        """Check the input and compute ``sampling_strategy_`` (no resampling)."""
        feats, labels = self._prepare(X, y)
        text = _strategy_text(self.sampling_strategy, labels, self._sampling_type)
        resolved = {} if text == "{}" else _core.resolve_strategy(text, labels.codes, labels.names,
                                                                   self._sampling_type)
        self.sampling_strategy_ = self._strategy_out(resolved, labels)
        self._record_input(X, feats)
        return self

    def fit_resample(self, X, y):
        """Resample the data set.

        X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        Returns (X_resampled, y_resampled) in the input's types.
        """
        if self._n_jobs_deprecated and self.n_jobs is not None:
            warnings.warn("The parameter `n_jobs` has been deprecated in 0.10 and will be removed in 0.12. You can "
                          "pass an nearest neighbors estimator where `n_jobs` is already set instead.", FutureWarning)
        feats, labels = self._prepare(X, y, check_finite=False)
        text = _strategy_text(self.sampling_strategy, labels, self._sampling_type)
        seed = seed_from(getattr(self, "random_state", None))
        try:
            res = self._run(feats, labels, text, seed)
        except ValueError as e:
            m = _CORE_NONFINITE.match(str(e))
            if not m:
                raise
            if not self._is_index_only():
                row, col, value = m.groups()
                if value.lower().endswith("nan"):
                    raise ValueError(f"Input X contains NaN (row {row}, column {col}).") from None
                raise ValueError(f"Input X contains infinity or a value too large for {feats.core.dtype!r} "
                                 f"(row {row}, column {col}: {value}).") from None
            # NaN or inf in rows that are only selected: imbalanced-learn passes them through
            feats, labels = self._prepare(X, y, check_finite=False, index_only=True)
            res = self._run(feats, labels, text, seed)
        origin, parents = res["origin"], res["parents"]
        self.sampling_strategy_ = self._strategy_out(res["strategy"], labels)
        self.origin_ = origin
        self.parents_ = parents
        self._taken_by_index = feats.index_only
        rows = self._source_rows(origin, parents)
        if self._has_sample_indices:
            self.sample_indices_ = rows
        self._record_input(X, feats)
        self._kernel_seconds = res["seconds"]
        X_out = feats.output(res["x"], rows)
        y_out = labels.output(res["y"])
        return X_out, y_out

    def _more_tags(self):
        types = ["2darray", "dataframe"] + (["sparse"] if self._accept_sparse else [])
        if self._is_index_only():
            types.append("string")  # rows are only selected: any column type passes through
        return {"X_types": types, "sample_indices": self._has_sample_indices or hasattr(type(self), "sample_indices_"),
                "allow_nan": self._is_index_only()}
