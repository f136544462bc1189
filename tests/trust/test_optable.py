"""
Every row of the op table (optable.py), checked: against PyTorch in float64 and float32, with
vugrad.gradcheck, over a broadcasting sweep, on shapes drawn by hypothesis, for linearity in
the upstream gradient and for determinism.
"""

import inspect
import itertools
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip('torch')   # -- the trust suite compares with PyTorch

import vugrad as vg  # noqa: E402
from vugrad.core import TensorNode
from vugrad.errors import ShapeError

from .optable import NOT_OPS, ROWS, Case, broadcasts, case_kwargs, make_inputs
from .support import TOL, check_against_torch, close, examples, run_vugrad


def _seed(*parts):
    """A seed that depends on the test's parameters only (stable across runs and orderings)."""
    return zlib.crc32(repr(parts).encode())


def _params(rows, want=lambda row, case: True):
    out = []
    for row in rows:
        for case in row.cases:
            if not want(row, case):
                continue
            marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
            out.append(pytest.param(row, case, marks=marks, id=f'{row.name}[{case.id()}]'))
    return out


ALL = _params(ROWS)


# ---------------------------------------------------------------------- the table is complete

def _covered():
    return {row.name.split('(')[0] for row in ROWS}


def test_every_public_op_has_a_row():
    names = set(vg.ops.__all__)
    names |= {f'functions.{n}' for n, f in inspect.getmembers(vg.functions, inspect.isfunction)
              if f.__module__ == 'vugrad.functions' and not n.startswith('_')}
    names |= {f'TensorNode.{n}' for n in vars(TensorNode) if n not in NOT_OPS}
    missing = sorted(names - _covered())
    assert not missing, f'public ops without a row in tests/trust/optable.py: {missing}'


def test_every_row_is_a_public_op():
    public = set(vg.ops.__all__) | {f'functions.{n}' for n in dir(vg.functions)} | \
        {f'TensorNode.{n}' for n in vars(TensorNode)}
    stale = sorted(_covered() - public)
    assert not stale, f'rows for names that are not public ops: {stale}'


def test_the_table_is_big_enough():
    # -- guards against a table emptied by accident (the numbers of the closing note)
    assert len(ROWS) >= 75
    assert sum(len(r.cases) for r in ROWS) >= 500


# ---------------------------------------------------------------------- against PyTorch

@pytest.mark.parametrize('dtype', [np.float64, np.float32], ids=['float64', 'float32'])
@pytest.mark.parametrize('row, case', ALL)
def test_against_torch(row, case, dtype):
    check_against_torch(row, case, _seed(row.name, case.id()), dtype)


@pytest.mark.parametrize('row, case', _params(ROWS, lambda r, c: sum(r.diff(c)) >= 2))
def test_constant_inputs(row, case):
    """Each differentiable input in turn passed as a plain array: the others' gradients hold."""
    for i in range(len(case.shapes)):
        if row.method and i == 0:
            continue
        check_against_torch(row, case, _seed(row.name, case.id(), i), constant=(i,))


@pytest.mark.parametrize('row, case', ALL)
def test_gradcheck(row, case):
    rng = np.random.default_rng(_seed('gradcheck', row.name, case.id()))
    arrays = make_inputs(row, case, rng)
    kwargs = case_kwargs(case.kwargs, np.float64)
    # -- `* 1.0` gives the output an array of its own: gradcheck perturbs its inputs in place,
    #    and for an op that returns a view (Reshape, Transpose, GetItem, ...) the saved output
    #    would change along (see test_gradcheck_of_an_op_that_returns_a_view)
    assert vg.gradcheck(lambda *xs: row.fn(*xs, **kwargs) * 1.0, *arrays)


@pytest.mark.parametrize('fn', [lambda x: x.reshape(-1), lambda x: x[1:],
                                lambda x: vg.ops.Id.do_forward(x)],
                         ids=['reshape', 'slice', 'Id'])
def test_gradcheck_of_an_op_that_returns_a_view(fn):
    assert vg.gradcheck(fn, np.random.default_rng(0).standard_normal((3, 2)))


# -- For these ops the gradient of an input costs arithmetic (a product, a GEMM): backward must
#    not compute it for an input that needs none (the data batch of a training step).
COSTLY = {'Multiply', 'Divide', 'Pow', 'MatrixMultiply', 'BatchMM', 'Linear'}


