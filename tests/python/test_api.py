"""scikit-learn and imbalanced-learn conventions: the same class names, signatures and defaults as
imbalanced-learn; defaults that agree with the C++ factory's declarations; get_params/set_params,
clone and pickling; samplers inside imblearn's Pipeline under cross_val_score and GridSearchCV;
imbalanced-learn's own estimator checks."""
import inspect
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

import imblearn
import imblearn.combine
import imblearn.ensemble
import imblearn.over_sampling
import imblearn.under_sampling
from imblearn.pipeline import Pipeline, make_pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks

import rebalance
from rebalance import augment, base, combine, ensemble, generative, over_sampling, under_sampling

PAIRS = [(over_sampling, imblearn.over_sampling), (under_sampling, imblearn.under_sampling),
         (combine, imblearn.combine), (ensemble, imblearn.ensemble)]
# imbalanced-learn classes rebalance does not provide (none at present).
NOT_PROVIDED = set()
# samplers of the Python layer alone (a scikit-learn estimator decides the rows), no C++ declaration
PYTHON_ONLY = {"SVMSMOTE", "InstanceHardnessThreshold"}


def _all_samplers():
    out = []
    for mod in (over_sampling, under_sampling, combine, generative, augment):
        for name in mod.__all__:
            cls = getattr(mod, name)
            if isinstance(cls, type) and issubclass(cls, base.BaseSampler):  # not JointGANClassifier, augment()
                out.append(cls)
    return out


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=lambda m: getattr(m, "__name__", ""))
def test_same_classes_and_signatures_as_imblearn(ours, theirs):
    for name in theirs.__all__:
        if name in NOT_PROVIDED:
            assert not hasattr(ours, name)
            continue
        assert hasattr(ours, name), f"{ours.__name__} lacks {name}"
        a = inspect.signature(getattr(ours, name))
        b = inspect.signature(getattr(theirs, name))
        assert str(a) == str(b), f"{name}: {a} != imblearn's {b}"


def test_python_defaults_are_the_factory_declarations():
    """Where a Python argument is also a factory parameter, its default is the declared one."""
    checked = 0
    for cls in _all_samplers():
        if cls.__name__ in PYTHON_ONLY:
            assert cls.__doc__ and "imbalanced-learn" in cls.__doc__
            continue
        decl = {n: d for n, d, _ in base.declaration(cls.__name__)["params"]}
        for pname, p in inspect.signature(cls).parameters.items():
            if pname in decl and p.default is not inspect.Parameter.empty and p.default is not None:
                assert base._spec_value(p.default).lower() == decl[pname].lower() or \
                    float(base._spec_value(p.default)) == float(decl[pname]), (cls.__name__, pname)
                checked += 1
        assert cls.__doc__ and base.declaration(cls.__name__)["description"] in cls.__doc__
    assert checked > 30


def test_generative_samplers_come_from_the_declarations():
    for name in ("VAEOverSampler", "MGVAEOverSampler", "DeepSMOTEOverSampler", "M2mOverSampler", "CycleGANOverSampler",
                 "StarGANOverSampler"):
        cls = getattr(generative, name)
        declared = [n for n, _, _ in base.declaration(name)["params"] if n not in ("sampling_strategy", "seed")]
        params = list(inspect.signature(cls).parameters)
        assert params == ["sampling_strategy", "random_state"] + declared
        s = cls(random_state=3)
        assert clone(s).get_params() == s.get_params()
        assert pickle.loads(pickle.dumps(s)).get_params() == s.get_params()
        with pytest.raises(TypeError, match="unexpected keyword"):
            cls(no_such_parameter=1)


@pytest.mark.parametrize("cls", _all_samplers(), ids=lambda c: c.__name__)
def test_params_clone_pickle(cls, wine):
    s = cls(categorical_features=[0]) if cls is over_sampling.SMOTENC else cls()
    params = s.get_params()
    assert "sampling_strategy" in params
    c = clone(s)
    assert c.get_params() == params and c is not s
    s.set_params(sampling_strategy="auto")
    p = pickle.loads(pickle.dumps(s))
    assert type(p) is cls and p.get_params() == s.get_params()


