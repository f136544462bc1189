"""
Element-wise ops: each output element depends on the input element(s) at the same position.

The comment under each backward states what it computes.
"""

import numpy as np

from ..core import Op
from ..errors import InputTypeError


class Id(Op):
    """The identity: returns its input unchanged (useful to give a value a node of its own)."""

    @staticmethod
    def forward(context, x):
        return x.view()

    @staticmethod
    def backward(context, go):
        return go
        # -- d x / d x = 1


class Negate(Op):
    """Element-wise negation, -x."""

    @staticmethod
    def forward(context, x):
        if x.dtype == np.bool_:
            raise InputTypeError('Negate: cannot negate a boolean array; use ~x for logical not, '
                                 'or convert it first, e.g. x.astype(np.float32).')
        return np.negative(x)

    @staticmethod
    def backward(context, go):
        return np.negative(go)
        # -- d(-x)/dx = -1


class Divide(Op):
    """
    Element-wise division a / b, with NumPy broadcasting.

    Division by zero follows NumPy: x/0 is +-inf and 0/0 is NaN (with a RuntimeWarning), and
    so are the gradients that involve it.
    """
    broadcasting = True

    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a / b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        need_a, need_b = context['needs_input_grad']
        ga = go / b if need_a else None
        gb = -go * a / (b * b) if need_b else None
        return ga, gb
        # -- gradient for a: go / b; for b: -go a / b^2


class Power(Op):
    """
    Element-wise power by a constant exponent, x ** p: `x ** 2` and `x ** 0.5` on a node.

    The exponent p is a keyword constant (no gradient for it). Its twin Pow raises a node to
    the power of another node, a ** b, with a gradient for both; `x ** y` picks Pow when y is
    a node or an array, Power when it is a number.

    For a float x the exponent is taken in x's dtype, so that a float32 node stays float32 also
    for a NumPy scalar exponent (x ** np.float64(1.5)), as in PyTorch. For p == 0 the gradient
    is 0 everywhere (also at x == 0, where p x^(p-1) would be 0 * inf = NaN), as in PyTorch.
    """

    @staticmethod
    def forward(context, x, *, p):
        if x.dtype.kind == 'f':
            p = x.dtype.type(p)
        context['x'], context['p'] = x, p
        if p == 2:
            return x * x
        return np.power(x, p)

    @staticmethod
    def backward(context, go):
        x, p = context['x'], context['p']
        if p == 0:
            return np.zeros_like(go)
        if p == 2:
            return go * 2 * x
        return go * p * np.power(x, p - 1)
        # -- d(x^p)/dx = p x^(p-1)


class Pow(Op):
    """
    Element-wise power a ** b where both may be nodes, with NumPy broadcasting: `x ** y`, and
    `2 ** x`. For a constant number as the exponent, `x ** 2`, TensorNode uses Power instead,
    which saves no copy of the exponent and computes no gradient for it.

    At the edges we follow PyTorch: the gradient for a is 0 where b == 0 (not 0 * a^-1, which is
    NaN at a == 0); the gradient for b, a^b log(a), is NaN for negative a, and 0 where a == 0
    and b >= 0 (the limit from the right; for b < 0 it is -inf).
    """
    broadcasting = True

    @staticmethod
    def forward(context, a, b):
        out = np.power(a, b)
        context['a'], context['b'], context['out'] = a, b, out
        return out

    @staticmethod
    def backward(context, go):
        a, b, out = context['a'], context['b'], context['out']
        need_a, need_b = context['needs_input_grad']
        ga = gb = None
        with np.errstate(divide='ignore', invalid='ignore'):
            if need_a:
                ga = go * np.where(b == 0, 0, b * np.power(a, b - 1))
            if need_b:
                gb = go * np.where((a == 0) & (b >= 0), 0, out * np.log(a))
        return ga, gb
        # -- d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a


class Exp(Op):
    """Element-wise natural exponent."""

    @staticmethod
    def forward(context, x):
        expd = np.exp(x)
        context['expd'] = expd
        return expd

    @staticmethod
    def backward(context, go):
        return go * context['expd']
        # -- d exp(x)/dx = exp(x): we reuse the forward's output


