"""
Numerical stability: softmax, log-softmax and the cross-entropy losses at logits of +-1000 and on
rows of equal logits, sigmoid and tanh at +-1000: finite values and gradients that agree with
PyTorch, without a NumPy warning. And what log(0) and division by zero give (NumPy's inf and
NaN, as the ops' docstrings say; PyTorch gives the same).
"""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip('torch')   # -- the trust suite compares with PyTorch
F = torch.nn.functional

import vugrad as vg  # noqa: E402

LOGITS = np.array([[1000.0, -1000.0, 0.0],
                   [-1000.0, 1000.0, 1000.0],      # -- a tie at the top
                   [5.0, 5.0, 5.0],                # -- equal logits
                   [1000.0, 1000.0, 1000.0],
                   [-1000.0, -1000.0, -1000.0],
                   [0.0, 1e-3, -1e-3]])
TARGETS = np.array([1, 0, 2, 1, 0, 2])

FUNCTIONS = {
    'softmax': (vg.softmax, lambda x: torch.softmax(x, -1)),
    'logsoftmax': (vg.logsoftmax, lambda x: torch.log_softmax(x, -1)),
    'cross_entropy': (lambda x: vg.cross_entropy(x, TARGETS),
                      lambda x: F.cross_entropy(x, torch.from_numpy(TARGETS), reduction='sum')),
    'cross_entropy(mean)': (lambda x: vg.cross_entropy(x, TARGETS, reduction='mean'),
                            lambda x: F.cross_entropy(x, torch.from_numpy(TARGETS))),
    'logceloss(logsoftmax)': (lambda x: vg.logceloss(vg.logsoftmax(x), TARGETS),
                              lambda x: F.nll_loss(torch.log_softmax(x, -1),
                                                   torch.from_numpy(TARGETS), reduction='sum')),
    'sigmoid': (vg.sigmoid, torch.sigmoid),
    'tanh': (vg.tanh, torch.tanh),
}
TOL = {np.float64: 1e-12, np.float32: 1e-6}


@pytest.fixture
def strict_numpy():
    """Every NumPy floating-point warning becomes an error (overflow, invalid, divide)."""
    with np.errstate(over='raise', invalid='raise', divide='raise'), warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        yield


@pytest.mark.parametrize('dtype', [np.float64, np.float32], ids=['float64', 'float32'])
@pytest.mark.parametrize('name', list(FUNCTIONS))
def test_extreme_and_equal_logits_give_finite_values_and_gradients(name, dtype, strict_numpy):
    fn, ref = FUNCTIONS[name]
    x = vg.TensorNode(LOGITS.astype(dtype))
    out = fn(x)
    gout = np.random.default_rng(0).standard_normal(out.value.shape).astype(dtype)
    out.backward(gradient=gout)
    assert np.all(np.isfinite(out.value)) and np.all(np.isfinite(x.grad))
    assert out.value.dtype == dtype and x.grad.dtype == dtype

    t = torch.from_numpy(LOGITS.astype(dtype)).requires_grad_(True)
    tout = ref(t)
    tout.backward(torch.from_numpy(gout))
    tol = TOL[dtype]
    np.testing.assert_allclose(out.value, tout.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=tol, atol=tol)


def test_equal_logits_give_the_uniform_distribution():
    x = vg.TensorNode(np.full((2, 4), 1000.0))
    np.testing.assert_array_equal(vg.softmax(x).value, 0.25)
    np.testing.assert_allclose(vg.logsoftmax(x).value, np.log(0.25), rtol=1e-15)
    loss = vg.cross_entropy(x, np.array([0, 3]))
    loss.backward()
    np.testing.assert_allclose(loss.value, 2 * np.log(4), rtol=1e-15)
    np.testing.assert_allclose(x.grad, [[-0.75, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, -0.75]])


@pytest.mark.parametrize('dtype', [np.float64, np.float32], ids=['float64', 'float32'])
def test_sigmoid_and_tanh_saturate_exactly(dtype, strict_numpy):
    x = vg.TensorNode(np.array([-1000.0, 1000.0], dtype=dtype))
    s, t = vg.sigmoid(x), vg.tanh(x)
    # -- sigmoid(-1000) is the smallest normal float rather than PyTorch's 0 (Sigmoid's
    #    docstring): equal within 4 * tiny
    tiny = 4 * np.finfo(dtype).tiny
    np.testing.assert_allclose(s.value, [0.0, 1.0], rtol=0, atol=tiny)
    np.testing.assert_array_equal(t.value, [-1.0, 1.0])
    (s.sum() + t.sum()).backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0], rtol=0, atol=tiny)
    assert 'smallest normal float' in vg.ops.Sigmoid.__doc__


