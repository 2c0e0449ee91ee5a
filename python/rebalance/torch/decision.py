"""Decision rules as post-hoc modules: what turns a trained model's logits into labels.

    adjust = LogitAdjustment(class_counts, tau=1.0)       # logits - tau * log(prior)
    preds = adjust(model(x)).argmax(1)

    tm = ThresholdMoving(metric="f1").fit(val_logits, val_targets)   # binary: tune on validation
    preds = tm.predict(model(x_test))

Each is an ``nn.Module`` whose ``forward(logits)`` returns adjusted logits (same shape, dtype and
device, differentiable), whose argmax is the rule's label; ``predict(logits)`` returns the labels.
The rules are the library's (``rebalance methods decisions``), the CLI trainer's ``--decision``.
The tuned numbers live in a buffer, so ``state_dict()`` saves and restores them.
"""
import torch
from torch import nn

from .. import _params
from . import _ext
from ._compiled import CompiledState
from ._targets import class_counts_of, read_targets
from .losses import _counts

__all__ = ["DecisionRule", "LogitAdjustment", "ThresholdMoving", "make_decision_rule"]


class DecisionRule(CompiledState, nn.Module):
    """A decision rule from its factory string (``"argmax"``, ``"prior:tau=1"``,
    ``"threshold:metric=f1"``)."""

    def __init__(self, spec="argmax"):
        super().__init__()
        if not isinstance(spec, str):
            raise TypeError(f"{type(self).__name__}: spec must be a factory string, got {type(spec).__name__}")
        self.spec = spec
        self._impl = _ext.make_decision_rule(spec)
        self.register_buffer("rule_state", torch.tensor(self._impl.state(), dtype=torch.float64))

    def _sync(self):
        """The compiled rule takes the buffer's numbers (a load_state_dict may have changed them)."""
        if self.rule_state.numel():
            self._impl.set_state(self.rule_state.tolist())

    def fit(self, logits, targets, class_counts=None):
        """Tune on held-out logits [N, C] and their targets [N]; ``class_counts`` are the training
        set's (the prior rule's), by default the counts of ``targets``."""
        t = read_targets(targets, where=type(self).__name__)
        if class_counts is None:
            class_counts = class_counts_of(t, logits.shape[1] if logits.dim() == 2 else None)
        counts = _counts(class_counts, type(self).__name__)
        self._impl.fit(logits, t.to(logits.device), counts)
        self.rule_state = torch.tensor(self._impl.state(), dtype=torch.float64, device=self.rule_state.device)
        return self

    def forward(self, logits):
        self._sync()
        return self._impl.adjust(logits)

    def predict(self, logits):
        """Labels [N] int64 on the logits' device."""
        self._sync()
        return self._impl.predict(logits).to(logits.device)

    def extra_repr(self):
        return f"{self.spec!r}, state={self.rule_state.tolist()}"

    def _rebuild(self):
        self._impl = _ext.make_decision_rule(self.spec)


class LogitAdjustment(DecisionRule):
    """Post-hoc logit adjustment (Menon et al., ICLR 2021; the prior correction of the CLI's
    ``--decision prior``): logits - tau * log(n_c / N) from the training class counts.
    ``tau="auto"`` chooses tau on held-out data: ``fit(val_logits, val_targets)`` tries 0 to 2 by
    0.05 and keeps the best balanced accuracy (ties to the value nearest 1)."""

    def __init__(self, class_counts, tau=1.0):
        super().__init__(_params.spec("prior", {"tau": tau}))
        self.tau = tau
        self.class_counts = tuple(_counts(class_counts, "LogitAdjustment"))
        if tau != "auto":
            c = len(self.class_counts)
            self._impl.fit(torch.zeros(1, c), torch.zeros(1, dtype=torch.int64), list(self.class_counts))
            self.rule_state = torch.tensor(self._impl.state(), dtype=torch.float64)

    @classmethod
    def from_targets(cls, targets, num_classes=None, tau=1.0):
        return cls(class_counts_of(read_targets(targets), num_classes), tau=tau)

    def fit(self, logits, targets, class_counts=None):
        """Choose tau (``tau="auto"``) on held-out logits and targets; the training counts are the
        constructor's."""
        return super().fit(logits, targets, self.class_counts if class_counts is None else class_counts)

    @property
    def chosen_tau(self):
        """The tau in use: the constructor's, or the one ``fit`` chose (None before it)."""
        if not self.rule_state.numel():
            return None
        n = torch.tensor(self.class_counts, dtype=torch.float64).clamp(min=1)
        log_prior = torch.log(n / n.sum())
        k = int(torch.argmin(log_prior))  # the rarest class: its log prior is far from 0
        return float(self.rule_state[k] / log_prior[k])

    def _sync(self):
        if not self.rule_state.numel():
            raise ValueError("LogitAdjustment(tau='auto'): call fit(val_logits, val_targets) first; tau is chosen "
                             "on held-out data")
        super()._sync()


class ThresholdMoving(DecisionRule):
    """Threshold moving for binary tasks: the threshold on p(class 1) that maximises ``metric``
    ("f1" of class 1, or "balanced_accuracy") on held-out logits, found by ``fit``."""

    def __init__(self, metric="f1"):
        super().__init__(_params.spec("threshold", {"metric": metric}))
        self.metric = metric

    @property
    def threshold(self):
        return float(self.rule_state[0])


def make_decision_rule(spec):
    return DecisionRule(spec)
