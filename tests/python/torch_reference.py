"""The imbalance losses written from their papers in plain PyTorch, independently of rebalance:
the references rebalance.torch.losses is tested against (tests/python/test_torch_losses.py) and
timed against (bench/torch_loop_speed.py). `reference(name, counts, **params)` precomputes what
depends on the class counts (as a hand-written nn.Module would in its __init__) and returns
loss(logits [B, C], targets [B]) -> the batch's scalar loss."""
import torch
import torch.nn.functional as F


def cb_weights(counts, beta, dtype=torch.float64):
    """Cui et al.'s class-balanced weights (1 - beta) / (1 - beta^n_c), summing to C."""
    n = torch.tensor(counts, dtype=dtype)
    w = (1 - beta) / (1 - beta ** n)
    return w / w.sum() * len(counts)


def reference(name, counts, dtype=torch.float64, **p):
    n = torch.tensor(counts, dtype=dtype)
    c = len(counts)
    if name == "ce":
        return lambda z, y: F.cross_entropy(z, y)
    if name == "weighted_ce":
        mode = p.get("weights", "inverse")
        w = {"inverse": n.sum() / (c * n), "ratio": n.max() / n,
             "normalized": (1 / n) / (1 / n).sum() * c}[mode]
        return lambda z, y: F.cross_entropy(z, y, weight=w)
    if name == "focal":
        gamma = p.get("gamma", 2.0)
        # With deferred re-weighting on: class-balanced weights, the paper's mean of w_y l.
        w = cb_weights(counts, p.get("beta", 0.9999), dtype) if p.get("drw", False) else torch.ones(c, dtype=dtype)

        def focal(z, y):
            logp = F.log_softmax(z, 1).gather(1, y[:, None])[:, 0]
            return (w[y] * -(1 - logp.exp()) ** gamma * logp).mean()
        return focal
    if name == "cb":
        w, base, gamma = cb_weights(counts, p.get("beta", 0.999), dtype), p.get("base", "softmax"), p.get("gamma", 2.0)

        def cb(z, y):
            if base == "softmax":
                per = F.cross_entropy(z, y, reduction="none")
            else:
                onehot = F.one_hot(y, c).to(z.dtype)
                bce = F.binary_cross_entropy_with_logits(z, onehot, reduction="none")
                if base == "focal":
                    q = torch.sigmoid(z)
                    pt = onehot * q + (1 - onehot) * (1 - q)
                    bce = (1 - pt) ** gamma * bce
                per = bce.sum(1)
            return (w[y] * per).mean()
        return cb
    if name == "balanced_softmax":  # Ren et al. 2020: softmax over z_c + log n_c
        return lambda z, y: F.cross_entropy(z + torch.log(n), y)
    if name == "la":
        offset = p.get("tau", 1.0) * torch.log(n / n.sum())
        return lambda z, y: F.cross_entropy(z + offset, y)
    if name == "ldam":
        m = n ** -0.25
        m = m * (p.get("max_margin", 0.5) / m.max())
        s, drw = p.get("s", 30.0), p.get("drw", False)
        weight = cb_weights(counts, p.get("beta", 0.9999), dtype) if drw else None
        return lambda z, y: F.cross_entropy(s * (z - F.one_hot(y, c).to(z.dtype) * m), y, weight=weight)
    raise ValueError(f"no reference for loss {name!r}")