def test_celoss_from_probabilities_is_the_unstable_one():
    # -- celoss takes log of softmax's output: an underflowed probability gives log(0) = inf
    #    loss. Its docstring says so and points to logsoftmax + logceloss or cross_entropy.
    x = vg.TensorNode(np.array([[1000.0, -1000.0]]))
    loss = vg.celoss(vg.softmax(x), np.array([1]))
    assert loss.value == np.inf
    assert 'unstable' in vg.celoss.__doc__ and 'cross_entropy' in vg.celoss.__doc__
    stable = vg.cross_entropy(vg.TensorNode(x.value), np.array([1]))
    assert stable.value == 2000.0


# ---------------------------------------------------------------------- log(0), division by 0

def _both(fn_vg, fn_torch, *values):
    xs = [vg.TensorNode(np.array(v, dtype=np.float64)) for v in values]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out, tout = fn_vg(*xs), fn_torch(*ts)
    out.backward(gradient=np.ones(out.value.shape))
    tout.backward(torch.ones(tout.shape, dtype=torch.float64))
    return out, xs, tout, ts


def test_log_of_zero_and_of_negatives_follows_numpy_and_pytorch():
    out, (x,), tout, (t,) = _both(vg.log, torch.log, [0.0, -1.0, 2.0])
    np.testing.assert_array_equal(out.value, [-np.inf, np.nan, np.log(2.0)])
    np.testing.assert_array_equal(x.grad, [np.inf, -1.0, 0.5])     # -- d log x = 1/x
    np.testing.assert_array_equal(out.value, tout.detach().numpy())
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    assert 'log(0) is -inf' in vg.ops.Log.__doc__


def test_log_of_zero_warns_as_numpy_does():
    with np.errstate(divide='warn'), pytest.warns(RuntimeWarning, match='divide by zero'):
        vg.log(vg.TensorNode(np.array([0.0])))


def test_division_by_zero_follows_numpy_and_pytorch():
    out, (a, b), tout, (ta, tb) = _both(lambda a, b: a / b, torch.div,
                                        [1.0, -1.0, 0.0, 3.0], [0.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(out.value, [np.inf, -np.inf, np.nan, 1.5])
    np.testing.assert_array_equal(a.grad, [np.inf, np.inf, np.inf, 0.5])         # -- 1/b
    np.testing.assert_array_equal(b.grad, [-np.inf, np.inf, np.nan, -0.75])      # -- -a/b^2
    np.testing.assert_array_equal(out.value, tout.detach().numpy())
    np.testing.assert_array_equal(a.grad, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())
    assert 'x/0 is +-inf and 0/0 is NaN' in vg.ops.Divide.__doc__


def test_sqrt_of_zero_has_an_infinite_gradient_as_in_pytorch():
    out, (x,), _, (t,) = _both(vg.sqrt, torch.sqrt, [0.0, 4.0])
    np.testing.assert_array_equal(out.value, [0.0, 2.0])
    np.testing.assert_array_equal(x.grad, [np.inf, 0.25])
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_power_edges_follow_pytorch():
    # -- x ** 0 has gradient 0 also at x = 0; 0 ** b for b < 0 is inf, its b-gradient -inf
    _, (x,), _, (t,) = _both(lambda x: x ** 0, lambda x: x ** 0, [0.0, 2.0])
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    out, (a, b), tout, (ta, tb) = _both(lambda a, b: a ** b, torch.pow,
                                        [0.0, 0.0, 0.0, 2.0, -1.0], [-1.0, 0.0, 2.0, 0.0, 2.0])
    np.testing.assert_array_equal(out.value, tout.detach().numpy())
    np.testing.assert_array_equal(a.grad, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())


@pytest.mark.parametrize('axis', [None, 0, 1])
def test_max_over_nan_matches_amax(axis):
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 5.0]])
    v = vg.TensorNode(x)
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)     # -- and without a NumPy warning
        out = vg.max(v, axis=axis)
        out.backward(np.ones(out.value.shape))
    t = torch.tensor(x, requires_grad=True)
    (t.amax() if axis is None else t.amax(dim=axis)).sum().backward()
    np.testing.assert_array_equal(out.value, (t.amax() if axis is None else
                                              t.amax(dim=axis)).detach().numpy())
    np.testing.assert_array_equal(v.grad, t.grad.numpy())     # -- NaN where amax has NaN
