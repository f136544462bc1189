"""
The op table: every public op of vugrad, once, with its PyTorch reference.

A row says how to call the op in vugrad (`fn`) and in PyTorch (`ref`), what values each input
may take (`domains`: log of positives, division away from 0, max without ties, ...), which
shapes and keyword arguments to try (`cases`), and how hypothesis may draw more (`draw`). The
tests in test_optable.py run every row: forward values and gradients against PyTorch (float64
and float32), vugrad.gradcheck, broadcasting, hypothesis-drawn shapes, linearity in the upstream
gradient and determinism.

Adding an op to vugrad.ops.__all__, a function to vugrad.functions or an operator to TensorNode
without adding a row here makes test_every_public_op_has_a_row fail.
"""

import math
from dataclasses import dataclass, field

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import torch
import torch.nn.functional as F

import vugrad as vg
from vugrad import ops
from vugrad.core import MatrixMultiply

# ---------------------------------------------------------------------- input domains
# -- A domain makes the values of one input: safe where the op is smooth, away from the points
#    where it is not (0 for ReLU, log and division, ties for max).

def _real(rng, shape):
    return rng.standard_normal(shape)


def _pos(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def _away0(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, shape)


def _distinct(rng, shape):
    # -- all values differ by at least 0.1: no ties for max, and finite differences (eps 1e-6)
    #    never change which element is the largest
    n = int(np.prod(shape, dtype=np.int64))
    vals = (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) * 0.5 - n / 4
    return vals.reshape(shape)


DOMAINS = {'real': _real, 'pos': _pos, 'away0': _away0, 'distinct': _distinct}
TARGETS = 'targets'   # integer class indices, one per row of input 0, in [0, input0.shape[1])


@dataclass
class Case:
    """One call of an op: the shape of each input and the keyword arguments."""
    shapes: tuple
    kwargs: dict = field(default_factory=dict)
    xfail: str = None     # -- a reason: the case is a known failure (strict xfail)

    def id(self):
        kw = ','.join(f'{k}={_short(v)}' for k, v in self.kwargs.items())
        shapes = ','.join(str(s).replace(' ', '') for s in self.shapes)
        return f'{shapes}{"|" + kw if kw else ""}'


def _short(v):
    if isinstance(v, np.ndarray):
        return f'array{v.shape}'
    return str(v).replace(' ', '')


@dataclass
class Row:
    """
    One public op.

    :ivar name: what it covers: 'Add' (vugrad.ops), 'functions.exp', 'TensorNode.__add__'.
    :ivar fn: the vugrad call, fn(*inputs, **kwargs), inputs as nodes (or arrays for targets).
    :ivar ref: the PyTorch call, ref(*tensors, **kwargs).
    :ivar domains: one per input: a key of DOMAINS, or TARGETS.
    :ivar cases: the shapes and kwargs to try.
    :ivar draw: a hypothesis strategy of Cases (shapes drawn, kwargs to fit), or None.
    :ivar broadcasting: a binary op that follows NumPy broadcasting (for the broadcast sweep).
    :ivar op: the Op class when fn applies exactly one op (for the needs_input_grad test).
    :ivar method: fn calls a method of input 0 (`a.matmul(b)`), so input 0 must be a node.
    """
    name: str
    fn: object
    ref: object
    domains: tuple
    cases: list
    draw: object = None
    broadcasting: bool = False
    op: type = None
    method: bool = False

    def domain(self, i):
        """The domain of input i (the last domain repeats, for ops that take any number)."""
        return self.domains[min(i, len(self.domains) - 1)]

    def diff(self, case):
        """Which inputs of the case are differentiable (every float input)."""
        return tuple(self.domain(i) != TARGETS for i in range(len(case.shapes)))


def make_inputs(row, case, rng, dtype=np.float64):
    """NumPy arrays for the inputs of one case, each from its domain."""
    arrays = []
    for i, shape in enumerate(case.shapes):
        d = row.domain(i)
        if d == TARGETS:
            classes = case.shapes[0][1]
            arrays.append(rng.integers(0, classes, size=shape).astype(np.int64))
        else:
            arrays.append(np.asarray(DOMAINS[d](rng, shape), dtype=dtype))
    return arrays


def case_kwargs(kwargs, dtype):
    """The case's kwargs, float arrays cast to the dtype of the run (constants of the op)."""
    return {k: (v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == 'f' else v)
            for k, v in kwargs.items()}


def torch_kwargs(kwargs):
    """Float array constants as tensors; indices and everything else as they are."""
    return {k: (torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) and v.dtype.kind == 'f'
                else v)
            for k, v in kwargs.items()}


