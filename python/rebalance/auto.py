"""Which technique, when: ``AutoResampler`` chooses a re-balancing recipe for the user's data and
estimator, within a time budget, and says how good the choice is with a score that is not the
search's own.

    from rebalance.auto import AutoResampler
    auto = AutoResampler(LogisticRegression(max_iter=1000), scoring="balanced_accuracy",
                         time_budget="10m", random_state=0).fit(X, y)
    pandas.DataFrame(auto.leaderboard_)     # every recipe tried: mean, std, 95% interval, time
    auto.best_recipe_                       # e.g. "SMOTE(k_neighbors=3)"
    auto.estimate_, auto.optimism_          # the winner scored on rows the search never saw

It searches "nothing", class weights (where the estimator takes ``class_weight``), every sampler
family (over-sampling, under-sampling, cleaning, over-sampling then cleaning) with its main
parameters, and the ensembles of balanced subsets, by successive halving over cross-validation
folds: every recipe is scored on a few folds, the best third goes on to more, until the survivors
have been scored on every fold (Jamieson & Talwalkar 2016's successive halving, with folds as the
resource). The winner is the best mean over all folds; the leaderboard marks every recipe that a
paired t-test over the same folds cannot tell from it.

A search's best score is optimistic: it is the maximum of many noisy estimates. So the score
reported for the winner is never that score alone: with ``estimate="holdout"`` (default) a
stratified share of the rows is kept out of the search and scores the refitted winner once; with
``estimate="nested"`` an outer cross-validation repeats the whole search on each outer training
part and scores its winner on the outer test part. ``optimism_`` is how far the selection score
fell.
"""
import math
import numbers
import re
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_X_y, column_or_1d

__all__ = ["AutoResampler", "parse_budget", "recipe_names"]

# The clock the budget is counted on (tests put a virtual one in its place, so that what the budget
# decides does not hang on the machine's load).
_clock = time.perf_counter

_MAX_SEED = np.iinfo(np.int32).max


def parse_budget(value):
    """Seconds from a budget: None (no limit), a number of seconds, or text such as "90s", "10m",
    "2h" or "1h30m"."""
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not value > 0 or not math.isfinite(value):
            raise ValueError(f"time_budget must be a positive number of seconds, got {value!r}")
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?", text)
        if text and parts and any(parts.groups()):
            h, m, s = (float(g) if g else 0.0 for g in parts.groups())
            seconds = 3600 * h + 60 * m + s
            if seconds > 0:
                return seconds
    raise ValueError(f"time_budget must be seconds or text like '90s', '10m', '2h', '1h30m', got {value!r}")