@pytest.mark.parametrize('row', [r for r in ROWS if r.name in COSTLY], ids=lambda r: r.name)
def test_no_gradient_computed_for_inputs_that_need_none(row):
    case = row.cases[0]
    arrays = make_inputs(row, case, np.random.default_rng(0))
    for skip in range(len(arrays)):
        context = {}
        context['needs_input_grad'] = tuple(i != skip for i in range(len(arrays)))
        out = row.op.forward(context, *arrays, **case.kwargs)
        grads = row.op.backward(context, np.ones_like(out))
        assert grads[skip] is None, f'{row.name} computed a gradient for input {skip}'
        assert all(g is not None for i, g in enumerate(grads) if i != skip)


# ---------------------------------------------------------------------- broadcasting sweep

SWEEP = [(), (2,), (3, 2), (1, 2), (3, 1), (2, 3, 4), (2, 1, 4)]


@pytest.mark.parametrize('row', [r for r in ROWS if r.broadcasting], ids=lambda r: r.name)
@pytest.mark.parametrize('a, b', list(itertools.product(SWEEP, SWEEP)),
                         ids=[f'{a}-{b}'.replace(' ', '')
                              for a, b in itertools.product(SWEEP, SWEEP)])
def test_broadcast_sweep(row, a, b):
    case = Case((a, b))
    if broadcasts(a, b):
        _, inputs = check_against_torch(row, case, _seed('sweep', row.name, a, b))
        assert [x.grad.shape for x in inputs] == [a, b]
    else:
        arrays = make_inputs(row, case, np.random.default_rng(0))
        with pytest.raises(ShapeError, match=r'broadcast'):
            run_vugrad(row, case, arrays, np.float64)


def test_broadcast_sweep_counts():
    pairs = list(itertools.product(SWEEP, SWEEP))
    assert len(pairs) == 49
    assert sum(not broadcasts(a, b) for a, b in pairs) == 12


# ---------------------------------------------------------------------- drawn shapes

@pytest.mark.parametrize('row', [r for r in ROWS if r.draw is not None], ids=lambda r: r.name)
def test_drawn_shapes(row):
    @examples(15)
    @given(case=row.draw, seed=st.integers(0, 2**32 - 1))
    def check(case, seed):
        check_against_torch(row, case, seed)

    check()


# ---------------------------------------------------------------------- linearity, determinism

def _grads(row, case, arrays, gout):
    out, inputs = run_vugrad(row, case, arrays, np.float64)
    out.backward(gradient=gout)
    return [x.grad for x in inputs if isinstance(x, vg.TensorNode)], out, inputs


@pytest.mark.parametrize('row, case', ALL)
def test_linear_in_upstream_gradient_and_deterministic(row, case):
    rng = np.random.default_rng(_seed('linearity', row.name, case.id()))
    arrays = make_inputs(row, case, rng)
    shape = run_vugrad(row, case, arrays, np.float64)[0].value.shape
    gout = rng.standard_normal(shape)

    zeros, _, _ = _grads(row, case, arrays, np.zeros(shape))
    for g in zeros:
        assert np.all(g == 0), f'{row.name}: zero upstream gradient gave {g}'

    once, out, inputs = _grads(row, case, arrays, gout)
    twice, _, _ = _grads(row, case, arrays, 2 * gout)
    for g1, g2 in zip(once, twice):
        assert np.array_equal(g2, 2 * g1), f'{row.name}: doubled upstream gradient'

    # -- determinism: the same graph built again from the same arrays, bit for bit
    again, _, _ = _grads(row, case, arrays, gout)
    for g1, g3 in zip(once, again):
        assert g1.tobytes() == g3.tobytes(), f'{row.name}: two identical passes differ'

    # -- accumulation: a second backward through the same graph adds the same gradient again
    first = [g.copy() for g in once]
    out.backward(gradient=gout)
    for g1, x in zip(first, [x for x in inputs if isinstance(x, vg.TensorNode)]):
        assert np.array_equal(x.grad, 2 * g1), f'{row.name}: gradients do not accumulate'


def test_float32_tolerances_are_the_issues():
    assert TOL[np.float32] == {'forward': (1e-6, 1e-3), 'grad': (1e-4, 1e-3)}
    close(np.float32(1.0005), np.float32(1.0), TOL[np.float32]['forward'], 'within rtol')
    with pytest.raises(AssertionError):
        close(np.float32(1.002), np.float32(1.0), TOL[np.float32]['forward'], 'beyond rtol')
