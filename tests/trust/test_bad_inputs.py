"""
Bad inputs: integer and boolean inputs, NaN and inf, empty arrays, 0-d arrays, non-contiguous
and read-only NumPy arrays, Python lists where arrays are expected. Every public op (every row
of the op table) either works on each of them or raises a vugrad error (a VugradError) that
says what to do; never a raw NumPy or Python error. The error checks also run under `python -O`.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip('torch')   # -- the trust suite compares with PyTorch

import vugrad as vg  # noqa: E402
from vugrad.errors import (BackwardError, InputTypeError, InvalidArgumentError, NoGradientError,
                           ShapeError, VugradError)

from .optable import ROWS, case_kwargs, make_inputs, torch_kwargs

KINDS = ['int', 'bool', 'list', 'read-only', 'non-contiguous', 'nan', 'inf', '0-d', 'empty']

# -- (row name, kind) pairs whose failure is a known core issue (strict xfail)
CORE = {}

# -- the errors an input kind may get (kinds not listed must work)
EXPECTED_ERRORS = {
    'int': (InputTypeError, NoGradientError),
    'bool': (InputTypeError, NoGradientError),
    '0-d': (ShapeError, InvalidArgumentError),
    'empty': (ShapeError, InvalidArgumentError),
}


def _variant(kind, row, case, arrays):
    """The inputs of one case, made bad in the given way (targets stay as they are)."""
    diff = row.diff(case)
    out = []
    for i, (a, d) in enumerate(zip(arrays, diff)):
        if not d:
            out.append(a)
        elif kind == 'int':
            out.append(vg.TensorNode(np.round(a).astype(np.int64)))
        elif kind == 'bool':
            out.append(vg.TensorNode(a > 0.7))
        elif kind == 'list':
            # -- a method or operator needs a node on its left: only the other inputs are lists
            method = row.name.startswith('TensorNode.') and i == 0
            out.append(vg.TensorNode(a) if method else a.tolist())
        elif kind == 'read-only':
            a = a.copy()
            a.flags.writeable = False
            out.append(vg.TensorNode(a))
        elif kind == 'non-contiguous':
            wide = np.repeat(a, 2, axis=-1)[..., ::2] if a.ndim else a
            out.append(vg.TensorNode(wide if a.ndim < 2 else np.asfortranarray(wide)))
        elif kind in ('nan', 'inf'):
            a = a.copy()
            if a.size:
                a.reshape(-1)[0] = np.nan if kind == 'nan' else np.inf
            out.append(vg.TensorNode(a))
        elif kind == '0-d':
            out.append(vg.TensorNode(np.array(1.5)))
        elif kind == 'empty':
            out.append(vg.TensorNode(np.zeros((0,) + a.shape[1:])))
    return out


def _run(row, case, inputs):
    out = row.fn(*inputs, **case_kwargs(case.kwargs, np.float64))
    assert isinstance(out, vg.TensorNode)
    if out.requires_grad:
        out.backward(gradient=np.ones(out.value.shape))
    return out


def _params():
    out = []
    for row in ROWS:
        case = next(c for c in row.cases if not c.xfail)
        for kind in KINDS:
            reason = CORE.get((row.name, kind))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(row, case, kind, marks=marks, id=f'{row.name}-{kind}'))
    return out


@pytest.mark.parametrize('row, case, kind', _params())
def test_every_op_works_or_raises_a_vugrad_error(row, case, kind):
    arrays = make_inputs(row, case, np.random.default_rng(0))
    inputs = _variant(kind, row, case, arrays)
    try:
        out = _run(row, case, inputs)
    except VugradError as e:
        # -- what each kind may raise: lists, read-only, non-contiguous, NaN and inf inputs
        #    must work; an integer or boolean input may only be refused for its dtype; a 0-d
        #    or empty input for its shape
        allowed = EXPECTED_ERRORS.get(kind, ())
        assert isinstance(e, allowed), f'{row.name} with {kind} input raised {e!r}'
        assert len(str(e)) > 20      # -- a sentence, not a bare code
        return

    nodes = [x for x in inputs if isinstance(x, vg.TensorNode)]
    if kind in ('int', 'bool'):
        # -- integer and boolean nodes are constants: nothing to differentiate
        assert not out.requires_grad and out.source is None
        for x in nodes:
            with pytest.raises(NoGradientError, match='astype|float'):
                _ = x.grad
    elif kind in ('list', 'read-only', 'non-contiguous'):
        # -- the same values as from plain contiguous arrays
        plain = [vg.TensorNode(a.copy()) if d else a for a, d in zip(arrays, row.diff(case))]
        expected = _run(row, case, plain)
        np.testing.assert_allclose(out.value, expected.value, rtol=1e-12, atol=1e-14)
        if kind != 'list':
            for x, p in zip(nodes, [p for p in plain if isinstance(p, vg.TensorNode)]):
                np.testing.assert_allclose(x.grad, p.grad, rtol=1e-12, atol=1e-14)
        if kind == 'read-only':
            # -- a leaf made from a read-only array holds a copy (so that a parameter can be
            #    updated in place); the caller's array is never written
            assert all(x.value.flags.writeable for x in nodes if x.requires_grad)
            assert all(np.array_equal(x.value, a) for x, a in zip(nodes, arrays))
    elif kind in ('nan', 'inf'):
        # -- NaN and inf propagate as in PyTorch, in values and in gradients
        diff = row.diff(case)
        tin = [torch.from_numpy(x.value.copy() if isinstance(x, vg.TensorNode) else x.copy())
               .requires_grad_(bool(d)) for x, d in zip(inputs, diff)]
        tout = row.ref(*tin, **torch_kwargs(case_kwargs(case.kwargs, np.float64)))
        tout.backward(torch.ones(tout.shape, dtype=tout.dtype))
        np.testing.assert_allclose(out.value, tout.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   equal_nan=True)
        for x, t in zip(inputs, tin):
            if isinstance(x, vg.TensorNode):
                tg = np.zeros(x.value.shape) if t.grad is None else t.grad.numpy()
                np.testing.assert_allclose(x.grad, tg, rtol=1e-10, atol=1e-12, equal_nan=True)
    else:
        # -- 0-d and empty inputs: gradients of the inputs' shapes
        for x in nodes:
            assert x.grad.shape == x.value.shape


# ---------------------------------------------------------------------- integers and booleans

def test_integer_nodes_are_constants_and_say_how_to_get_a_gradient():
    x = vg.TensorNode(np.arange(3))
    assert not x.requires_grad
    with pytest.raises(NoGradientError, match=r'astype\(np\.float32\)'):
        vg.TensorNode(np.arange(3), requires_grad=True)
    with pytest.raises(NoGradientError, match='float node'):
        _ = x.grad
    with pytest.raises(NoGradientError, match='constant'):
        (x * 2).sum().backward()


def test_a_float_node_next_to_integers_gets_its_gradient():
    w = vg.TensorNode(np.array([0.5, -1.0, 2.0]))
    k = np.array([3, 4, 5])
    mask = np.array([True, False, True])
    loss = ((w * k) * mask + w / k + k ** w).sum()
    loss.backward()

    t = torch.tensor(w.value, requires_grad=True)
    tk, tm = torch.from_numpy(k), torch.from_numpy(mask)
    ((t * tk) * tm + t / tk + tk ** t).sum().backward()
    np.testing.assert_allclose(loss.value, ((t * tk) * tm + t / tk + tk ** t).sum().item())
    np.testing.assert_allclose(w.grad, t.grad.numpy(), rtol=1e-12)


def test_boolean_masks_index_and_multiply():
    x = vg.TensorNode(np.array([[1.0, -2.0], [3.0, -4.0]]))
    mask = x.value > 0
    (x[mask].sum() + (x * mask).sum()).backward()
    np.testing.assert_array_equal(x.grad, 2.0 * mask)


def test_negating_a_boolean_says_what_to_do():
    with pytest.raises(InputTypeError, match='~x'):
        -vg.TensorNode(np.array([True, False]))


# ---------------------------------------------------------------------- targets and indices

@pytest.mark.parametrize('fn', [vg.cross_entropy,
                                lambda x, t: vg.logceloss(vg.logsoftmax(x), t),
                                lambda x, t: vg.ops.Select.do_forward(x, indices=t).sum()],
                         ids=['cross_entropy', 'logceloss', 'Select'])
def test_targets_as_lists_work_and_bad_targets_raise(fn):
    x = vg.TensorNode(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]))
    assert np.isclose(fn(x, [2, 0]).value, fn(x, np.array([2, 0])).value)
    with pytest.raises(ShapeError, match='integer'):
        fn(x, [2.0, 0.0])
    with pytest.raises(ShapeError, match=r'\[0, 3\)'):
        fn(x, [2, 3])
    with pytest.raises(ShapeError, match='shape'):
        fn(x, [2, 0, 1])


# ---------------------------------------------------------------------- lists and other types

def test_python_lists_work_where_arrays_are_expected():
    x = vg.TensorNode([[1.0, 2.0], [3.0, 4.0]])
    assert x.value.dtype == np.float64 and x.requires_grad
    y = x + [1.0, 2.0]
    z = vg.ops.Linear.do_forward(x, [[1.0, 0.0]], [0.5])
    (y.sum() + z.sum()).backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 1.0], [2.0, 1.0]])
    np.testing.assert_array_equal(vg.sigmoid([0.0]).value, [0.5])


@pytest.mark.parametrize('bad', [[[1.0], [2.0, 3.0]], None, {'a': 1}, object()],
                         ids=['ragged list', 'None', 'dict', 'object'])
def test_what_cannot_be_an_array_raises_input_type_error(bad):
    with pytest.raises(InputTypeError, match='NumPy array'):
        vg.TensorNode(bad)
    with pytest.raises(InputTypeError, match=r'Add: .*NumPy array'):
        vg.TensorNode(np.ones(2)) + bad


def test_a_node_of_a_node_says_what_to_do():
    with pytest.raises(InputTypeError, match=r'\.value'):
        vg.TensorNode(vg.TensorNode(np.ones(2)))


def test_a_string_array_is_rejected_up_front():
    with pytest.raises(InputTypeError):
        vg.TensorNode(np.array(['a', 'b']))


# ---------------------------------------------------------------------- read-only, non-contiguous

def test_read_only_inputs_are_never_written():
    a = np.linspace(-1, 1, 6).reshape(2, 3)
    a.flags.writeable = False
    x = vg.TensorNode(a)
    loss = (vg.sigmoid(x) * x).sum() + vg.cross_entropy(x, np.array([0, 2]))
    loss.backward()
    assert not a.flags.writeable and np.array_equal(a, np.linspace(-1, 1, 6).reshape(2, 3))
    assert x.grad.flags.writeable


def test_a_parameter_made_from_a_read_only_array_can_be_updated():
    a = np.ones(3)
    a.flags.writeable = False
    p = vg.TensorNode(a)
    (p * 2.0).sum().backward()
    p.value -= 0.1 * p.grad
    np.testing.assert_allclose(p.value, 0.8)


def test_views_and_fortran_order_give_the_gradients_of_copies():
    base = np.random.default_rng(0).standard_normal((6, 8))
    views = [base[::2, 1::3], base.T, np.asfortranarray(base), base[:, ::-1]]
    for v in views:
        x, c = vg.TensorNode(v), vg.TensorNode(np.ascontiguousarray(v))
        for node in (x, c):
            (vg.tanh(node @ np.ones((node.value.shape[1], 2))).sum() + node.max()).backward()
        np.testing.assert_allclose(x.grad, c.grad, rtol=1e-13)
        assert x.grad.shape == v.shape


# ---------------------------------------------------------------------- messages

@pytest.mark.parametrize('call, error, hint', [
    (lambda: vg.TensorNode(np.ones(2)) + vg.TensorNode(np.ones(3)), ShapeError, 'Reshape'),
    (lambda: vg.TensorNode(np.ones((2, 3))) @ vg.TensorNode(np.ones((2, 3))), ShapeError,
     'Transpose'),
    (lambda: vg.TensorNode(np.ones(2)).reshape(3), ShapeError, r'\(3,\)'),
    (lambda: vg.TensorNode(np.ones(2)).sum(axis=2), ShapeError, 'integer from -1 to 0'),
    (lambda: vg.TensorNode(np.ones((2, 2))).sum(axis=(0, -2)), ShapeError, 'twice'),
    (lambda: vg.softmax(vg.TensorNode(np.ones(2)), axis=1), ShapeError, 'integer from -1 to 0'),
    (lambda: vg.softmax(vg.TensorNode(np.array(1.0))), ShapeError, 'reshape'),
    (lambda: vg.ops.Squeeze.do_forward(vg.TensorNode(np.ones(2)), dim=3), ShapeError,
     'integer from -1 to 0'),
    (lambda: vg.ops.Squeeze.do_forward(vg.TensorNode(np.ones(2)), dim=0), ShapeError, 'size 1'),
    (lambda: vg.ops.Unsqueeze.do_forward(vg.TensorNode(np.ones(2)), dim=3), ShapeError,
     'integer from -2 to 1'),
    (lambda: vg.ops.Expand.do_forward(vg.TensorNode(np.ones(2)), dim=1, repeats=2), ShapeError,
     'integer from -1 to 0'),
    (lambda: vg.TensorNode(np.ones((2, 3))).transpose(0, 0), ShapeError, 'permutation'),
    (lambda: vg.TensorNode(np.ones((0, 3))).max(axis=0), ShapeError, 'length 0'),
    (lambda: vg.TensorNode(np.ones(2))[5], ShapeError, 'out of bounds'),
    (lambda: vg.TensorNode(np.ones(2)).backward(), BackwardError, r'out\.sum\(\)'),
    (lambda: vg.TensorNode(np.ones(2)).backward(gradient=np.ones(3)), ShapeError, 'equal'),
    (lambda: vg.ops.Normalize.do_forward(vg.TensorNode(np.ones(3))), ShapeError, 'matrix'),
])
def test_errors_name_the_problem_and_what_to_do(call, error, hint):
    with pytest.raises(error, match=hint) as info:
        call()
    assert isinstance(info.value, VugradError)


# ---------------------------------------------------------------------- under python -O

SCRIPT = '''
import json, numpy as np, vugrad as vg
T = vg.TensorNode
cases = {
    'broadcast': lambda: T(np.ones(2)) + T(np.ones(3)),
    'matmul': lambda: T(np.ones((2, 3))) @ T(np.ones((2, 3))),
    'axis': lambda: T(np.ones(2)).sum(axis=5),
    'softmax axis': lambda: vg.softmax(T(np.ones(2)), axis=3),
    'squeeze dim': lambda: vg.ops.Squeeze.do_forward(T(np.ones(2)), dim=3),
    'transpose axes': lambda: T(np.ones((2, 3))).transpose(0, 0),
    'select index': lambda: vg.ops.Select.do_forward(T(np.ones((2, 3))), indices=[0, 7]),
    'targets': lambda: vg.cross_entropy(T(np.ones((2, 3))), [0.0, 1.0]),
    'negate bool': lambda: -T(np.array([True])),
    'int grad': lambda: T(np.arange(2), requires_grad=True),
    'not an array': lambda: T(None),
    'backward non-scalar': lambda: T(np.ones(2)).backward(),
}

def saved():
    x = T(np.ones(2)); loss = (x * x).sum(); x.value -= 1; loss.backward()

def anomaly():
    with vg.detect_anomaly():
        vg.log(T(np.zeros(1)))

cases['saved array'] = saved
cases['anomaly'] = anomaly
out = {}
for name, call in cases.items():
    try:
        call()
        out[name] = None
    except vg.VugradError as e:
        out[name] = type(e).__name__
    except Exception as e:
        out[name] = 'not a VugradError: ' + type(e).__name__
print(json.dumps({'optimize': __debug__ is False, 'errors': out}))
'''

EXPECTED = {
    'broadcast': 'ShapeError', 'matmul': 'ShapeError', 'axis': 'ShapeError',
    'softmax axis': 'ShapeError', 'squeeze dim': 'ShapeError', 'transpose axes': 'ShapeError',
    'select index': 'ShapeError', 'targets': 'ShapeError', 'negate bool': 'InputTypeError',
    'int grad': 'NoGradientError', 'not an array': 'InputTypeError',
    'backward non-scalar': 'BackwardError', 'saved array': 'SavedArrayModifiedError',
    'anomaly': 'AnomalyError',
}


@pytest.mark.parametrize('flags', [['-O'], []], ids=['python -O', 'python'])
def test_errors_are_raised_with_and_without_python_O(flags):
    result = subprocess.run([sys.executable, *flags, '-c', textwrap.dedent(SCRIPT)],
                            capture_output=True, text=True, timeout=120, check=True,
                            cwd=str(Path(vg.__file__).parents[1]))
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['optimize'] is (flags == ['-O'])
    assert report['errors'] == EXPECTED
