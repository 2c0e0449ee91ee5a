"""rebalance.auto.AutoResampler: it picks what helps on data built so that one thing helps, keeps
its time budget, reports an estimate away from its own selection, and behaves as a scikit-learn
meta-estimator (estimator checks, Pipeline, cross_val_score, GridSearchCV, pandas)."""
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rebalance.auto import AutoResampler, parse_budget, recipe_names

ENSEMBLES = ("Classifier()", "Classifier(estimator)")
CLEANING = ("TomekLinks()", "EditedNearestNeighbours()", "OneSidedSelection()")


def noisy_minority(seed):
    """2-D: a minority blob with majority label noise inside it (majority rows drawn from the
    minority's own distribution). A 1-nearest-neighbour classifier calls every test row near a
    noise row majority; removing those rows (cleaning) is what lifts the minority's recall."""
    rs = np.random.RandomState(seed)
    maj = rs.uniform(-4, 4, size=(1500, 2))
    maj = maj[np.linalg.norm(maj, axis=1) > 1.5]
    noise = rs.normal(0, 0.5, size=(60, 2))
    mino = rs.normal(0, 0.5, size=(150, 2))
    return np.vstack([maj, noise, mino]), np.r_[np.zeros(len(maj) + 60, int), np.ones(150, int)]


def overlapping(seed):
    """Two overlapping Gaussians, 1000 against 60: the linear boundary is right, its offset is not.
    Shifting it (class weights) lifts balanced accuracy; removing a few border rows does not."""
    rs = np.random.RandomState(seed)
    X = np.vstack([rs.normal(0, 1, size=(1000, 4)), rs.normal(1.2, 1, size=(60, 4))])
    return X, np.r_[np.zeros(1000, int), np.ones(60, int)]


@pytest.mark.parametrize("seed", [0, 1])
def test_cleaning_is_picked_where_only_cleaning_helps(seed):
    X, y = noisy_minority(seed)
    knn = KNeighborsClassifier(n_neighbors=1)
    samplers = [r for r in recipe_names(knn) if not r.endswith(ENSEMBLES)]
    auto = AutoResampler(knn, candidates=samplers, random_state=seed).fit(X, y)
    assert auto.best_family_ in ("cleaning", "over-sampling then cleaning"), auto.report()
    # SMOTE k=3 after k=5, the cleaning rules after each other: searches of the same rows, shared.
    assert auto.neighbour_searches_shared_ > 0
    board = auto.leaderboard_
    assert board["status"][board["recipe"].index("nothing")] != "winner"
    assert auto.selection_score_ > board["mean"][board["recipe"].index("nothing")]


@pytest.mark.parametrize("seed", [0, 1])
def test_class_weights_are_picked_where_only_they_help(seed):
    X, y = overlapping(seed)
    auto = AutoResampler(LogisticRegression(max_iter=1000), random_state=seed,
                         candidates=["nothing", "class_weight='balanced'", *CLEANING]).fit(X, y)
    assert auto.best_recipe_ == "class_weight='balanced'", auto.report()
    board = auto.leaderboard_
    assert auto.best_family_ == "class weights"
    assert board["mean"][board["recipe"].index("nothing")] < auto.selection_score_


class VirtualClock:
    """The budget's clock in a test: it moves only when a fit says it took time, so what the
    budget decides is the same on a loaded machine as on an idle one."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that takes `delay` seconds longer to fit (on the clock `wait` moves)."""

    wait = staticmethod(time.sleep)

    def __init__(self, delay=0.25):
        self.delay = delay

    def fit(self, X, y):
        SlowClassifier.wait(self.delay)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_the_budget_is_honoured_on_a_slow_candidate_list(monkeypatch):
    # Each fit costs 0.25 s of a virtual clock (the rest of the work costs none): the whole
    # search, refit and estimate included, must end within the budget on that clock.
    clock = VirtualClock()
    monkeypatch.setattr("rebalance.auto._clock", clock)
    monkeypatch.setattr(SlowClassifier, "wait", staticmethod(clock.sleep))
    X, y = overlapping(0)
    budget = 4.0
    auto = AutoResampler(SlowClassifier(), candidates=[r for r in recipe_names(SlowClassifier())
                                                        if not r.endswith(ENSEMBLES)],
                         time_budget=budget, random_state=0).fit(X, y)
    assert clock.now <= budget, (clock.now, auto.report())
    assert auto.search_seconds_ <= budget
    assert clock.now > budget / 2  # it went on while fits fitted
    assert auto.budget_exhausted_
    assert any(s.startswith("budget") for s in auto.leaderboard_["status"])
    assert "time budget ran out" in auto.report()
    assert np.isfinite(auto.estimate_)