# ---------------------------------------------------------------------- hypothesis strategies

SIDE = 4      # -- largest side of a drawn shape: small arrays, many of them


def _shapes(min_dims=0, max_dims=4, min_side=0, max_side=SIDE):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def unary_cases(min_dims=0, min_side=0):
    return _shapes(min_dims=min_dims, min_side=min_side).map(lambda s: Case((s,)))


def binary_cases(min_side=0):
    return hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, min_side=min_side,
                                             max_side=SIDE).map(lambda b: Case(b.input_shapes))


@st.composite
def _axis(draw, ndim, allow_none=True, allow_tuple=True):
    """None, an int or a tuple of distinct axes of an ndim-dimensional input, maybe negative."""
    choices = ['int'] if ndim else []
    if allow_none:
        choices.append('none')
    if allow_tuple:
        choices.append('tuple')
    kind = draw(st.sampled_from(choices))
    if kind == 'none':
        return None
    if kind == 'int':
        a = draw(st.integers(0, ndim - 1))
        return a - ndim if draw(st.booleans()) else a
    axes = draw(st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@st.composite
def reduce_cases(draw, min_side=0):
    shape = draw(_shapes(min_side=min_side))
    return Case((shape,), {'axis': draw(_axis(len(shape))), 'keepdims': draw(st.booleans())})


@st.composite
def softmax_cases(draw):
    shape = draw(_shapes(min_dims=1))
    return Case((shape,), {'axis': draw(_axis(len(shape), allow_none=False, allow_tuple=False))})


@st.composite
def matmul_cases(draw):
    b = draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2,
                                               min_side=0, max_side=SIDE))
    return Case(b.input_shapes)


@st.composite
def power_cases(draw, ps):
    return Case((draw(_shapes()),), {'p': draw(st.sampled_from(ps))})


@st.composite
def reshape_cases(draw):
    shape = draw(_shapes())
    size = math.prod(shape)
    kind = draw(st.sampled_from(['flat', 'reversed', 'ones', 'minus1']))
    if kind == 'flat':
        new = (size,)
    elif kind == 'reversed':
        new = shape[::-1]
    elif kind == 'ones':
        new = (1,) + shape + (1,)
    else:
        new = (-1,) + shape[1:] if shape and size else (size,)
    return Case((shape,), {'shape': new})


@st.composite
def transpose_cases(draw):
    shape = draw(_shapes())
    if draw(st.booleans()):
        return Case((shape,), {'axes': None})
    perm = draw(st.permutations(range(len(shape))))
    axes = tuple(a - len(shape) if draw(st.booleans()) else a for a in perm)
    return Case((shape,), {'axes': axes})


@st.composite
def getitem_cases(draw):
    shape = draw(_shapes(min_dims=1))
    kind = draw(st.sampled_from(['basic', 'integer', 'boolean']))
    if kind == 'basic':
        index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == 'integer' and 0 not in shape:
        index = draw(hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)))
    else:
        index = draw(hnp.arrays(np.bool_, shape))
    return Case((shape,), {'index': index})


def broadcasts(a, b):
    """True when NumPy can broadcast shapes a and b together."""
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _singleton_dim(draw):
    """A drawn shape with a dimension of size 1, and that dimension (maybe counted from the end)."""
    shape = list(draw(_shapes(min_dims=1)))
    dim = draw(st.integers(0, len(shape) - 1))
    shape[dim] = 1
    if draw(st.booleans()):
        dim -= len(shape)
    return tuple(shape), dim


@st.composite
def expand_cases(draw):
    shape, dim = _singleton_dim(draw)
    return Case((shape,), {'dim': dim, 'repeats': draw(st.integers(0, 3))})


@st.composite
def squeeze_cases(draw):
    shape, dim = _singleton_dim(draw)
    return Case((shape,), {'dim': dim})


@st.composite
def unsqueeze_cases(draw):
    shape = draw(_shapes(max_dims=3))
    return Case((shape,), {'dim': draw(st.integers(-len(shape) - 1, len(shape)))})