def _recipes(estimator, seed):
    """The catalogue, cheapest families first: [(name, family, build)], build() -> an unfitted
    estimator (the user's, wrapped with a sampler, re-weighted, or an ensemble around it)."""
    from . import combine as c
    from . import ensemble as e
    from . import over_sampling as o
    from . import under_sampling as u
    from .pipeline import Pipeline

    def sampled(make):
        return lambda: Pipeline([("sampler", make()), ("estimator", clone(estimator))])

    out = [("nothing", "none", lambda: clone(estimator))]
    # The estimator's class_weight, or that of a pipeline's step (e.g. logisticregression__class_weight).
    weights = [k for k in estimator.get_params() if k == "class_weight" or k.endswith("__class_weight")]
    if weights:
        out.append(("class_weight='balanced'", "class weights",
                    lambda: clone(estimator).set_params(**{k: "balanced" for k in weights})))
    samplers = [
        ("RandomOverSampler()", "over-sampling", lambda: o.RandomOverSampler(random_state=seed)),
        ("RandomUnderSampler()", "under-sampling", lambda: u.RandomUnderSampler(random_state=seed)),
        ("SMOTE(k_neighbors=5)", "over-sampling", lambda: o.SMOTE(k_neighbors=5, random_state=seed)),
        ("SMOTE(k_neighbors=3)", "over-sampling", lambda: o.SMOTE(k_neighbors=3, random_state=seed)),
        ("BorderlineSMOTE(kind='borderline-1')", "over-sampling",
         lambda: o.BorderlineSMOTE(kind="borderline-1", random_state=seed)),
        ("BorderlineSMOTE(kind='borderline-2')", "over-sampling",
         lambda: o.BorderlineSMOTE(kind="borderline-2", random_state=seed)),
        ("ADASYN()", "over-sampling", lambda: o.ADASYN(random_state=seed)),
        ("SVMSMOTE()", "over-sampling", lambda: o.SVMSMOTE(random_state=seed)),
        ("KMeansSMOTE()", "over-sampling", lambda: o.KMeansSMOTE(random_state=seed)),
        ("TomekLinks()", "cleaning", lambda: u.TomekLinks()),
        ("EditedNearestNeighbours()", "cleaning", lambda: u.EditedNearestNeighbours()),
        ("RepeatedEditedNearestNeighbours()", "cleaning", lambda: u.RepeatedEditedNearestNeighbours()),
        ("AllKNN()", "cleaning", lambda: u.AllKNN()),
        ("NeighbourhoodCleaningRule()", "cleaning", lambda: u.NeighbourhoodCleaningRule()),
        ("OneSidedSelection()", "cleaning", lambda: u.OneSidedSelection(random_state=seed)),
        ("NearMiss(version=1)", "under-sampling", lambda: u.NearMiss(version=1)),
        ("NearMiss(version=3)", "under-sampling", lambda: u.NearMiss(version=3)),
        ("ClusterCentroids()", "under-sampling", lambda: u.ClusterCentroids(random_state=seed)),
        ("InstanceHardnessThreshold()", "cleaning", lambda: u.InstanceHardnessThreshold(random_state=seed)),
        ("SMOTEENN()", "over-sampling then cleaning", lambda: c.SMOTEENN(random_state=seed)),
        ("SMOTETomek()", "over-sampling then cleaning", lambda: c.SMOTETomek(random_state=seed)),
    ]
    out += [(name, family, sampled(make)) for name, family, make in samplers]
    out += [
        ("BalancedBaggingClassifier(estimator)", "ensemble",
         lambda: e.BalancedBaggingClassifier(estimator=clone(estimator), random_state=seed)),
        ("EasyEnsembleClassifier()", "ensemble", lambda: e.EasyEnsembleClassifier(random_state=seed)),
        ("RUSBoostClassifier()", "ensemble", lambda: e.RUSBoostClassifier(random_state=seed)),
        ("BalancedRandomForestClassifier()", "ensemble",
         lambda: e.BalancedRandomForestClassifier(random_state=seed)),
    ]
    return out


def recipe_names(estimator=None):
    """The names of the recipes ``AutoResampler`` searches by default for ``estimator``."""
    return [name for name, _, _ in _recipes(LogisticRegression() if estimator is None else estimator, 0)]


def _winner_has(name):
    """available_if: the refitted winner (before fit, the estimator) has method ``name``."""
    return lambda self: hasattr(self.best_estimator_ if hasattr(self, "best_estimator_")
                                else self._base_estimator(), name)


class _Progress:
    """One line on stderr, rewritten: what runs now and the time left."""

    def __init__(self, on, deadline):
        self.on, self.deadline = on, deadline

    def __call__(self, text):
        if not self.on:
            return
        left = "" if self.deadline is None else f", {max(0.0, self.deadline - _clock()):.0f}s left"
        sys.stderr.write(f"\rauto: {text}{left}\033[K")
        sys.stderr.flush()

    def done(self):
        if self.on:
            sys.stderr.write("\n")


