"""A small synthetic two-class problem: quick to make, and a linear model cannot solve it."""

import numpy as np

from ._dtype import float_dtype

# The decision boundary is the curve x^T Q x = THRESHOLD.
Q = np.array([[1.0, 0.5], [1.0, 0.2]])
THRESHOLD = 0.6


def load_synth(num_train=60_000, num_val=10_000, seed=None, dtype=None):
    """
    Make a synthetic classification data set with two features and two classes.

    Each instance x is drawn from a standard normal in 2 dimensions. Its label is 1 when the
    quadratic form x^T Q x is above 0.6, with Q = [[1, .5], [1, .2]], and 0 otherwise. The class
    boundary is curved, so a linear classifier cannot separate the classes, a small MLP can.

    seed: with a seed, the data comes from `np.random.default_rng(seed)`, the same every time.
      Without one, it comes from NumPy's global random state, so `np.random.seed(0)` before
      the call also makes it repeatable.
    dtype: the float dtype of x; None means `vugrad.core.get_default_dtype()` (float32).
      The labels are computed in float64 before the cast, so they do not depend on dtype.

    Returns ``(xtrain, ytrain), (xval, yval), 2``: x of shape (n, 2), y of shape (n,) with
    int64 labels 0 or 1, and the number of classes.
    """
    for name, n in (('num_train', num_train), ('num_val', num_val)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f'{name} must be a non-negative int, got {n!r}')
    dt = float_dtype(dtype, 'load_synth')
    total = num_train + num_val

    if seed is None:
        x = np.random.randn(total, 2)
    else:
        x = np.random.default_rng(seed).standard_normal((total, 2))

    q = np.einsum('bf,fk,bk->b', x, Q, x)  # x^T Q x for every row b at once
    y = (q > THRESHOLD).astype(np.int64)
    x = x.astype(dt)

    return (x[:num_train], y[:num_train]), (x[num_train:], y[num_train:]), 2