def test_fitted_sampler_pickles_and_repeats(wine):
    x, y = wine
    s = over_sampling.SMOTE(random_state=7)
    a = s.fit_resample(x, y)
    s2 = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(s2.origin_, s.origin_)
    b = s2.fit_resample(x, y)
    np.testing.assert_array_equal(a[0], b[0])  # same seed, same bytes


def test_pipeline_cross_val_and_grid_search(cancer):
    x, y = cancer
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    ours = make_pipeline(over_sampling.SMOTE(random_state=0), LogisticRegression(max_iter=5000))
    theirs = make_pipeline(imblearn.over_sampling.SMOTE(random_state=0), LogisticRegression(max_iter=5000))
    a = cross_val_score(ours, x, y, scoring="balanced_accuracy", cv=cv)
    b = cross_val_score(theirs, x, y, scoring="balanced_accuracy", cv=cv)
    assert abs(a.mean() - b.mean()) < 0.02, (a.mean(), b.mean())
    grid = GridSearchCV(Pipeline([("s", under_sampling.RandomUnderSampler(random_state=0)),
                                  ("c", LogisticRegression(max_iter=5000))]),
                        {"s__sampling_strategy": ["auto", 0.8], "c__C": [0.1, 1.0]}, cv=3,
                        scoring="balanced_accuracy")
    grid.fit(x, y)
    assert set(grid.best_params_) == {"s__sampling_strategy", "c__C"}
    assert grid.best_score_ > 0.85


def test_package_metadata():
    assert rebalance.__version__
    assert rebalance._core.threads() >= 1
    assert rebalance.over_sampling is over_sampling


# imbalanced-learn's own checks. Skipped, and why:
#  - check_samplers_fit_resample / check_samplers_sampling_strategy_fit_resample branch on
#    isinstance(sampler, imblearn.base.BaseOverSampler ...): for our classes they pass without
#    asserting, so the same counts are asserted by test_parity.py instead.
#  - the generative samplers: minutes of training per check; their conformance is the C++ suite's.
# ClusterCentroids votes "soft" as imbalanced-learn's _set_checking_parameters sets it: its default
# "auto" votes "hard" on sparse input and "soft" on dense, so check_samplers_sparse would compare
# picked rows with centroids.
CHECKED = [over_sampling.RandomOverSampler(), over_sampling.RandomOverSampler(shrinkage=0.3),
           over_sampling.SMOTE(), over_sampling.BorderlineSMOTE(), over_sampling.SVMSMOTE(), over_sampling.ADASYN(),
           over_sampling.KMeansSMOTE(cluster_balance_threshold=0.0), over_sampling.ClusterOverSampler(),
           under_sampling.RandomUnderSampler(), under_sampling.NearMiss(), under_sampling.TomekLinks(),
           under_sampling.EditedNearestNeighbours(), under_sampling.RepeatedEditedNearestNeighbours(),
           under_sampling.AllKNN(), under_sampling.CondensedNearestNeighbour(), under_sampling.OneSidedSelection(),
           under_sampling.NeighbourhoodCleaningRule(), under_sampling.ClusterCentroids(voting="soft"),
           under_sampling.InstanceHardnessThreshold(estimator=__import__("sklearn.linear_model").linear_model
                                                    .LogisticRegression(max_iter=1000)),
           combine.SMOTEENN(), combine.SMOTETomek(),
           ensemble.EasyEnsembleClassifier(n_estimators=3), ensemble.BalancedBaggingClassifier(n_estimators=3),
           ensemble.BalancedRandomForestClassifier(n_estimators=5), ensemble.RUSBoostClassifier(n_estimators=5),
           ensemble.BalanceCascadeClassifier(n_estimators=3)]
for _s in CHECKED:
    if "random_state" in _s.get_params():
        _s.set_params(random_state=0)


@parametrize_with_checks(CHECKED)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)
