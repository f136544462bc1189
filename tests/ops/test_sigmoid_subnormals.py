"""
Sigmoid's backward leaves no subnormal numbers: a saturated sigmoid (MNIST's raw pixels make
many) has a derivative near the smallest normal float, and times the upstream gradient that
gave subnormals, which made the next matrix product of backward up to 100 times slower
(benchmarks/bench_epochs.py --runs mlp: 35.5 s an epoch before, 7.2 s after).
"""

import numpy as np
import pytest

import vugrad as vg


def subnormal(a):
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_a_saturated_sigmoid_sends_back_no_subnormals(dtype):
    x = vg.TensorNode(np.array([-1000.0, -100.0, -90.0, -80.0, -5.0, 0.0, 5.0], dtype=dtype))
    go = np.full(x.value.shape, 0.3, dtype=dtype)
    vg.sigmoid(x).backward(gradient=go)
    assert not subnormal(x.grad).any(), x.grad
    # -- what is kept is the exact derivative: sigma (1 - sigma) go
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-x.value.astype(np.float64)))
    expected = s * (1 - s) * 0.3
    normal = np.abs(expected) >= np.finfo(dtype).tiny
    np.testing.assert_allclose(x.grad[normal], expected[normal], rtol=1e-5)
    assert np.all(np.abs(x.grad[~normal]) < np.finfo(dtype).tiny)


def test_nan_and_inf_in_the_upstream_gradient_stay():
    x = vg.TensorNode(np.array([0.0, 0.0, -100.0], dtype=np.float32))
    vg.sigmoid(x).backward(gradient=np.array([np.nan, np.inf, 1.0], dtype=np.float32))
    assert np.isnan(x.grad[0]) and np.isinf(x.grad[1]) and not subnormal(x.grad).any()


def test_the_gradient_of_a_saturated_layer_matches_pytorch():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 5)) * 200).astype(np.float32)    # -- raw-pixel-like scale
    go = rng.standard_normal((8, 5)).astype(np.float32)
    node = vg.TensorNode(x)
    vg.sigmoid(node).backward(gradient=go)
    t = torch.tensor(x, requires_grad=True)
    torch.sigmoid(t).backward(torch.tensor(go))
    # -- far below 0 vugrad's sigmoid stays at the smallest normal float where PyTorch's decays
    #    to 0 (ops/elementwise.py): the two differ by less than 1e-37
    np.testing.assert_allclose(node.grad, t.grad.numpy(), rtol=1e-5, atol=1e-37)