class Log(Op):
    """
    Element-wise natural logarithm.

    log(0) is -inf and log of a negative number is NaN (NumPy warns); the gradient at 0 is inf.
    """

    @staticmethod
    def forward(context, x):
        context['x'] = x
        return np.log(x)

    @staticmethod
    def backward(context, go):
        return go / context['x']
        # -- d ln(x)/dx = 1/x


class Sqrt(Op):
    """Element-wise square root. Its gradient at 0 is inf."""

    @staticmethod
    def forward(context, x):
        out = np.sqrt(x)
        context['out'] = out
        return out

    @staticmethod
    def backward(context, go):
        return go / (2 * context['out'])
        # -- d sqrt(x)/dx = 1 / (2 sqrt(x))


class Sigmoid(Op):
    """
    Element-wise sigmoid, 1 / (1 + exp(-x)), finite for any input (also +-1000).

    A deliberate difference from PyTorch: far below 0 (x < -87 in float32, x < -708 in float64)
    the result stays at about the smallest normal float (1.6e-38, 3.3e-308) where PyTorch's
    decays on to 0: -x is capped so that exp cannot overflow. The difference is below 1e-37.
    """

    @staticmethod
    def forward(context, x):
        if x.dtype.kind != 'f':
            x = x.astype(np.float64)
        sigx = np.negative(x)
        if type(sigx) is not np.ndarray:
            sigx = np.array(sigx)  # -- a 0-d input gives a NumPy scalar: make it an array
        # -- exp(-x) would overflow for x below about -88 (float32) or -709 (float64); capping
        #    -x there changes the result by less than the smallest float, and needs no errstate
        np.minimum(sigx, _exp_max(x.dtype), out=sigx)
        np.exp(sigx, out=sigx)
        sigx += 1
        np.reciprocal(sigx, out=sigx)
        context['sigx'] = sigx    # store the sigmoid of x for the backward pass
        return sigx

    @staticmethod
    def backward(context, go):
        sigx = context['sigx']
        g = 1 - sigx
        g *= sigx
        g *= go
        if sigx.size and sigx.min() < np.sqrt(np.finfo(sigx.dtype).tiny):
            _flush_subnormals(g)      # -- some units are saturated: see below
        return g
        # -- d sigma(x)/dx = sigma(x) (1 - sigma(x))


def _flush_subnormals(g):
    """
    Set to 0, in place, the values of g too small for a normal float (below 1.2e-38 in
    float32). A saturated sigmoid (MNIST's raw pixels make many) has a derivative of about
    1e-38, and times the upstream gradient that gives subnormal numbers, which the CPU
    multiplies up to 100 times slower: the next matrix product of backward took 0.6 s
    instead of 7 ms. Flushing them changes each gradient by less than 1.2e-38. (Sigmoid
    flushes only where a unit's sigma is below the square root of that, 1.1e-19: elsewhere a
    subnormal gradient would need an upstream gradient below 1e-19.)
    """
    g *= np.abs(g) >= np.finfo(g.dtype).tiny     # -- times 1 or 0 (NaN and inf stay)


_EXP_MAX = {}


def _exp_max(dtype):
    """The largest t with exp(t) finite in this float dtype (rounded down a little)."""
    if dtype not in _EXP_MAX:
        _EXP_MAX[dtype] = dtype.type(np.floor(np.log(np.finfo(dtype).max)) - 1)
    return _EXP_MAX[dtype]


class Tanh(Op):
    """Element-wise hyperbolic tangent."""

    @staticmethod
    def forward(context, x):
        out = np.tanh(x)
        context['out'] = out
        return out

    @staticmethod
    def backward(context, go):
        out = context['out']
        return go * (1 - out * out)
        # -- d tanh(x)/dx = 1 - tanh(x)^2


class ReLU(Op):
    """
    Element-wise rectified linear unit, max(0, x). At exactly x = 0 we use gradient 0, as
    PyTorch does; relu(-inf) is 0 and relu(NaN) is NaN, whose gradient passes through, also as
    in PyTorch.
    """

    @staticmethod
    def forward(context, x):
        context['mask'] = ~(x <= 0)    # -- True where x > 0, and where x is NaN
        return np.maximum(x, 0)        # -- not x * mask: -inf * 0 would be NaN

    @staticmethod
    def backward(context, go):
        return go * context['mask']
        # -- gradient for x: go where x > 0, 0 elsewhere
