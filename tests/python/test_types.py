"""Data in the user's types: numpy dtypes (float32/float64 without a copy), integer and object
arrays, lists, pandas DataFrame/Series with their columns, dtypes and categories, scipy.sparse,
string and integer labels. Kept rows always come back as the caller's rows."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import imblearn.over_sampling as io
from rebalance import _core
from rebalance.over_sampling import SMOTE, SMOTEN, SMOTENC, RandomOverSampler
from rebalance.under_sampling import EditedNearestNeighbours, RandomUnderSampler, TomekLinks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtypes_kept_and_rows_bitwise(dtype, cancer):
    x, y = cancer
    x = np.ascontiguousarray(x, dtype=dtype)
    for s in (SMOTE(random_state=0), TomekLinks(), RandomOverSampler(random_state=0)):
        xo, yo = s.fit_resample(x, y)
        assert xo.dtype == dtype and yo.dtype == y.dtype
        kept = s.origin_ >= 0
        np.testing.assert_array_equal(xo[kept], x[s.origin_[kept]])


def test_no_copy_in_float_in_and_out(cancer, monkeypatch):
    """C-contiguous float input reaches the core as the caller's buffer, and the core's output
    comes back as a view of the tensor's memory (no copy either way)."""
    x, y = cancer
    seen = {}
    real = _core.fit_resample

    def spy(spec, xc, yc, names, seed):
        seen["same"] = np.shares_memory(xc, x)
        r = real(spec, xc, yc, names, seed)
        seen["out"] = r["x"]
        return r

    monkeypatch.setattr(_core, "fit_resample", spy)
    xo, _ = SMOTE(random_state=0).fit_resample(x, y)
    assert seen["same"]
    assert xo is seen["out"] or np.shares_memory(xo, seen["out"])
    assert not np.shares_memory(xo, x)  # and the result never aliases the input


def test_result_does_not_alias_input_when_nothing_changes(cancer):
    x, y = cancer
    s = SMOTE(sampling_strategy={0: 357, 1: 212}, random_state=0)
    xo, yo = s.fit_resample(x, y)
    assert xo.shape == x.shape and not np.shares_memory(xo, x)
    xo[0, 0] = -1.0
    assert x[0, 0] != -1.0


def test_integer_array_and_list_input(wine):
    x, y = wine
    xi = np.rint(x * 10).astype(np.int32)
    xo, yo = SMOTE(random_state=0).fit_resample(xi, y)
    xr, yr = io.SMOTE(random_state=0).fit_resample(xi, y)
    assert xo.dtype == xr.dtype == np.int32 and xo.shape == xr.shape
    xo, yo = RandomUnderSampler(random_state=0).fit_resample(x.tolist(), y.tolist())
    assert isinstance(xo, list) and isinstance(yo, list) and len(xo) == len(yo) == 36


def test_string_and_integer_labels(wine):
    x, y = wine
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    xo, yo = SMOTE(random_state=0).fit_resample(x, names)
    assert yo.dtype == names.dtype and sorted(set(yo)) == ["barbera", "barolo", "grignolino"]
    assert (pd.Series(yo).value_counts() == 59).all()
    s = SMOTE(sampling_strategy={"barbera": 40}, random_state=0)
    _, yo = s.fit_resample(x, names)
    assert (yo == "barbera").sum() == 40 and dict(s.sampling_strategy_) == {"barbera": 28}
    # labels whose text is another class's number: keys resolve by label, never by position
    y2 = np.where(y == 0, 1, np.where(y == 1, 2, 7))
    s = RandomOverSampler(sampling_strategy={1: 59, 2: 40, 7: 20}, random_state=0)
    _, yo = s.fit_resample(x, y2)
    assert {k: int((yo == k).sum()) for k in (1, 2, 7)} == {1: 59, 2: 40, 7: 20}
    yobj = np.array(["a b", "c,d", "e:f"], dtype=object)[y]
    _, yo = SMOTE(random_state=0).fit_resample(x, yobj)
    assert yo.dtype == object and set(yo) == {"a b", "c,d", "e:f"}