class AutoResampler(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Choose a re-balancing recipe for ``estimator`` by successive halving over CV folds.

    Parameters
    ----------
    estimator : classifier, default=None
        The model every recipe trains (cloned); None: ``LogisticRegression(max_iter=1000)``.
    scoring : str or callable, default="balanced_accuracy"
        What the search maximises (scikit-learn's scorer names or a scorer).
    cv : int, default=5
        Stratified folds of the search (fewer where the smallest class has fewer rows).
    time_budget : float, str or None, default=None
        The whole fit's budget, refits and estimate included: seconds or "90s", "10m", "2h".
        Recipes whose next fold would overrun it are not started; None: no limit.
    candidates : list or None, default=None
        None: the catalogue (``recipe_names()``); or a list of catalogue names, and/or
        ``(name, sampler_or_estimator)`` pairs (a sampler runs before the estimator).
    estimate : {"holdout", "nested"}, default="holdout"
        How the winner's score is measured away from the search: on ``holdout_size`` of the rows
        kept out of it, or by an outer ``cv``-fold cross-validation of the whole search.
    holdout_size : float, default=0.2
    factor : int, default=3
        Successive halving keeps the best 1/factor of the recipes at each rung.
    n_jobs : int or None, default=None
        Fold evaluations run at once (joblib); rebalance's samplers use every core themselves.
    random_state : int, RandomState or None, default=None
        Seeds the folds, the hold-out split and every sampler and ensemble.
    verbose : int, default=0
        > 0: a progress line with the time left on stderr.

    Attributes
    ----------
    leaderboard_ : dict of lists
        One entry per recipe, best first: ``rank``, ``recipe``, ``family``, ``mean``, ``std``,
        ``ci_low``, ``ci_high`` (95% t interval over folds), ``folds``, ``seconds_per_fold``,
        ``tied_with_best`` (a paired t-test over the shared folds cannot tell it from the winner,
        p >= 0.05), ``p_vs_best``, ``status``. ``pandas.DataFrame(leaderboard_)`` tabulates it.
    best_recipe_, best_family_ : str
    best_estimator_ : estimator
        The winner refitted on every row.
    selection_score_ : float
        The winner's mean over the search's folds (optimistic: the best of many).
    estimate_ : float
        The winner scored away from its search (``estimate``); ``estimate_scores_`` per outer fold.
    optimism_ : float
        ``selection_score_ - estimate_``.
    budget_exhausted_ : bool
        Some recipe or fold was left out for the budget.
    neighbour_searches_shared_ : int
        Exact neighbour searches a sampler asked for that an earlier recipe on the same rows had run.
    classes_, n_features_in_, feature_names_in_ : as the refitted estimator's.
    """

    def __init__(self, estimator=None, *, scoring="balanced_accuracy", cv=5, time_budget=None, candidates=None,
                 estimate="holdout", holdout_size=0.2, factor=3, n_jobs=None, random_state=None, verbose=0):
        self.estimator = estimator
        self.scoring = scoring
        self.cv = cv
        self.time_budget = time_budget
        self.candidates = candidates
        self.estimate = estimate
        self.holdout_size = holdout_size
        self.factor = factor
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ---- parameters ----
    def _base_estimator(self):
        return LogisticRegression(max_iter=1000) if self.estimator is None else self.estimator

    def _check_params(self):
        if isinstance(self.cv, bool) or not isinstance(self.cv, numbers.Integral) or self.cv < 2:
            raise ValueError(f"cv must be an int >= 2 (stratified folds), got {self.cv!r}")
        if self.estimate not in ("holdout", "nested"):
            raise ValueError(f"estimate must be 'holdout' or 'nested', got {self.estimate!r}")
        if not isinstance(self.holdout_size, numbers.Real) or not 0 < self.holdout_size < 1:
            raise ValueError(f"holdout_size must lie in (0, 1), got {self.holdout_size!r}")
        if isinstance(self.factor, bool) or not isinstance(self.factor, numbers.Integral) or self.factor < 2:
            raise ValueError(f"factor must be an int >= 2, got {self.factor!r}")
        return parse_budget(self.time_budget)

    def _candidate_list(self, estimator, seed):
        catalogue = _recipes(estimator, seed)
        if self.candidates is None:
            return catalogue
        if isinstance(self.candidates, (str, bytes)) or not hasattr(self.candidates, "__iter__"):
            raise ValueError(f"candidates must be None or a list of recipe names and (name, sampler or estimator) "
                             f"pairs, got {self.candidates!r}")
        by_name = {name: (name, family, build) for name, family, build in catalogue}
        out = []
        for item in self.candidates:
            if isinstance(item, str):
                if item not in by_name:
                    raise ValueError(f"unknown recipe {item!r}; the recipes for {type(estimator).__name__}: "
                                     + ", ".join(by_name))
                out.append(by_name[item])
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                name, obj = item
                if hasattr(obj, "fit_resample"):
                    from .pipeline import Pipeline
                    out.append((name, "user sampler", lambda obj=obj: Pipeline([("sampler", clone(obj)),
                                                                                 ("estimator", clone(estimator))])))
                elif hasattr(obj, "fit"):
                    out.append((name, "user estimator", lambda obj=obj: clone(obj)))
                else:
                    raise ValueError(f"candidate {name!r}: expected a sampler (fit_resample) or an estimator (fit), "
                                     f"got {type(obj).__name__}")
            else:
                raise ValueError(f"candidates: each entry is a recipe name or a (name, sampler or estimator) pair, "
                                 f"got {item!r}")
        if not out:
            raise ValueError("candidates is empty: give at least one recipe")
        if len({name for name, _, _ in out}) != len(out):
            raise ValueError("candidates: a recipe name is given twice")
        return out

    # ---- the search ----
    def _folds(self, X, y, seed):
        counts = np.unique(y, return_counts=True)[1]
        k = int(min(self.cv, counts.min()))
        if k < 2:
            raise ValueError(f"the smallest class has {counts.min()} row(s) in the rows searched: stratified "
                             f"cross-validation needs at least 2 of every class")
        return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))

    def _rungs(self, n_folds):
        """Folds scored by the end of each rung: the last rung is every fold."""
        rungs, upto = [], n_folds
        while True:
            rungs.append(upto)
            if upto == 1:
                break
            upto = max(1, math.ceil(upto / self.factor))
            if upto == rungs[-1]:
                break
        return sorted(set(rungs))

    @staticmethod
    def _evaluate(build, X, y, train, test, scorer):
        start = _clock()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = build().fit(_safe_indexing(X, train), _safe_indexing(y, train))
                score = float(scorer(model, _safe_indexing(X, test), _safe_indexing(y, test)))
            error = None if math.isfinite(score) else f"the score is {score}"
        except Exception as e:  # a recipe that fails on these rows loses, and says why
            score, error = float("nan"), e
        return score, _clock() - start, error

    def _search(self, X, y, candidates, deadline, scorer, seed, progress, reserve_share):
        """Successive halving: {index: {"scores", "seconds", "status", "error"}} and the winner."""
        folds = self._folds(y=y, X=X, seed=seed)
        n_folds = len(folds)
        state = [{"scores": [], "seconds": [], "status": "ok", "error": None, "message": None} for _ in candidates]
        alive = list(range(len(candidates)))
        exhausted = False
        parallel = self.n_jobs not in (None, 1)

        def predicted(i):
            own = state[i]["seconds"]
            if own:
                return float(np.mean(own))
            seen = [s for st in state for s in st["seconds"]]
            return float(np.median(seen)) if seen else 0.0

        def reserve():
            # The winner's refit(s) on every row must fit in the budget too.
            seen = [max(st["seconds"]) for st in state if st["seconds"] and st["status"] == "ok"]
            return reserve_share * (max(seen) if seen else 0.0)

        for upto in self._rungs(n_folds):
            jobs = [(i, f) for i in alive if state[i]["status"] == "ok" for f in range(len(state[i]["scores"]), upto)]
            while jobs:
                batch = jobs[:max(1, self._n_parallel())] if parallel else jobs[:1]
                if deadline is not None:
                    need = max(predicted(i) for i, _ in batch)
                    if _clock() + need + reserve() > deadline:
                        exhausted = True
                        break
                progress(f"rung of {upto} fold(s): {candidates[batch[0][0]][0]} fold {batch[0][1] + 1}")
                if parallel:
                    from joblib import Parallel, delayed
                    results = Parallel(n_jobs=len(batch))(
                        delayed(self._evaluate)(candidates[i][2], X, y, folds[f][0], folds[f][1], scorer)
                        for i, f in batch)
                else:
                    results = [self._evaluate(candidates[i][2], X, y, folds[f][0], folds[f][1], scorer)
                               for i, f in batch]
                for (i, f), (score, seconds, error) in zip(batch, results):
                    st = state[i]
                    if st["status"] != "ok":
                        continue
                    st["seconds"].append(seconds)
                    if error is not None:
                        st["status"], st["error"] = "error", error
                        st["message"] = f"{type(error).__name__}: {error}"
                    else:
                        st["scores"].append(score)
                jobs = [(i, f) for i, f in jobs[len(batch):] if state[i]["status"] == "ok"]
            scored = [i for i in alive if state[i]["status"] == "ok" and len(state[i]["scores"]) >= upto]
            if exhausted or upto == n_folds:
                break
            scored.sort(key=lambda i: -np.mean(state[i]["scores"]))
            keep = max(1, math.ceil(len(scored) / self.factor))
            for i in scored[keep:]:
                state[i]["status"] = f"eliminated after {upto} fold(s)"
            alive = scored[:keep]
        for st in state:
            if st["status"] == "ok" and len(st["scores"]) < n_folds:
                st["status"] = f"budget: {len(st['scores'])} of {n_folds} folds" if st["scores"] else "budget: not run"
        # The winner: the best mean among the recipes scored on the most folds.
        usable = [i for i, st in enumerate(state) if st["scores"] and st["error"] is None]
        if not usable:
            failed = [(candidates[i][0], st["error"]) for i, st in enumerate(state) if st["error"] is not None]
            if not failed:
                raise ValueError("no recipe could be scored within the time budget: raise time_budget")
            # The estimator's own error on these rows (recipe "nothing") is the user's error: raised as it is.
            plain = [e for name, e in failed if name == "nothing"]
            if plain:
                raise plain[0]
            name, e = failed[0]
            raise ValueError(f"no recipe could be scored: {name}: {type(e).__name__}: {e}"
                             + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")) from e
        most = max(len(state[i]["scores"]) for i in usable)
        best = max((i for i in usable if len(state[i]["scores"]) == most), key=lambda i: np.mean(state[i]["scores"]))
        return state, best, n_folds, exhausted

    def _n_parallel(self):
        from joblib import effective_n_jobs
        return effective_n_jobs(self.n_jobs)

    @staticmethod
    def _leaderboard(candidates, state, best, n_folds):
        rows = []
        top = state[best]["scores"]
        for i, (name, family, _) in enumerate(candidates):
            st = state[i]
            s = np.asarray(st["scores"], dtype=float)
            mean = float(s.mean()) if len(s) else float("nan")
            std = float(s.std(ddof=1)) if len(s) > 1 else (0.0 if len(s) else float("nan"))
            half = float(stats.t.ppf(0.975, len(s) - 1) * std / math.sqrt(len(s))) if len(s) > 1 else float("nan")
            shared = min(len(s), len(top))
            if i == best:
                tied, p = True, float("nan")
            elif shared >= 2 and st["error"] is None:
                d = s[:shared] - np.asarray(top[:shared])
                if np.allclose(d, d[0]):
                    p = 1.0 if abs(d[0]) < 1e-12 else 0.0
                else:
                    p = float(stats.ttest_rel(s[:shared], top[:shared]).pvalue)
                tied = p >= 0.05
            else:
                tied, p = False, float("nan")
            status = st["status"] if st["error"] is None else st["message"]
            rows.append({"recipe": name, "family": family, "mean": mean, "std": std, "ci_low": mean - half,
                         "ci_high": mean + half, "folds": int(len(s)),
                         "seconds_per_fold": float(np.mean(st["seconds"])) if st["seconds"] else float("nan"),
                         "tied_with_best": bool(tied), "p_vs_best": p,
                         "status": "winner" if i == best else status})
        # Best first: recipes by folds scored, then mean; errors and the unrun last.
        rows.sort(key=lambda r: (-r["folds"], -(r["mean"] if math.isfinite(r["mean"]) else -np.inf)))
        board = {k: [r[k] for r in rows] for k in ["recipe", "family", "mean", "std", "ci_low", "ci_high", "folds",
                                                    "seconds_per_fold", "tied_with_best", "p_vs_best", "status"]}
        board = {"rank": list(range(1, len(rows) + 1)), **board}
        return board

    def _run_search(self, X, y, estimator, scorer, deadline, seed, progress, refits):
        from . import _core
        candidates = self._candidate_list(estimator, seed)
        # The samplers of one fold resample the same rows: their exact neighbour searches are shared
        # (in this process; with n_jobs each worker shares its own).
        with _core.NeighbourCache() as shared:
            state, best, n_folds, exhausted = self._search(X, y, candidates, deadline, scorer, seed, progress,
                                                           reserve_share=refits * 1.3)
        self.neighbour_searches_shared_ = getattr(self, "neighbour_searches_shared_", 0) + shared.hits
        return candidates, state, best, n_folds, exhausted

    @staticmethod
    def _validate_input(X, y):
        """X as the recipes get it (a DataFrame stays one; sparse becomes CSR; anything else an
        array) and y as a 1-D array, checked as scikit-learn's estimators check them."""
        if sp.issparse(X):
            X = X.tocsr()
        elif not hasattr(X, "iloc") and not isinstance(X, np.ndarray):
            X = np.asarray(X)
        check_X_y(X, y, accept_sparse=True, dtype=None, force_all_finite=False, allow_nd=True)
        y_arr = column_or_1d(y, warn=True)
        check_classification_targets(y_arr)
        classes = np.unique(y_arr)
        if len(classes) < 2:
            raise ValueError(f"AutoResampler needs at least 2 classes in y; got 1 class ({classes[0]!r})")
        return X, y_arr

    def fit(self, X, y):
        budget = self._check_params()
        self.neighbour_searches_shared_ = 0
        start = _clock()
        deadline = None if budget is None else start + budget
        progress = _Progress(self.verbose > 0, deadline)
        X, y_arr = self._validate_input(X, y)
        estimator = self._base_estimator()
        scorer = check_scoring(estimator, scoring=self.scoring)
        seed = int(check_random_state(self.random_state).randint(_MAX_SEED))
        n = len(y_arr)
        if self.estimate == "holdout":
            try:
                search_rows, held_rows = train_test_split(np.arange(n), test_size=self.holdout_size, stratify=y_arr,
                                                          random_state=seed)
            except ValueError as e:
                raise ValueError(f"estimate='holdout' cannot split {self.holdout_size:.0%} of the rows off with every "
                                 f"class on both sides ({e}); give more rows, a larger holdout_size, or "
                                 f"estimate='nested'") from e
            Xs, ys = _safe_indexing(X, search_rows), y_arr[search_rows]
            candidates, state, best, n_folds, exhausted = self._run_search(Xs, ys, estimator, scorer, deadline,
                                                                                 seed, progress, refits=2.5)
            name, _, build = candidates[best]
            progress(f"scoring {name} on the {len(held_rows)} held-out rows")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                held_model = build().fit(Xs, ys)
            self.estimate_scores_ = [float(scorer(held_model, _safe_indexing(X, held_rows), y_arr[held_rows]))]
        else:
            outer = self._folds(X=X, y=y_arr, seed=seed + 1)
            scores, choices = [], []
            share = None if deadline is None else (deadline - _clock()) / (len(outer) + 1)
            for k, (tr, te) in enumerate(outer):
                sub_deadline = None if share is None else _clock() + share
                progress(f"outer fold {k + 1}/{len(outer)}")
                Xt, yt = _safe_indexing(X, tr), y_arr[tr]
                cands, st, b, _, _ = self._run_search(Xt, yt, estimator, scorer, sub_deadline, seed, progress,
                                                            refits=1.3)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = cands[b][2]().fit(Xt, yt)
                scores.append(float(scorer(model, _safe_indexing(X, te), y_arr[te])))
                choices.append(cands[b][0])
            self.estimate_scores_ = scores
            self.nested_choices_ = choices
            candidates, state, best, n_folds, exhausted = self._run_search(X, y_arr, estimator, scorer,
                                                                                 deadline, seed, progress, refits=1.3)
        name, family, build = candidates[best]
        progress(f"refitting {name} on all {n} rows")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.best_estimator_ = build().fit(X, y_arr)
        progress.done()
        self.leaderboard_ = self._leaderboard(candidates, state, best, n_folds)
        self.best_recipe_, self.best_family_ = name, family
        self.selection_score_ = float(np.mean(state[best]["scores"]))
        self.estimate_ = float(np.mean(self.estimate_scores_))
        self.optimism_ = self.selection_score_ - self.estimate_
        self.n_folds_ = n_folds
        self.budget_exhausted_ = bool(exhausted)
        self.search_seconds_ = _clock() - start
        self.classes_ = getattr(self.best_estimator_, "classes_", np.unique(y_arr))
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.best_estimator_, attr):
                setattr(self, attr, getattr(self.best_estimator_, attr))
        return self

    # ---- the refitted winner ----
    def predict(self, X):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_winner_has("predict_proba"))
    def predict_proba(self, X):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_winner_has("predict_log_proba"))
    def predict_log_proba(self, X):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_winner_has("decision_function"))
    def decision_function(self, X):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    def report(self):
        """The leaderboard as text, the winner's selection score beside its estimate."""
        check_is_fitted(self, "best_estimator_")
        b = self.leaderboard_
        width = max(len(r) for r in b["recipe"])
        lines = [f"{'rank':>4}  {'recipe':<{width}}  {'mean':>7}  {'std':>6}  {'95% interval':>17}  {'folds':>5}  "
                 f"{'s/fold':>7}  status"]
        for k in range(len(b["rank"])):
            mark = "*" if b["tied_with_best"][k] else " "
            interval = (f"[{b['ci_low'][k]:.4f}, {b['ci_high'][k]:.4f}]" if math.isfinite(b["ci_low"][k])
                        else "")
            mean = f"{b['mean'][k]:.4f}" if math.isfinite(b["mean"][k]) else "-"
            std = f"{b['std'][k]:.4f}" if math.isfinite(b["std"][k]) else "-"
            spf = f"{b['seconds_per_fold'][k]:.3f}" if math.isfinite(b["seconds_per_fold"][k]) else "-"
            lines.append(f"{b['rank'][k]:>4}{mark} {b['recipe'][k]:<{width}}  {mean:>7}  {std:>6}  {interval:>17}  "
                         f"{b['folds'][k]:>5}  {spf:>7}  {b['status'][k]}")
        how = ("a stratified hold-out the search never saw" if self.estimate == "holdout"
               else f"an outer {len(self.estimate_scores_)}-fold cross-validation of the whole search")
        lines.append(f"* a paired t-test over the folds both were scored on (of {self.n_folds_}) cannot tell it from the "
                     f"winner (p >= 0.05); a recipe eliminated after one fold is not tested")
        lines.append(f"winner: {self.best_recipe_}; selection score {self.selection_score_:.4f} (the best of "
                     f"{len(b['rank'])} recipes, optimistic), estimate {self.estimate_:.4f} on {how}: "
                     f"{self.optimism_:+.4f} optimism")
        if self.budget_exhausted_:
            lines.append("the time budget ran out before every recipe was scored on every fold")
        return "\n".join(lines)
