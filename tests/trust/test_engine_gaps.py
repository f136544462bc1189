"""
Engine bugs the trust suite found (the random-graph fuzzer and the op table), fixed in the core
(vugrad/core.py, f97c871) and kept here as regression tests, each against PyTorch or the exact
answer: the topological order of backward (h + f(h) lost f's contribution), gradient sums of 0-d
nodes (a NumPy scalar lost later contributions), gradient arrays shared between leaves or with
the caller.
"""

import numpy as np
import pytest

torch = pytest.importorskip('torch')   # -- the trust suite compares with PyTorch

import vugrad as vg  # noqa: E402


def _residual(order):
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((2, 3)), rng.standard_normal((3, 3))
    x = vg.TensorNode(xv.copy())
    h = vg.tanh(x)
    f = vg.tanh(h @ wv)
    (h + f if order == 'h + f(h)' else f + h).sum().backward()

    t = torch.from_numpy(xv.copy()).requires_grad_(True)
    th = torch.tanh(t)
    tf = torch.tanh(th @ torch.from_numpy(wv))
    (th + tf).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_h_plus_f_of_h_gets_the_full_gradient():
    _residual('h + f(h)')


def test_f_of_h_plus_h_gets_the_full_gradient():
    # -- the same graph with the operands swapped (the walk must not depend on operand order)
    _residual('f(h) + h')


def test_a_0d_node_used_three_times_gets_every_contribution():
    x = vg.TensorNode(np.array(0.5))
    (x * 1.0 + x * 2.0 + x * 3.0).backward()
    assert x.grad == 6.0


def test_the_grad_of_a_0d_node_stays_an_array():
    x = vg.TensorNode(np.array(0.5))
    (x * 2.0).backward()
    (x * 2.0).backward()
    assert type(x.grad) is np.ndarray and x.grad == 4.0


def test_two_leaves_never_share_a_gradient_array():
    a, b = vg.TensorNode(np.ones(3)), vg.TensorNode(np.ones(3))
    ((a + b) * 2.0).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)


def test_the_gradient_passed_to_backward_is_not_kept():
    x = vg.TensorNode(np.ones(3))
    y = x * 1.0
    g = np.ones(3)
    y.backward(gradient=g)
    assert not np.shares_memory(y.grad, g)
