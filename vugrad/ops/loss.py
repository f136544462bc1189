"""
Softmax and the losses, as fused ops that are numerically stable: finite values and gradients
for logits of +-1000.
"""

import numpy as np

from ..core import Op, TensorNode
from ..errors import InputTypeError, InvalidArgumentError, ShapeError


def _shift(op, x, axis):
    """
    x minus its maximum along axis (kept as a size-1 dimension): the largest element becomes 0,
    so exp() cannot overflow. An empty axis has no maximum, and nothing to shift.
    """
    if x.dtype == np.bool_:
        raise InputTypeError(f'{op}: the input is a boolean array; convert it to numbers first, '
                             'e.g. x.astype(np.float32).')
    if x.ndim == 0:
        raise ShapeError(f'{op}: the input is a 0-d array (a single number): a softmax needs at '
                         'least one dimension to normalize over. Reshape it, e.g. x.reshape(1).')
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ShapeError(f'{op}: axis={axis!r} is not a dimension of shape {x.shape}; use an '
                         f'integer from {-x.ndim} to {x.ndim - 1} (the default -1 is the last).')
    if x.shape[axis] == 0:
        return x.astype(np.result_type(x, np.float16))
    return x - x.max(axis=axis, keepdims=True)


class LogSoftmax(Op):
    """
    The logarithm of the softmax along `axis` (default: the last), computed with the
    log-sum-exp trick: log softmax(x) = (x - max) - log(sum(exp(x - max))).
    """

    @staticmethod
    def forward(context, x, *, axis=-1):
        out = _shift('LogSoftmax', x, axis)     # -- a new array: safe to change in place
        if out.size:
            out -= np.log(np.exp(out).sum(axis=axis, keepdims=True))
        context['out'], context['axis'] = out, axis
        return out

    @staticmethod
    def backward(context, go):
        out, axis = context['out'], context['axis']
        g = np.exp(out)
        g *= go.sum(axis=axis, keepdims=True)
        np.subtract(go, g, out=g)
        return g
        # -- d y_j / d x_k = [j == k] - softmax(x)_k, summed against the upstream gradient


class Softmax(Op):
    """The softmax along `axis` (default: the last), stable for large logits."""

    @staticmethod
    def forward(context, x, *, axis=-1):
        e = np.exp(_shift('Softmax', x, axis))
        out = e / e.sum(axis=axis, keepdims=True)
        context['out'], context['axis'] = out, axis
        return out

    @staticmethod
    def backward(context, go):
        out, axis = context['out'], context['axis']
        return out * (go - (go * out).sum(axis=axis, keepdims=True))
        # -- d y_j / d x_k = y_j ([j == k] - y_k)


def _check_targets(op, x, targets):
    if isinstance(targets, TensorNode):
        raise InputTypeError(f'{op}: targets must be a NumPy array of integer class indices, got a '
                             'TensorNode; pass its .value (targets get no gradient).')
    targets = np.asarray(targets)
    if x.ndim != 2 or targets.ndim != 1 or targets.shape[0] != x.shape[0]:
        raise ShapeError(f'{op}: expects a matrix (n, classes) and n integer targets, got shapes '
                         f'{x.shape} and {targets.shape}.')
    if targets.dtype.kind not in 'iu':
        raise ShapeError(f'{op}: targets must be integer class indices, got dtype {targets.dtype}.')
    if targets.size and (targets.min() < 0 or targets.max() >= x.shape[1]):
        raise ShapeError(f'{op}: targets must lie in [0, {x.shape[1]}), got values from '
                         f'{targets.min()} to {targets.max()}.')
    return targets


def _reduce(losses, reduction, op):
    if reduction == 'sum':
        return losses.sum()
    if reduction == 'mean':
        return losses.mean()
    raise InvalidArgumentError(f"{op}: reduction must be 'sum' or 'mean', got {reduction!r}.")


class NLLLoss(Op):
    """
    The negative log-likelihood of the targets given log-probabilities: the cross-entropy loss
    for a model that outputs log-probabilities. Summed over the batch by default, as in the
    course text (reduction='mean' divides by the batch size).
    """

    @staticmethod
    def forward(context, logprobs, *, targets, reduction='sum'):
        targets = _check_targets('NLLLoss', logprobs, targets)
        rows = np.arange(logprobs.shape[0])
        context['shape'], context['rows'], context['targets'] = logprobs.shape, rows, targets
        context['scale'] = 1.0 if reduction == 'sum' else 1.0 / max(len(targets), 1)
        return np.asarray(-_reduce(logprobs[rows, targets], reduction, 'NLLLoss'),
                          dtype=logprobs.dtype)

    @staticmethod
    def backward(context, go):
        g = np.zeros(context['shape'], dtype=go.dtype)
        g[context['rows'], context['targets']] = -go * context['scale']
        return g
        # -- L = -sum_i x[i, t_i]: dL/dx[i, t_i] = -1, every other element 0


class CrossEntropy(Op):
    """
    Cross-entropy from logits (unnormalized scores) in one op: log-softmax and the negative
    log-likelihood fused, stable for any logits. Summed over the batch by default.
    """

    @staticmethod
    def forward(context, logits, *, targets, reduction='sum'):
        targets = _check_targets('CrossEntropy', logits, targets)
        shifted = _shift('CrossEntropy', logits, 1)
        logz = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        logprobs = shifted - logz
        rows = np.arange(logits.shape[0])
        context['logprobs'], context['rows'], context['targets'] = logprobs, rows, targets
        context['scale'] = 1.0 if reduction == 'sum' else 1.0 / max(len(targets), 1)
        return np.asarray(-_reduce(logprobs[rows, targets], reduction, 'CrossEntropy'),
                          dtype=logits.dtype)

    @staticmethod
    def backward(context, go):
        g = np.exp(context['logprobs'])
        g[context['rows'], context['targets']] -= 1
        g *= go * context['scale']
        return g
        # -- dL/dlogits = softmax(logits) - onehot(targets), per instance