def test_nested_estimate_differs_from_the_selection_score_on_noise():
    # Labels independent of the features: every recipe's true balanced accuracy is 0.5; the best
    # of many noisy fold means lies above it, an outer cross-validation of the search does not.
    recipes = [r for r in recipe_names(LogisticRegression()) if not r.endswith(ENSEMBLES)][:12]
    optimism = []
    for seed in range(4):
        rs = np.random.RandomState(seed)
        X, y = rs.normal(size=(120, 5)), np.r_[np.zeros(90, int), np.ones(30, int)]
        auto = AutoResampler(LogisticRegression(), estimate="nested", cv=3, candidates=recipes,
                             random_state=seed).fit(X, y)
        assert len(auto.estimate_scores_) == 3 and len(auto.nested_choices_) == 3
        assert auto.optimism_ == pytest.approx(auto.selection_score_ - auto.estimate_)
        assert auto.selection_score_ > 0.5
        optimism.append(auto.optimism_)
    assert np.mean(optimism) > 0.03, optimism
    assert "outer 3-fold cross-validation of the whole search" in auto.report()


def test_leaderboard_holds_intervals_times_and_statuses():
    X, y = overlapping(0)
    auto = AutoResampler(LogisticRegression(max_iter=1000), cv=4, random_state=0,
                         candidates=["nothing", "class_weight='balanced'", "RandomUnderSampler()", "SMOTE(k_neighbors=5)",
                                     "KMeansSMOTE()", "TomekLinks()"]).fit(X, y)
    board = pd.DataFrame(auto.leaderboard_)
    assert list(board.columns) == ["rank", "recipe", "family", "mean", "std", "ci_low", "ci_high", "folds",
                                   "seconds_per_fold", "tied_with_best", "p_vs_best", "status"]
    winner = board[board.status == "winner"].iloc[0]
    assert winner["rank"] == 1 and winner.recipe == auto.best_recipe_ and winner.folds == 4
    assert winner.ci_low < winner["mean"] < winner.ci_high
    assert auto.selection_score_ == pytest.approx(winner["mean"])
    assert (board.seconds_per_fold.dropna() > 0).all()
    assert board.status.str.startswith("eliminated after").any()
    # The held-out estimate is of the refitted winner on rows the search never saw.
    assert 0 < auto.estimate_ <= 1 and len(auto.estimate_scores_) == 1
    assert auto.predict(X).shape == (len(y),)
    assert auto.predict_proba(X).shape == (len(y), 2)
    assert auto.score(X, y) > 0.5


def test_pandas_pipeline_cross_val_score_and_grid_search():
    X, y = overlapping(1)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    labels = pd.Series(np.where(y == 1, "rare", "common"))
    small = ["nothing", "class_weight='balanced'", "RandomOverSampler()", "TomekLinks()"]
    auto = AutoResampler(LogisticRegression(max_iter=1000), cv=3, candidates=small, random_state=0).fit(frame, labels)
    assert list(auto.feature_names_in_) == ["a", "b", "c", "d"]
    assert set(auto.predict(frame)) <= {"rare", "common"}
    assert list(auto.classes_) == ["common", "rare"]
    pipe = make_pipeline(StandardScaler(), AutoResampler(LogisticRegression(max_iter=1000), cv=3, candidates=small,
                                                         random_state=0))
    scores = cross_val_score(pipe, frame, labels, cv=3, scoring="balanced_accuracy")
    assert scores.shape == (3,) and (scores > 0.5).all()
    grid = GridSearchCV(AutoResampler(cv=3, candidates=small, random_state=0),
                        {"estimator": [LogisticRegression(C=0.1), LogisticRegression(C=10)]}, cv=2).fit(frame, labels)
    assert grid.best_estimator_.best_recipe_ in small


def test_budgets_and_bad_parameters_are_named():
    assert parse_budget("10m") == 600 and parse_budget("2h") == 7200 and parse_budget("1h30m") == 5400
    assert parse_budget("90s") == 90 and parse_budget(12.5) == 12.5 and parse_budget(None) is None
    for bad in ("soon", "0s", -3, "10 minutes"):
        with pytest.raises(ValueError, match="time_budget"):
            parse_budget(bad)
    X, y = overlapping(0)
    with pytest.raises(ValueError, match="unknown recipe 'SMOTE'"):
        AutoResampler(candidates=["SMOTE"]).fit(X, y)
    with pytest.raises(ValueError, match="cv must be an int >= 2"):
        AutoResampler(cv=1).fit(X, y)
    with pytest.raises(ValueError, match="estimate must be 'holdout' or 'nested'"):
        AutoResampler(estimate="selection").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        AutoResampler().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="candidate 'x': expected a sampler"):
        AutoResampler(candidates=[("x", 3)]).fit(X, y)
    # A user sampler or estimator joins the search under its own name.
    from rebalance.under_sampling import RandomUnderSampler
    auto = AutoResampler(cv=3, candidates=["nothing", ("my RUS", RandomUnderSampler(random_state=1))],
                         random_state=0).fit(X, y)
    assert "my RUS" in auto.leaderboard_["recipe"]


@parametrize_with_checks([AutoResampler(cv=3, candidates=["nothing", "class_weight='balanced'", "RandomOverSampler()",
                                                          "RandomUnderSampler()"], random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
