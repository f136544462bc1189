"""
Reductions: ops that combine many elements into fewer (sums, means, maxima).

Their backward spreads the upstream gradient back over the elements that were combined: a
reduced axis is restored (with keepdims) and the gradient broadcast along it.
"""

import numpy as np

from ..core import Op
from ..errors import ShapeError


def _axes(x, axis, op='reduce'):
    """
    Normalize `axis` (None, an int or a tuple) to a tuple of distinct non-negative axes of x.

    -- As in PyTorch, a 0-d input also accepts axis 0 or -1 (there is nothing to reduce: the
       result is the input); NumPy would raise.
    """
    if axis is None:
        return tuple(range(x.ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    n = max(x.ndim, 1)
    out = []
    for a in axis:
        if not isinstance(a, (int, np.integer)) or not -n <= a < n:
            raise ShapeError(f'{op}: axis {a!r} is out of range for an input of shape {x.shape}; '
                             f'use an integer from {-n} to {n - 1}, a tuple of them, or None.')
        out.append(int(a) % n)
    if len(set(out)) != len(out):
        raise ShapeError(f'{op}: axis {tuple(axis)} names the same dimension twice '
                         f'(shape {x.shape}).')
    return tuple(out) if x.ndim else ()


def _restore(g, x_shape, axes, keepdims):
    """Put back the reduced axes of a gradient as size-1 dimensions, so it broadcasts over x."""
    if not keepdims and axes:
        g = np.expand_dims(g, axes)
    return g


class Sum(Op):
    """
    Sum of elements: of all of them (a scalar, the default), or along `axis`.
    """

    @staticmethod
    def forward(context, x, *, axis=None, keepdims=False):
        axes = _axes(x, axis, 'Sum')
        context['xshape'], context['axes'], context['keepdims'] = x.shape, axes, keepdims
        return np.asarray(x.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(context, go):
        g = _restore(go, context['xshape'], context['axes'], context['keepdims'])
        return np.broadcast_to(g, context['xshape'])
        # -- d(sum_i x_i)/dx_j = 1: every summed element gets the upstream gradient


class Mean(Op):
    """Mean of elements: of all of them (the default), or along `axis`."""

    @staticmethod
    def forward(context, x, *, axis=None, keepdims=False):
        axes = _axes(x, axis, 'Mean')
        count = 1
        for a in axes:
            count *= x.shape[a]
        context['xshape'], context['axes'], context['keepdims'] = x.shape, axes, keepdims
        context['count'] = count
        return np.asarray(x.mean(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(context, go):
        g = _restore(go, context['xshape'], context['axes'], context['keepdims'])
        return np.broadcast_to(g / context['count'], context['xshape'])
        # -- d(mean_i x_i)/dx_j = 1/n


class Max(Op):
    """
    Maximum of elements: of all of them (the default), or along `axis`.

    Where several elements tie for the maximum, the gradient is split evenly between them (as
    PyTorch's amax does); NaN propagates as in np.max.
    """

    @staticmethod
    def forward(context, x, *, axis=None, keepdims=False):
        axes = _axes(x, axis, 'Max')
        if any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f'Max: cannot take the maximum over an axis of length 0 (shape '
                             f'{x.shape}, axis {axis}): an empty set has no maximum.')
        out = np.max(x, axis=axes, keepdims=True)
        context['x'], context['out'], context['axes'] = x, out, axes
        context['keepdims'] = keepdims
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(context, go):
        x, out, axes = context['x'], context['out'], context['axes']
        mask = (x == out)
        g = _restore(go, x.shape, axes, context['keepdims'])
        with np.errstate(divide='ignore', invalid='ignore'):   # -- a NaN maximum: NaN, as amax
            return mask * (g / mask.sum(axis=axes, keepdims=True))
        # -- d max(x)/dx_j = 1 for the maximal element (1/k each for k tied ones), 0 elsewhere


class RowMax(Op):
    """The maximum of each row of a matrix: (n, m) -> (n,)."""

    @staticmethod
    def forward(context, x):
        if x.ndim != 2:
            raise ShapeError(f'RowMax: expects a matrix, got shape {x.shape}.')
        idx = x.argmax(axis=1)
        context['idx'], context['shape'] = idx, x.shape
        return x[np.arange(x.shape[0]), idx]

    @staticmethod
    def backward(context, go):
        g = np.zeros(context['shape'], dtype=go.dtype)
        g[np.arange(g.shape[0]), context['idx']] = go
        return g
        # -- only the (first) maximal element of each row affected the output: it gets the
        #    gradient, the others get 0


class RowSum(Op):
    """The sum of each row of a matrix: (n, m) -> (n,)."""

    @staticmethod
    def forward(context, x):
        if x.ndim != 2:
            raise ShapeError(f'RowSum: expects a matrix, got shape {x.shape}.')
        context['shape'] = x.shape
        return x.sum(axis=1)

    @staticmethod
    def backward(context, go):
        return np.broadcast_to(go[:, None], context['shape'])
        # -- every element of row i gets the gradient of that row's sum


class Normalize(Op):
    """Normalize each row of a matrix so that it sums to one: y_ij = x_ij / sum_k x_ik."""

    @staticmethod
    def forward(context, x):
        if x.ndim != 2:
            raise ShapeError(
                f'Normalize: expects a matrix (rows to normalize), got shape {x.shape}.')
        sumd = x.sum(axis=1, keepdims=True)
        context['x'], context['sumd'] = x, sumd
        return x / sumd

    @staticmethod
    def backward(context, go):
        x, sumd = context['x'], context['sumd']
        return (go / sumd) - ((go * x) / (sumd * sumd)).sum(axis=1, keepdims=True)
        # -- gradient for x: go / s, minus the row sums of go x / s^2 (s: the row sums of x)