@st.composite
def concatenate_cases(draw):
    shape = draw(_shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(1, 3))
    shapes = []
    for _ in range(k):
        s = list(shape)
        s[axis] = draw(st.integers(0, 3))
        shapes.append(tuple(s))
    return Case(tuple(shapes), {'axis': axis})


@st.composite
def stack_cases(draw):
    shape = draw(_shapes(max_dims=3))
    k = draw(st.integers(1, 3))
    return Case((shape,) * k, {'axis': draw(st.integers(-len(shape) - 1, len(shape)))})


@st.composite
def matrix_cases(draw, min_side=1):
    return Case(((draw(st.integers(min_side, 5)), draw(st.integers(min_side, 5))),))


@st.composite
def select_cases(draw):
    n, m = draw(st.integers(0, 5)), draw(st.integers(1, 5))
    return Case(((n, m), (n,)))


@st.composite
def loss_cases(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return Case(((n, c), (n,)), {'reduction': draw(st.sampled_from(['sum', 'mean']))})


@st.composite
def batchmm_cases(draw):
    n, f, m = (draw(st.integers(0, 5)) for _ in range(3))
    return Case(((m, f), (n, f)))


@st.composite
def linear_cases(draw):
    n, f, m = (draw(st.integers(0, 5)) for _ in range(3))
    return Case(((n, f), (m, f), draw(st.sampled_from([(1, m), (m,)]))))


@st.composite
def conv_cases(draw):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw, ph, pw = (draw(st.integers(lo, 2)) for lo in (1, 1, 0, 0))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, h + 2 * ph)), draw(st.integers(1, w + 2 * pw))
    shapes = ((n, c, h, w), (o, c, kh, kw)) + (((o,),) if draw(st.booleans()) else ())
    return Case(shapes, {'stride': (sh, sw), 'padding': (ph, pw)})


@st.composite
def pool_cases(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kernel = (draw(st.integers(1, h)), draw(st.integers(1, w)))
    stride = draw(st.sampled_from([None, (draw(st.integers(1, 3)), draw(st.integers(1, 3)))]))
    return Case(((n, c, h, w),), {'kernel_size': kernel, 'stride': stride})


# ---------------------------------------------------------------------- PyTorch references

def t_axis(axis, ndim):
    """vugrad's axis (None, int, tuple) as torch's dim: every axis for None."""
    if axis is None:
        return tuple(range(ndim))
    return axis


def t_sum(x, axis=None, keepdims=False):
    dim = t_axis(axis, x.ndim)
    if dim == ():
        return x.clone()      # -- torch's sum(dim=()) sums everything; numpy's sums nothing
    return x.sum(dim=dim, keepdim=keepdims)


def t_mean(x, axis=None, keepdims=False):
    dim = t_axis(axis, x.ndim)
    if dim == ():
        return x.clone()
    return x.mean(dim=dim, keepdim=keepdims)


def t_max(x, axis=None, keepdims=False):
    dim = t_axis(axis, x.ndim)
    if dim == ():
        return x.clone()
    return torch.amax(x, dim=dim, keepdim=keepdims)   # -- amax splits the gradient of ties


def t_getitem(x, index):
    """
    x[index] for any NumPy index (negative steps included, which torch lacks): pick the
    elements through a flat index computed by NumPy, so NumPy defines where each one goes.
    """
    where = np.arange(x.numel()).reshape(tuple(x.shape))[index]
    return x.reshape(-1)[torch.from_numpy(np.array(where, dtype=np.int64))]


def t_transpose(x, axes=None):
    return x.permute(tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))


def t_expand(x, dim, repeats):
    return torch.repeat_interleave(x, repeats, dim=dim)


def t_select(x, t):
    return x[torch.arange(x.shape[0]), t]


def t_linear(x, w, b):
    return x @ w.T + b.reshape(-1)


def t_conv2d(x, w, b=None, stride=1, padding=0):
    return F.conv2d(x, w, b, stride=stride, padding=padding)


def t_max_pool2d(x, kernel_size, stride=None):
    return F.max_pool2d(x, kernel_size, stride)


def t_avg_pool2d(x, kernel_size, stride=None):
    return F.avg_pool2d(x, kernel_size, stride)


