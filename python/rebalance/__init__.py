"""rebalance: learning from class-imbalanced data. imbalanced-learn's API over a C++ core.

    from rebalance.over_sampling import SMOTE          # was: from imblearn.over_sampling import SMOTE
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)

Modules as imbalanced-learn's: ``over_sampling``, ``under_sampling``, ``combine``, ``ensemble``,
``metrics``; plus ``auto`` (``AutoResampler``: which recipe, chosen within a time budget, with
an honest estimate of the choice), ``generative`` (VAE, MGVAE, CycleGAN, StarGAN over-samplers) and ``augment``
(image transforms and the augmentation over-sampler). Samplers run in
imbalanced-learn's ``Pipeline`` and scikit-learn's model selection. ``rebalance.torch`` brings the
losses, batch samplers, augmentations, generators and decision rules into a PyTorch training loop.
"""
from . import _core

__version__ = _core.__version__

__all__ = ["over_sampling", "under_sampling", "combine", "ensemble", "generative", "augment", "metrics", "auto",
           "__version__"]


def __getattr__(name):
    if name in ("over_sampling", "under_sampling", "combine", "ensemble", "generative", "augment", "metrics", "base",
                "torch", "auto"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'rebalance' has no attribute {name!r}")
