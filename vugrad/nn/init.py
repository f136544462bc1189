"""
Initialization schemes for the weights of a layer.

Each scheme is a small function `scheme(shape, dtype=None)` that returns a new NumPy array for a
weight matrix of `shape` = (fan_out, fan_in) = (output_size, input_size), the layout of
`Linear.w`. The fans follow the usual convention:

    fan_in   the number of inputs of one unit   (input_size, shape[1])
    fan_out  the number of units of the layer   (output_size, shape[0])

Random draws come from NumPy's global random state, so `np.random.seed(0)` before building a
model makes it the same every time. Draws are made in float64 and then cast to `dtype`
(None: `vugrad.get_default_dtype()`), so a seed gives the same weights in either precision.

-- Why it matters: with n inputs of variance 1 and weights of variance s^2, a unit's
   pre-activation has variance n s^2. Too large and sigmoids saturate (gradients vanish); too
   small and the signal dies out layer by layer. The schemes below pick s^2 to keep it near 1.
"""

import numpy as np

from ..core import get_default_dtype
from ..errors import InvalidArgumentError

__all__ = ['SCHEMES', 'fans', 'get_scheme', 'glorot', 'he', 'normal', 'uniform', 'zeros']


def fans(shape):
    """(fan_in, fan_out) of a weight matrix of shape (fan_out, fan_in)."""
    if len(shape) != 2:
        raise InvalidArgumentError(
            f'init: expected a weight matrix shape (fan_out, fan_in), got {shape}.')
    return shape[1], shape[0]


def _cast(w, dtype):
    return w.astype(dtype or get_default_dtype(), copy=False)


def glorot(shape, dtype=None):
    """
    Glorot (Xavier) normal: w ~ N(0, s^2) with s = sqrt(2 / (fan_in + fan_out)).

    The course's default: it balances the variance of the activations in the forward pass
    (which wants s^2 = 1/fan_in) against that of the gradients in the backward pass (which wants
    s^2 = 1/fan_out) by averaging the two fans. Suits sigmoid and tanh.
    """
    fan_in, fan_out = fans(shape)
    return _cast(np.random.randn(*shape) * np.sqrt(2.0 / (fan_in + fan_out)), dtype)


def he(shape, dtype=None):
    """
    He (Kaiming) normal: w ~ N(0, s^2) with s = sqrt(2 / fan_in).

    A ReLU zeroes half of its inputs on average, halving the variance; the factor 2 makes up
    for it, so the activations keep their scale through many ReLU layers.
    """
    fan_in, _ = fans(shape)
    return _cast(np.random.randn(*shape) * np.sqrt(2.0 / fan_in), dtype)


def normal(shape, dtype=None):
    """
    Standard normal: w ~ N(0, 1), whatever the fans (the course text's "sample from a standard
    normal distribution"). With fan_in inputs a pre-activation has variance about fan_in:
    784 for MNIST, so sigmoid units start out saturated.
    """
    return _cast(np.random.randn(*shape), dtype)


def uniform(shape, dtype=None):
    """
    PyTorch's default for nn.Linear: w ~ U(-k, k) with k = 1 / sqrt(fan_in).

    (PyTorch writes it as kaiming_uniform_ with a = sqrt(5), whose bound
    sqrt(6 / ((1 + a^2) fan_in)) is exactly 1 / sqrt(fan_in).) The variance is k^2 / 3 =
    1 / (3 fan_in). Like PyTorch, `Linear` then also draws its bias from U(-k, k).
    """
    fan_in, _ = fans(shape)
    k = 1.0 / np.sqrt(fan_in)
    return _cast(np.random.uniform(-k, k, size=shape), dtype)


def zeros(shape, dtype=None):
    """
    All zeros. Every unit of a layer then computes the same function and gets the
    same gradient, so the units never become different: the layer acts as if it had one unit.
    """
    fans(shape)
    return np.zeros(shape, dtype=dtype or get_default_dtype())


# -- name -> scheme, for `Linear(..., init='he')` and the --init flag
SCHEMES = {'glorot': glorot, 'he': he, 'normal': normal, 'uniform': uniform, 'zeros': zeros}


def get_scheme(init):
    """The scheme function for a name in SCHEMES, or `init` itself if it is callable."""
    if callable(init):
        return init
    try:
        return SCHEMES[init]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f'init: unknown scheme {init!r}; choose one of {sorted(SCHEMES)} '
                         '(or pass a function shape, dtype -> array).') from None