def v_batch_norm(x, w, b, eps=1e-5):
    """The BatchNorm op with the batch's own statistics, as nn.BatchNorm1d/2d call it."""
    from vugrad.ops.norm import batch_axes
    value = np.asarray(x.value if isinstance(x, vg.TensorNode) else x)   # -- or a constant
    axes = batch_axes(value)
    return ops.BatchNorm.do_forward(x, w, b, mean=value.mean(axis=axes), var=value.var(axis=axes),
                                    eps=eps)


def t_batch_norm(x, w, b, eps=1e-5):
    return F.batch_norm(x, None, None, w, b, training=True, eps=eps)


def t_normalize(x):
    return x / x.sum(dim=1, keepdim=True)


# ---------------------------------------------------------------------- the rows

def _op(cls, **fixed):
    return lambda *xs, **kw: cls.do_forward(*xs, **fixed, **kw)


UNARY_SHAPES = [((3, 4),), ((5,),), ((),), ((2, 3, 4),), ((0, 3),)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)),
                 ((2, 3), ()), ((0, 3), (1, 3))]
REDUCE_CASES = [Case((s,), {'axis': a, 'keepdims': k})
                for s, axes in [((2, 3, 4), [None, 0, -1, (0, 2), ()]), ((5,), [None, 0]),
                                ((), [None])]
                for a in axes for k in (False, True)]
MATMUL_CASES = [
    Case(((3, 4), (4, 5))), Case(((4,), (4, 5))), Case(((3, 4), (4,))),
    Case(((2, 3, 4), (4, 5))), Case(((2, 1, 3, 4), (5, 4, 2))), Case(((3, 4), (2, 4, 5))),
    Case(((4,), (2, 4, 5))), Case(((2, 3, 4), (4,))), Case(((0, 4), (4, 3))),
    Case(((4,), (4,))),
]
INDEX_CASES = [
    1, -1, (slice(None), 1), (slice(1, None), None, slice(None, None, -1)), Ellipsis,
    (Ellipsis, 2), np.array([0, 0, 2]), [2, 0, 2, 2], (np.array([0, 1, 1]), np.array([2, 0, 2])),
    (slice(None), np.array([1, 1, 0])), np.array([True, False, True]),
    np.array([[True, False, True, False], [False, False, True, True], [True, True, True, False]]),
    (slice(None, None, 2), slice(3, 0, -2)),
]


def _unary(name, fn, ref, domain='real', cases=None, op=None, min_dims=0):
    cases = cases or [Case(s) for s in UNARY_SHAPES if len(s[0]) >= min_dims]
    return Row(name, fn, ref, (domain,), cases, unary_cases(min_dims=min_dims), op=op)


def _binary(name, fn, ref, domains=('real', 'real'), op=None):
    return Row(name, fn, ref, domains, [Case(s) for s in BINARY_SHAPES], binary_cases(),
               broadcasting=True, op=op)


def _reduce(name, fn, ref, domain='real', op=None, min_side=0):
    cases = REDUCE_CASES if min_side == 0 else [c for c in REDUCE_CASES if 0 not in c.shapes[0]]
    return Row(name, fn, ref, (domain,), cases, reduce_cases(min_side=min_side), op=op)


def _softmax(name, fn, ref, op=None):
    cases = [Case(((3, 4),), {'axis': -1}), Case(((3, 4),), {'axis': 0}),
             Case(((2, 3, 4),), {'axis': 1}), Case(((5,),), {'axis': 0}),
             Case(((3, 0),), {'axis': -1}), Case(((0, 3),), {'axis': -1})]
    return Row(name, fn, ref, ('real',), cases, softmax_cases(), op=op)


def _loss(name, fn, ref, domain='real', op=None):
    cases = [Case(((4, 5), (4,)), {'reduction': r}) for r in ('sum', 'mean')]
    cases.append(Case(((1, 1), (1,)), {'reduction': 'sum'}))
    return Row(name, fn, ref, (domain, TARGETS), cases, loss_cases(), op=op)


def _matmul(name, fn, ref, op=None):
    return Row(name, fn, ref, ('real', 'real'), MATMUL_CASES, matmul_cases(), op=op)


