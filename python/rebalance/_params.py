"""Declared parameter defaults (the C++ factories' text) as Python values. Shared by the
scikit-learn classes and rebalance.torch; imports nothing heavy."""
import numbers

import numpy as np


def python_default(text):
    """A declared default as the Python value whose factory text is the same."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text.startswith("[") and text.endswith("]"):
        # a tuple: an immutable default shared by every instance
        return tuple(python_default(t.strip()) for t in text[1:-1].split(",") if t.strip())
    return text


def spec_value(value):
    """A Python parameter value as factory-string text."""
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy arrays, torch tensors
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(spec_value(v) for v in value) + "]"
    return str(value)


def spec(name, params):
    """A factory string: name:key=value,... (params in order; an empty dict gives the name)."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={spec_value(v)}" for k, v in params.items())
