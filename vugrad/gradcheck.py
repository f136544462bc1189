"""
Check a function's gradients against finite differences, as torch.autograd.gradcheck does.

    vugrad.gradcheck(lambda a, b: (a * b).sum(), np.random.randn(3), np.random.randn(3))

For every float input we compare the full Jacobian that backward() gives (one backward per
output element) with the one that central differences give (two forward passes per input
element), in float64.
"""

import numpy as np

from .core import TensorNode
from .modes import is_grad_enabled
from .errors import GradcheckError, InputTypeError


def _as_leaf(x):
    if isinstance(x, TensorNode):
        x = x.value
    arr = np.asarray(x)
    if arr.dtype.kind == 'f':
        return TensorNode(arr.astype(np.float64, copy=True), requires_grad=True)
    return arr    # -- integer inputs (indices, targets) are passed through as constants


def _numerical(fn, leaves, args, k, out_size, eps):
    x = leaves[k].value
    flat = x.reshape(-1)
    jac = np.zeros((out_size, flat.size))
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        # -- np.array copies: an op may return a view of its input (reshape, slicing, Id),
        #    which the next perturbation would change under our feet
        plus = np.array(_value(fn(*args)), dtype=np.float64).reshape(-1)
        flat[j] = orig - eps
        minus = np.array(_value(fn(*args)), dtype=np.float64).reshape(-1)
        flat[j] = orig
        jac[:, j] = (plus - minus) / (2 * eps)
    return jac


def _value(out):
    return out.value if isinstance(out, TensorNode) else out


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """
    Compare the gradients of `fn` with central finite differences, in float64.

    :param fn: A function of TensorNodes that returns a TensorNode (of any shape).
    :param inputs: Arrays or nodes. Float ones are copied to float64 leaves and checked; others
        (integer targets, say) are passed to fn unchanged.
    :param eps: The finite-difference step.
    :param atol, rtol: An element passes when |analytical - numerical| <= atol + rtol |numerical|
        (PyTorch's defaults).
    :param raise_exception: Raise GradcheckError on failure (the default), else return False.
    :return: True when every element passes.
    """
    if not callable(fn):
        raise InputTypeError(f'gradcheck: fn must be callable, got {type(fn).__name__}.')
    args = [_as_leaf(x) for x in inputs]
    leaves = {i: a for i, a in enumerate(args) if isinstance(a, TensorNode)}
    if not leaves:
        raise InputTypeError('gradcheck: no float input to check; pass at least one float array.')
    if not is_grad_enabled():
        raise GradcheckError('gradcheck: called inside no_grad(); gradients cannot be computed.')

    out = fn(*args)
    if not isinstance(out, TensorNode):
        raise InputTypeError(f'gradcheck: fn must return a TensorNode, got {type(out).__name__}.')
    out_size = out.value.size

    # -- analytical Jacobian: row r is the gradient of output element r
    analytical = {i: np.zeros((out_size, leaf.value.size)) for i, leaf in leaves.items()}
    for r in range(out_size):
        for leaf in leaves.values():
            leaf.grad = None
        out = fn(*args)
        if not out.requires_grad:
            for i in leaves:
                analytical[i][r] = 0.0
            continue
        seed = np.zeros(out.value.size)
        seed[r] = 1.0
        out.backward(gradient=seed.reshape(out.value.shape))
        for i, leaf in leaves.items():
            analytical[i][r] = leaf.grad.reshape(-1)

    worst = None
    for i, leaf in leaves.items():
        numerical = _numerical(fn, leaves, args, i, out_size, eps)
        a = analytical[i]
        excess = np.abs(a - numerical) - (atol + rtol * np.abs(numerical))
        excess = np.where(np.isnan(excess), np.inf, excess)
        if excess.size and excess.max() > 0:
            r, j = np.unravel_index(np.argmax(excess), excess.shape)
            if worst is None or excess[r, j] > worst[0]:
                elem = np.unravel_index(j, leaf.value.shape) if leaf.value.ndim else ()
                worst = (excess[r, j], i, elem, r, a[r, j], numerical[r, j])

    if worst is None:
        return True
    if not raise_exception:
        return False
    _, i, elem, r, a, n = worst
    raise GradcheckError(
        f'gradcheck: the gradient of output element {r} with respect to input {i} at index '
        f'{tuple(int(e) for e in elem)} is {a!r} by backward but {n!r} by finite differences '
        f'(atol={atol}, rtol={rtol}, eps={eps}).')