CONV_CASES = [
    Case(((2, 2, 5, 5), (3, 2, 3, 3), (3,))),
    Case(((2, 2, 5, 6), (3, 2, 3, 2), (3,)), {'stride': 2, 'padding': 1}),
    Case(((1, 3, 4, 4), (2, 3, 1, 1), (2,)), {'padding': 2}),
    Case(((2, 1, 4, 3), (2, 1, 4, 3))),
    Case(((1, 2, 5, 4), (2, 2, 2, 3)), {'stride': (2, 1), 'padding': (0, 1)}),
    Case(((0, 2, 4, 4), (3, 2, 3, 3), (3,))),
]
POOL_CASES = [
    Case(((2, 2, 4, 6),), {'kernel_size': 2}),
    Case(((2, 2, 5, 7),), {'kernel_size': 2, 'stride': 2}),
    Case(((1, 2, 7, 6),), {'kernel_size': 3, 'stride': 2}),
    Case(((1, 2, 5, 5),), {'kernel_size': 3, 'stride': 1}),
    Case(((1, 3, 5, 6),), {'kernel_size': (2, 3), 'stride': (1, 2)}),
    Case(((2, 1, 3, 3),), {'kernel_size': 3}),
]

POWERS_POS = [2, 3, 0.5, -1.5, 1, 0, 2.0, np.float64(1.5)]
POWERS_INT = [2, 3, 1, 0]

_C = np.linspace(-1.5, 1.5, 12).reshape(3, 4)    # a constant operand for the reflected operators

