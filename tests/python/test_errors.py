"""Bad input raises a Python exception naming what is wrong (imbalanced-learn's wording where it
has one), never a crash."""
import numpy as np
import pandas as pd
import pytest

from rebalance.combine import SMOTEENN
from rebalance.over_sampling import ADASYN, SMOTE, SMOTENC, RandomOverSampler
from rebalance.under_sampling import EditedNearestNeighbours, NearMiss, RandomUnderSampler


def test_nan_and_inf_named(wine):
    x, y = wine
    bad = x.copy()
    bad[7, 3] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN \(row 7, column 3\)"):
        SMOTE().fit_resample(bad, y)
    bad[7, 3] = np.inf
    with pytest.raises(ValueError, match=r"infinity.*row 7, column 3"):
        EditedNearestNeighbours().fit_resample(bad, y)
    df = pd.DataFrame(x[:, :3].copy(), columns=["a", "b", "c"])
    df.loc[5, "b"] = np.nan
    with pytest.raises(ValueError, match=r"NaN \(column 'b', row 5\)"):
        SMOTE().fit_resample(df, y)


def test_object_array_value_named(wine):
    x, y = wine
    bad = x.astype(object)
    bad[4, 2] = "twelve"
    with pytest.raises(ValueError, match=r"could not convert string to float: 'twelve' \(X row 4, column 2\)"):
        SMOTE().fit_resample(bad, y)


def test_dimensions_and_lengths(wine):
    x, y = wine
    with pytest.raises(ValueError, match="Found array with dim 3"):
        SMOTE().fit_resample(x.reshape(len(y), 1, -1), y)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        SMOTE().fit_resample(x[:, 0], y)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[101, 100\]"):
        SMOTE().fit_resample(x, y[:-1])


def test_single_class_and_continuous_targets(wine):
    x, y = wine
    with pytest.raises(ValueError, match="needs to have more than 1 class. Got 1 class"):
        SMOTE().fit_resample(x, np.zeros(len(y)))
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'"):
        SMOTE().fit_resample(x, np.linspace(0, 1, len(y)))
    with pytest.raises(ValueError, match="Multilabel and multioutput targets are not supported"):
        SMOTE().fit_resample(x, np.random.RandomState(0).randint(2, size=(len(y), 3)))


def test_k_neighbors_larger_than_class(wine):
    x, y = wine  # class 2 has 12 rows
    with pytest.raises(ValueError, match=r"n_neighbors"):
        SMOTE(k_neighbors=20).fit_resample(x, y)
    with pytest.raises(ValueError, match=r"n_neighbors"):
        ADASYN(n_neighbors=200).fit_resample(x, y)


def test_unknown_strategy_keys_and_bad_counts(wine):
    x, y = wine
    with pytest.raises(ValueError, match=r"The \[5\] target class is/are not present in the data."):
        SMOTE(sampling_strategy={5: 100}).fit_resample(x, y)
    with pytest.raises(ValueError, match="should be greater or equal to the original number of samples"):
        SMOTE(sampling_strategy={0: 10}).fit_resample(x, y)
    with pytest.raises(ValueError, match="cannot be a list for samplers which are not cleaning methods"):
        RandomUnderSampler(sampling_strategy=[0, 1]).fit_resample(x, y)
    with pytest.raises(ValueError, match="can be a float only when the type of target is binary"):
        SMOTE(sampling_strategy=0.5).fit_resample(x, y)
    with pytest.raises(ValueError, match="sampling_strategy"):
        SMOTE(sampling_strategy="most").fit_resample(x, y)
    with pytest.raises(ValueError, match="'sampling_strategy'='majority' cannot be used with over-sampler"):
        RandomOverSampler(sampling_strategy="majority").fit_resample(x, y)


def test_unsupported_dataframe_dtypes(wine):
    x, y = wine
    df = pd.DataFrame({"a": x[:, 0], "when": pd.date_range("2020-01-01", periods=len(y))})
    with pytest.raises(ValueError, match=r"column 'when' has unsupported dtype datetime64"):
        SMOTE().fit_resample(df, y)
    df = pd.DataFrame({"a": x[:, 0], "grape": np.array(["x", "y"], dtype=object)[y % 2]})
    with pytest.raises(ValueError, match=r"column 'grape' has dtype object.*only SMOTENC and SMOTEN"):
        SMOTE().fit_resample(df, y)


def test_bad_parameters(wine):
    x, y = wine
    with pytest.raises(ValueError, match="version"):
        NearMiss(version=4).fit_resample(x, y)
    with pytest.raises(ValueError, match="kind_sel"):
        EditedNearestNeighbours(kind_sel="most").fit_resample(x, y)
    with pytest.raises(ValueError, match="SMOTE-NC is not designed to work only with categorical features"):
        SMOTENC(categorical_features=list(range(x.shape[1]))).fit_resample(x, y)
    with pytest.raises(ValueError, match="out of range"):
        SMOTENC(categorical_features=[99]).fit_resample(x, y)
    with pytest.raises(ValueError, match="smote needs to be a SMOTE object"):
        SMOTEENN(smote=EditedNearestNeighbours()).fit_resample(x, y)
    with pytest.raises(TypeError, match="sparse matrix was passed, but dense data is required"):
        import scipy.sparse as sp
        from rebalance.over_sampling import SMOTEN
        SMOTEN().fit_resample(sp.csr_matrix(x), y)
    from sklearn.neighbors import NearestNeighbors
    with pytest.raises(ValueError, match="metric must be Euclidean"):
        SMOTE(k_neighbors=NearestNeighbors(n_neighbors=6, metric="cosine")).fit_resample(x, y)
    # a Euclidean neighbours object is read for its n_neighbors (k + 1, as imbalanced-learn)
    s = SMOTE(k_neighbors=NearestNeighbors(n_neighbors=4), random_state=0)
    a = s.fit_resample(x, y)[0]
    b = SMOTE(k_neighbors=3, random_state=0).fit_resample(x, y)[0]
    np.testing.assert_array_equal(a, b)


def test_a_strategy_past_memory_is_a_value_error_naming_the_class(wine):
    """Not a bare MemoryError or std::bad_alloc: the class and the count are named."""
    x, y = wine
    with pytest.raises(ValueError, match=r"asks for 9{9}\d+ new rows of class .*of memory"):
        RandomOverSampler(sampling_strategy={2: 10**12}).fit_resample(x, y)
    with pytest.raises(ValueError, match=r"new rows of class"):
        SMOTE(sampling_strategy={2: 10**12}).fit_resample(x, y)