def test_dataframe_round_trip(wine):
    x, y = wine
    df = pd.DataFrame(x[:, :4], columns=["alcohol", "malic", "ash", "alcalinity"]).astype(
        {"malic": np.float32, "ash": np.float32})
    df["magnesium"] = np.rint(x[:, 4]).astype(np.int64)
    df.index = np.arange(len(df)) * 3 + 100
    ys = pd.Series(np.array(["a", "b", "c"])[y], name="cultivar", index=df.index)
    for s in (SMOTE(random_state=0), EditedNearestNeighbours(), RandomUnderSampler(random_state=0)):
        xo, yo = s.fit_resample(df, ys)
        assert isinstance(xo, pd.DataFrame) and isinstance(yo, pd.Series)
        assert list(xo.columns) == list(df.columns) and (xo.dtypes == df.dtypes).all()
        assert yo.name == "cultivar" and yo.dtype == ys.dtype
        kept = np.flatnonzero(s.origin_ >= 0)
        pd.testing.assert_frame_equal(xo.iloc[kept].reset_index(drop=True),
                                      df.iloc[s.origin_[kept]].reset_index(drop=True))
        assert list(s.feature_names_in_) == list(df.columns)


def test_smotenc_pandas_categoricals_and_strings(wine):
    x, y = wine
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"alcohol": x[:, 0], "colour": pd.Categorical(rng.choice(["red", "white", "rosé"], len(y)),
                                                                     categories=["red", "rosé", "white"]),
                       "phenols": x[:, 5].astype(np.float32),
                       "region": rng.choice(["Piemonte", "Veneto"], len(y)).astype(object)})
    for cats in ([1, 3], ["colour", "region"], "auto", [False, True, False, True]):
        s = SMOTENC(categorical_features=cats, random_state=0)
        xo, yo = s.fit_resample(df, y)
        assert list(xo.columns) == list(df.columns) and (xo.dtypes == df.dtypes).all()
        assert xo["colour"].cat.categories.tolist() == ["red", "rosé", "white"]
        assert set(xo["region"]) <= {"Piemonte", "Veneto"}
        new = s.origin_ < 0
        assert new.sum() == 59 * 3 - len(y)
        # each new row's category is one its class holds
        for c in range(3):
            have = set(df["colour"][y == c])
            assert set(xo["colour"][new & (np.asarray(yo) == c)]) <= have


def test_smoten_object_array_keeps_categories():
    rng = np.random.RandomState(0)
    cats = np.array(["A", "B", "C"], dtype=object)
    x = cats[rng.randint(0, 3, size=(60, 3))]
    y = np.r_[np.zeros(45, dtype=int), np.ones(15, dtype=int)]
    xo, yo = SMOTEN(random_state=0).fit_resample(x, y)
    assert xo.dtype == object and set(np.unique(xo)) <= {"A", "B", "C"} and np.bincount(yo).tolist() == [45, 45]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_round_trip(fmt, digits):
    x, y = digits
    xs = sp.csr_matrix(x).asformat(fmt)
    for s in (SMOTE(random_state=0), TomekLinks(), RandomUnderSampler(random_state=0)):
        xo, yo = s.fit_resample(xs, y)
        assert sp.issparse(xo) and xo.format == fmt and xo.dtype == xs.dtype
        dense, _ = type(s)(**s.get_params()).fit_resample(x, y)
        np.testing.assert_allclose(xo.toarray(), dense)


def test_object_columns_pass_through_random_samplers():
    x = np.array([["a", 1], ["b", 2], ["c", np.nan], ["d", 4], ["e", 5]], dtype=object)
    y = np.array([0, 0, 0, 1, 1])
    xo, yo = RandomUnderSampler(random_state=0).fit_resample(x, y)
    assert xo.dtype == object and np.bincount(yo).tolist() == [2, 2]
    xo, yo = RandomOverSampler(random_state=0).fit_resample(x, y)
    assert xo.dtype == object and len(xo) == 6
