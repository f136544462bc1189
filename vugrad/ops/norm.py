"""
Batch normalization, as one fused op: the batch statistics are part of the function, so its
backward carries the gradient through the mean and the variance as well.
"""

import numpy as np

from ..core import Op
from ..errors import ShapeError


def batch_axes(x, op='BatchNorm'):
    """
    The axes a batch norm averages over, all but the channels' (axis 1): (0,) for (N, C),
    (0, 2) for (N, C, L), (0, 2, 3) for (N, C, H, W).
    """
    if x.ndim in (2, 3, 4):
        return (0,) + tuple(range(2, x.ndim))
    raise ShapeError(f'{op}: expects a batch of shape (N, C), (N, C, L) or (N, C, H, W), got '
                     f'shape {x.shape}.')


def _channels(a, x):
    """A per-channel array (C,) shaped to broadcast against x: (1, C), (1, C, 1), (1, C, 1, 1)."""
    return a.reshape((1, -1) + (1,) * (x.ndim - 2))


class BatchNorm(Op):
    """
    Normalize each channel of x with the statistics of the batch, then scale and shift:
    y = w * (x - mean) / sqrt(var + eps) + b, where mean and var (the biased variance) are
    taken over every axis but the channels' (axis 1). The caller passes the batch's mean and
    var as constants (it needs them for its running statistics anyway); the op treats them as
    the functions of x they are.
    """

    @staticmethod
    def forward(context, x, w, b, *, mean, var, eps=1e-5):
        batch_axes(x)       # -- refuses a shape with no batch or channel axis
        if w.shape != (x.shape[1],) or b.shape != (x.shape[1],):
            raise ShapeError(f'BatchNorm: x of shape {x.shape} has {x.shape[1]} channels, but w '
                             f'and b have shapes {w.shape} and {b.shape}; both must be '
                             f'({x.shape[1]},).')
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = (x - _channels(mean, x)) * _channels(invstd, x)
        context['xhat'], context['invstd'], context['w'] = xhat, invstd, w
        return xhat * _channels(w, x) + _channels(b, x)

    @staticmethod
    def backward(context, go):
        xhat, invstd, w = context['xhat'], context['invstd'], context['w']
        need_x, need_w, need_b = context['needs_input_grad']
        axes = batch_axes(xhat)
        m = xhat.size // xhat.shape[1]       # -- how many values each channel's statistics saw
        gx = gw = gb = None
        if need_w:
            gw = (go * xhat).sum(axis=axes)
        if need_b:
            gb = go.sum(axis=axes)
        if need_x:
            gxhat = go * _channels(w, xhat)
            gx = _channels(invstd / m, xhat) * (
                m * gxhat - gxhat.sum(axis=axes, keepdims=True)
                - xhat * (gxhat * xhat).sum(axis=axes, keepdims=True))
        return gx, gw, gb
        # -- gradient for x: invstd / m * (m gxhat - sum gxhat - xhat sum(gxhat xhat)), with
        #    gxhat = go * w; for w: sum(go * xhat); for b: sum(go); sums over the batch axes
