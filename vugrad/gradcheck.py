"""
Check a function's gradients against finite differences, as torch.autograd.gradcheck does.

    vugrad.gradcheck(lambda a, b: (a * b).sum(), np.random.randn(3), np.random.randn(3))

For every float input we compare the full Jacobian that backward() gives (one backward per
output element) with the one that central differences give (two forward passes per input
element), in float64.

The finite differences themselves are two helpers, `numerical_jacobian` (one column per input
element) and `directional_derivative` (along one direction, for inputs too large for a whole
Jacobian); `vugrad.opcheck` uses them too.
"""

import numpy as np

from .core import TensorNode
from .modes import is_grad_enabled
from .errors import GradcheckError, InputTypeError, InvalidArgumentError


def _as_leaf(x):
    if isinstance(x, TensorNode):
        x = x.value
    arr = np.asarray(x)
    if arr.dtype.kind == 'f':
        return TensorNode(arr.astype(np.float64, copy=True), requires_grad=True)
    return arr    # -- integer inputs (indices, targets) are passed through as constants


def _value(out):
    return out.value if isinstance(out, TensorNode) else out


def _perturbable(inputs, k):
    """The array of input k (a node's array for a node), which must be changeable in place."""
    x = _value(inputs[k])
    if not isinstance(x, np.ndarray) or not x.flags.c_contiguous or not x.flags.writeable:
        raise InvalidArgumentError(
            f'finite differences: input {k} must be a writeable C-contiguous NumPy array (or a '
            'node holding one): it is changed in place, one step at a time. Pass a copy.')
    return x


def _output(fn, inputs):
    # -- np.array copies: an op may return a view of its input (reshape, slicing, Id),
    #    which the next perturbation would change under our feet
    return np.array(_value(fn(*inputs)), dtype=np.float64).reshape(-1)


def numerical_jacobian(fn, inputs, k, eps=1e-6):
    """
    The Jacobian of `fn(*inputs)` with respect to input k, by central differences: an array of
    shape (output size, input k size), column j being d output / d element j of input k.

    :param fn: A function of the inputs that returns a TensorNode or an array.
    :param inputs: A list of arrays or nodes. Input k is changed in place one element at a
        time (by +-eps) and put back; it must be a writeable C-contiguous float array.
    """
    flat = _perturbable(inputs, k).reshape(-1)
    if not flat.size:
        return np.zeros((_output(fn, inputs).size, 0))
    columns = []
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        plus = _output(fn, inputs)
        flat[j] = orig - eps
        minus = _output(fn, inputs)
        flat[j] = orig
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1)


def directional_derivative(fn, inputs, k, direction, eps=1e-6, side=0):
    """
    The derivative of `fn(*inputs)` (flattened) along `direction` in input k: the Jacobian
    times the direction, from two forward passes whatever the size of the input.

    :param direction: An array of input k's size (its shape or flat).
    :param side: 0 for central differences (f(x + eps d) - f(x - eps d)) / 2 eps; +1 for the
        forward difference (f(x + eps d) - f(x)) / eps, -1 for the backward one. Where the two
        one-sided differences disagree, the function has a kink or a pole near x.
    """
    x = _perturbable(inputs, k)
    step = eps * np.asarray(direction, dtype=np.float64).reshape(x.shape)
    orig = x.copy()
    try:
        if side >= 0:
            x += step
        plus = _output(fn, inputs)
        x[...] = orig
        if side <= 0:
            x -= step
        minus = _output(fn, inputs)
    finally:
        x[...] = orig
    return (plus - minus) / (eps if side else 2 * eps)


def _checked_call(fn, inputs):
    """The leaves (input position -> node) and arguments to check fn with; fn's output size."""
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
    return args, leaves, out.value.size


def _analytical(fn, args, leaves, out_size):
    """The Jacobians backward() gives: row r is the gradient of output element r."""
    analytical = {i: np.zeros((out_size, leaf.value.size)) for i, leaf in leaves.items()}
    for r in range(out_size):
        for leaf in leaves.values():
            leaf.grad = None
        out = fn(*args)
        if not out.requires_grad:
            continue       # -- the output does not depend on the leaves: the row stays 0
        seed = np.zeros(out.value.size)
        seed[r] = 1.0
        out.backward(gradient=seed.reshape(out.value.shape))
        for i, leaf in leaves.items():
            analytical[i][r] = leaf.grad.reshape(-1)
    return analytical


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
    args, leaves, out_size = _checked_call(fn, inputs)
    analytical = _analytical(fn, args, leaves, out_size)
    worst = None
    for i, leaf in leaves.items():
        numerical = numerical_jacobian(fn, args, i, eps)
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