ROWS = [
    # -- vugrad.ops: the binary broadcasting ops
    _binary('Add', _op(ops.Add), torch.add, op=ops.Add),
    _binary('Sub', _op(ops.Sub), torch.sub, op=ops.Sub),
    _binary('Multiply', _op(ops.Multiply), torch.mul, op=ops.Multiply),
    _binary('Divide', _op(ops.Divide), torch.div, ('real', 'away0'), op=ops.Divide),
    _binary('Pow', _op(ops.Pow), torch.pow, ('pos', 'real'), op=ops.Pow),
    _matmul('MatrixMultiply', _op(MatrixMultiply), torch.matmul, op=MatrixMultiply),

    # -- element-wise
    _unary('Id', _op(ops.Id), lambda x: x.clone(), op=ops.Id),
    _unary('Negate', _op(ops.Negate), torch.neg, op=ops.Negate),
    Row('Power', _op(ops.Power), lambda x, p: x ** p, ('pos',),
        [Case(s, {'p': p}) for p in POWERS_POS for s in UNARY_SHAPES[:3]],
        power_cases(POWERS_POS), op=ops.Power),
    Row('Power(real base)', _op(ops.Power), lambda x, p: x ** p, ('real',),
        [Case(s, {'p': p}) for p in POWERS_INT for s in UNARY_SHAPES[:3]],
        power_cases(POWERS_INT), op=ops.Power),
    _unary('Exp', _op(ops.Exp), torch.exp, op=ops.Exp),
    _unary('Log', _op(ops.Log), torch.log, 'pos', op=ops.Log),
    _unary('Sqrt', _op(ops.Sqrt), torch.sqrt, 'pos', op=ops.Sqrt),
    _unary('Sigmoid', _op(ops.Sigmoid), torch.sigmoid, op=ops.Sigmoid),
    _unary('Tanh', _op(ops.Tanh), torch.tanh, op=ops.Tanh),
    _unary('ReLU', _op(ops.ReLU), torch.relu, 'away0', op=ops.ReLU),

    # -- reductions
    _reduce('Sum', _op(ops.Sum), t_sum, op=ops.Sum),
    _reduce('Mean', _op(ops.Mean), t_mean, op=ops.Mean, min_side=1),
    _reduce('Max', _op(ops.Max), t_max, 'distinct', op=ops.Max, min_side=1),
    Row('RowMax', _op(ops.RowMax), lambda x: torch.max(x, dim=1).values, ('distinct',),
        [Case(((3, 4),)), Case(((1, 1),)), Case(((5, 2),))], matrix_cases(), op=ops.RowMax),
    Row('RowSum', _op(ops.RowSum), lambda x: x.sum(dim=1), ('real',),
        [Case(((3, 4),)), Case(((1, 1),)), Case(((0, 2),)), Case(((2, 0),))], matrix_cases(0),
        op=ops.RowSum),
    Row('Normalize', _op(ops.Normalize), t_normalize, ('pos',),
        [Case(((3, 4),)), Case(((1, 1),)), Case(((5, 2),))], matrix_cases(), op=ops.Normalize),

    # -- shapes
    Row('Expand', _op(ops.Expand), t_expand, ('real',),
        [Case(((3, 1, 4),), {'dim': 1, 'repeats': 5}), Case(((3, 1),), {'dim': -1, 'repeats': 2}),
         Case(((1,),), {'dim': 0, 'repeats': 3}), Case(((1, 2),), {'dim': 0, 'repeats': 0})],
        expand_cases(), op=ops.Expand),
    Row('Squeeze', _op(ops.Squeeze), lambda x, dim: x.squeeze(dim), ('real',),
        [Case(((3, 1, 4),), {'dim': 1}), Case(((3, 1),), {'dim': -1}), Case(((1,),), {'dim': 0})],
        squeeze_cases(), op=ops.Squeeze),
    Row('Unsqueeze', _op(ops.Unsqueeze), lambda x, dim: x.unsqueeze(dim), ('real',),
        [Case(((3, 4),), {'dim': d}) for d in (0, 1, 2, -1, -3)] + [Case(((),), {'dim': 0})],
        unsqueeze_cases(), op=ops.Unsqueeze),
    Row('Reshape', _op(ops.Reshape), lambda x, shape: x.reshape(shape), ('real',),
        [Case(((3, 4),), {'shape': s}) for s in [(4, 3), (2, -1), (12,), (2, 2, 3)]] +
        [Case(((),), {'shape': (1, 1)}), Case(((1, 1),), {'shape': ()})],
        reshape_cases(), op=ops.Reshape),
    Row('Transpose', _op(ops.Transpose), t_transpose, ('real',),
        [Case(((3, 4),), {'axes': None}), Case(((3, 4),), {'axes': (-1, 0)})] +
        [Case(((2, 3, 4),), {'axes': a}) for a in [None, (1, 0, 2), (0, -1, 1), (2, 0, 1)]],
        transpose_cases(), op=ops.Transpose),
    Row('GetItem', _op(ops.GetItem), t_getitem, ('real',),
        [Case(((3, 4),), {'index': i}) for i in INDEX_CASES[:12]] +
        [Case(((5, 4),), {'index': INDEX_CASES[12]}), Case(((5,),), {'index': 2})],
        getitem_cases(), op=ops.GetItem),
    Row('Select', lambda x, t: ops.Select.do_forward(x, indices=t), t_select, ('real', TARGETS),
        [Case(((4, 5), (4,))), Case(((1, 1), (1,))), Case(((0, 3), (0,)))], select_cases(),
        op=ops.Select),
    Row('Concatenate', _op(ops.Concatenate), lambda *xs, axis=0: torch.cat(xs, dim=axis),
        ('real',) * 3,
        [Case(((2, 3), (4, 3), (1, 3)), {'axis': 0}), Case(((2, 3), (2, 1), (2, 0)), {'axis': -1}),
         Case(((5,),), {'axis': 0})],
        concatenate_cases(), op=ops.Concatenate),
    Row('Stack', _op(ops.Stack), lambda *xs, axis=0: torch.stack(xs, dim=axis), ('real',) * 3,
        [Case(((2, 3),) * 3, {'axis': a}) for a in (0, 1, -1, 2)] + [Case(((),) * 3, {'axis': 0})],
        stack_cases(), op=ops.Stack),

    # -- linear algebra
    Row('BatchMM', _op(ops.BatchMM), lambda m, v: v @ m.T, ('real', 'real'),
        [Case(((5, 4), (3, 4))), Case(((1, 1), (1, 1))), Case(((5, 4), (0, 4)))],
        batchmm_cases(), op=ops.BatchMM),
    Row('Linear', _op(ops.Linear), t_linear, ('real', 'real', 'real'),
        [Case(((3, 4), (5, 4), (1, 5))), Case(((3, 4), (5, 4), (5,))),
         Case(((0, 4), (5, 4), (5,)))],
        linear_cases(), op=ops.Linear),

    # -- softmax and losses
    _softmax('LogSoftmax', _op(ops.LogSoftmax), lambda x, axis=-1: torch.log_softmax(x, axis),
             op=ops.LogSoftmax),
    _softmax('Softmax', _op(ops.Softmax), lambda x, axis=-1: torch.softmax(x, axis),
             op=ops.Softmax),
    _loss('NLLLoss', lambda x, t, **kw: ops.NLLLoss.do_forward(x, targets=t, **kw),
          lambda x, t, reduction='sum': F.nll_loss(x, t, reduction=reduction), op=ops.NLLLoss),
    _loss('CrossEntropy', lambda x, t, **kw: ops.CrossEntropy.do_forward(x, targets=t, **kw),
          lambda x, t, reduction='sum': F.cross_entropy(x, t, reduction=reduction),
          op=ops.CrossEntropy),

    # -- images: convolution and pooling
    Row('Conv2d', _op(ops.Conv2d), t_conv2d, ('real', 'real', 'real'), CONV_CASES, conv_cases(),
        op=ops.Conv2d),
    Row('MaxPool2d', _op(ops.MaxPool2d), t_max_pool2d, ('distinct',), POOL_CASES, pool_cases(),
        op=ops.MaxPool2d),
    Row('AvgPool2d', _op(ops.AvgPool2d), t_avg_pool2d, ('real',), POOL_CASES, pool_cases(),
        op=ops.AvgPool2d),

    Row('BatchNorm', v_batch_norm, t_batch_norm, ('real', 'real', 'real'),
        [Case(((6, 3), (3,), (3,))), Case(((3, 2, 4, 3), (2,), (2,))),
         Case(((2, 1), (1,), (1,)), {'eps': 1e-3})],
        op=ops.BatchNorm),

    # -- vugrad.functions
    _unary('functions.exp', vg.functions.exp, torch.exp),
    _unary('functions.log', vg.functions.log, torch.log, 'pos'),
    _unary('functions.sqrt', vg.functions.sqrt, torch.sqrt, 'pos'),
    _unary('functions.sigmoid', vg.functions.sigmoid, torch.sigmoid),
    _unary('functions.relu', vg.functions.relu, torch.relu, 'away0'),
    _unary('functions.tanh', vg.functions.tanh, torch.tanh),
    _softmax('functions.softmax', vg.functions.softmax,
             lambda x, axis=-1: torch.softmax(x, axis)),
    _softmax('functions.logsoftmax', vg.functions.logsoftmax,
             lambda x, axis=-1: torch.log_softmax(x, axis)),
    _loss('functions.logceloss', vg.functions.logceloss,
          lambda x, t, reduction='sum': F.nll_loss(x, t, reduction=reduction)),
    _loss('functions.celoss', vg.functions.celoss,
          lambda x, t, reduction='sum': F.nll_loss(torch.log(x), t, reduction=reduction), 'pos'),
    _loss('functions.cross_entropy', vg.functions.cross_entropy,
          lambda x, t, reduction='sum': F.cross_entropy(x, t, reduction=reduction)),
    _reduce('functions.sum', vg.functions.sum, t_sum),
    _reduce('functions.mean', vg.functions.mean, t_mean, min_side=1),
    _reduce('functions.max', vg.functions.max, t_max, 'distinct', min_side=1),
    _matmul('functions.matmul', vg.functions.matmul, torch.matmul),
    Row('functions.concatenate', lambda *xs, axis=0: vg.functions.concatenate(xs, axis=axis),
        lambda *xs, axis=0: torch.cat(xs, dim=axis), ('real',) * 2,
        [Case(((2, 3), (4, 3)), {'axis': 0}), Case(((2, 3), (2, 1)), {'axis': 1})],
        concatenate_cases()),
    Row('functions.stack', lambda *xs, axis=0: vg.functions.stack(xs, axis=axis),
        lambda *xs, axis=0: torch.stack(xs, dim=axis), ('real',) * 2,
        [Case(((2, 3),) * 2, {'axis': a}) for a in (0, -1)], stack_cases()),

    Row('functions.conv2d', vg.functions.conv2d, t_conv2d, ('real', 'real', 'real'),
        CONV_CASES[:2] + CONV_CASES[4:5], conv_cases()),
    Row('functions.max_pool2d', vg.functions.max_pool2d, t_max_pool2d, ('distinct',),
        POOL_CASES[:4], pool_cases()),
    Row('functions.avg_pool2d', vg.functions.avg_pool2d, t_avg_pool2d, ('real',),
        POOL_CASES[:4], pool_cases()),

    # -- TensorNode's operators and methods
    _binary('TensorNode.__add__', lambda a, b: a + b, torch.add),
    _binary('TensorNode.__sub__', lambda a, b: a - b, torch.sub),
    _binary('TensorNode.__mul__', lambda a, b: a * b, torch.mul),
    _binary('TensorNode.__truediv__', lambda a, b: a / b, torch.div, ('real', 'away0')),
    _binary('TensorNode.__pow__', lambda a, b: a ** b, torch.pow, ('pos', 'real')),
    Row('TensorNode.__pow__(number)', lambda x, p: x ** p, lambda x, p: x ** p, ('pos',),
        [Case(s, {'p': p}) for p in POWERS_POS for s in UNARY_SHAPES[:2]],
        power_cases(POWERS_POS)),
    _matmul('TensorNode.__matmul__', lambda a, b: a @ b, torch.matmul),
    Row('TensorNode.matmul', lambda a, b: a.matmul(b), torch.matmul, ('real', 'real'),
        MATMUL_CASES, matmul_cases(), method=True),
    # -- reflected forms: a constant (a number, or a NumPy array) on the left of the node
    *[Row(f'TensorNode.{name}', fn, ref, (dom,),
          [Case(((3, 4),), {'c': 2.5}), Case(((3, 4),), {'c': _C}), Case(((4,),), {'c': _C}),
           Case(((),), {'c': _C})],
          hnp.broadcastable_shapes((3, 4), max_side=SIDE).map(lambda s: Case((s,), {'c': _C})))
      for name, fn, ref, dom in [
          ('__radd__', lambda x, c: c + x, lambda x, c: c + x, 'real'),
          ('__rsub__', lambda x, c: c - x, lambda x, c: c - x, 'real'),
          ('__rmul__', lambda x, c: c * x, lambda x, c: c * x, 'real'),
          ('__rtruediv__', lambda x, c: c / x, lambda x, c: c / x, 'away0'),
          ('__rpow__', lambda x, c: abs(c) ** x, lambda x, c: abs(c) ** x, 'real'),
      ]],
    Row('TensorNode.__rmatmul__', lambda x, c: c @ x, lambda x, c: c @ x, ('real',),
        [Case(((4, 2),), {'c': _C}), Case(((4,),), {'c': _C}), Case(((2, 4, 3),), {'c': _C})],
        None),
    _unary('TensorNode.__neg__', lambda x: -x, torch.neg),
    _unary('TensorNode.__pos__', lambda x: +x, lambda x: +x),
    _unary('TensorNode.exp', lambda x: x.exp(), torch.exp),
    _unary('TensorNode.log', lambda x: x.log(), torch.log, 'pos'),
    _reduce('TensorNode.sum', lambda x, **kw: x.sum(**kw), t_sum),
    _reduce('TensorNode.mean', lambda x, **kw: x.mean(**kw), t_mean, min_side=1),
    _reduce('TensorNode.max', lambda x, **kw: x.max(**kw), t_max, 'distinct', min_side=1),
    Row('TensorNode.reshape', lambda x, shape: x.reshape(*shape), lambda x, shape: x.reshape(shape),
        ('real',), [Case(((3, 4),), {'shape': s}) for s in [(4, 3), (2, -1), (12,)]],
        reshape_cases()),
    Row('TensorNode.transpose', lambda x, axes: x.transpose(*(axes or ())), t_transpose,
        ('real',),
        [Case(((3, 4),), {'axes': None}), Case(((2, 3, 4),), {'axes': (0, -1, 1)})],
        transpose_cases()),
    _unary('TensorNode.T', lambda x: x.T, t_transpose),
    Row('TensorNode.__getitem__', lambda x, index: x[index], t_getitem, ('real',),
        [Case(((3, 4),), {'index': i}) for i in INDEX_CASES[:12]], getitem_cases()),
]

# -- TensorNode members that are not ops (no row needed): attributes, the backward pass, ...
NOT_OPS = {
    '__init__', '__repr__', '__str__', '__len__', '__array_ufunc__', '__slots__', '__module__',
    '__doc__', '__weakref__', '__qualname__', '__firstlineno__', '__static_attributes__',
    'value', 'grad', 'source', 'name', 'requires_grad', 'size', 'shape', 'ndim', 'dtype',
    'numpy', 'item', 'backward', 'zero_grad', 'clear', 'to_dot', '_repr_svg_', '_repr_pretty_',
    '_repr_html_',
    '_value', '_grad', '_version', '_base', '_add_grad',
    '__iter__',    # -- GetItem once per row: tested in tests/test_core.py
    '__bool__', '__float__',    # -- a one-element node's value: tested in tests/test_core.py
}
