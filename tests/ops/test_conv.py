"""
Conv2d, MaxPool2d and AvgPool2d against PyTorch in float64 (values and every gradient), with
vugrad.gradcheck, on ties for max pooling, and for the work skipped for constant inputs.
"""

import numpy as np
import pytest

torch = pytest.importorskip('torch')
F = torch.nn.functional

import vugrad as vg
from vugrad.errors import InvalidArgumentError, ShapeError
from vugrad.ops import AvgPool2d, Conv2d, MaxPool2d


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, atol=1e-12, rtol=1e-10, equal_nan=True,
                               err_msg=what)


def _compare(fn, ref, arrays, seed=0):
    """fn(*nodes) against ref(*tensors): the forward value and the gradient of every input."""
    nodes = [vg.TensorNode(a.copy()) for a in arrays]
    tensors = [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
    out, tout = fn(*nodes), ref(*tensors)
    assert out.value.shape == tuple(tout.shape)
    _close(out.value, tout.detach().numpy(), 'forward')
    gout = np.random.default_rng(seed).standard_normal(out.value.shape)
    out.backward(gradient=gout)
    tout.backward(torch.from_numpy(gout))
    for i, (x, t) in enumerate(zip(nodes, tensors)):
        assert np.any(x.grad != 0) or not np.any(t.grad.numpy()), f'input {i} got no gradient'
        _close(x.grad, t.grad.numpy(), f'gradient of input {i}')
    return out, nodes


# ---------------------------------------------------------------------- conv2d

CONV = [
    # x shape, w shape, bias, stride, padding
    ((2, 3, 7, 7), (4, 3, 3, 3), True, 1, 0),
    ((2, 3, 8, 7), (4, 3, 3, 3), True, 2, 0),
    ((2, 3, 7, 7), (4, 3, 3, 3), True, 1, 1),
    ((2, 3, 7, 8), (4, 3, 3, 3), True, 2, 1),
    ((2, 2, 6, 6), (3, 2, 5, 5), True, 1, 2),
    ((2, 3, 7, 9), (4, 3, 2, 4), True, 1, 1),      # non-square kernel
    ((2, 3, 7, 9), (4, 3, 5, 2), True, 2, 2),
    ((3, 5, 6, 4), (2, 5, 1, 1), True, 1, 0),      # 1x1 kernel
    ((3, 5, 6, 4), (2, 5, 1, 1), True, 2, 1),
    ((2, 3, 5, 6), (4, 3, 5, 6), True, 1, 0),      # the kernel as large as the image
    ((2, 3, 5, 6), (4, 3, 3, 3), False, 1, 1),     # no bias
    ((2, 3, 9, 8), (4, 3, 3, 2), True, (2, 1), (1, 0)),   # pairs
    ((2, 3, 9, 8), (4, 3, 3, 2), False, (1, 3), (2, 1)),
]


@pytest.mark.parametrize('xs, ws, bias, stride, padding', CONV,
                         ids=[f'{x}-{w}-b{int(b)}-s{s}-p{p}'.replace(' ', '')
                              for x, w, b, s, p in CONV])
def test_conv2d_matches_torch(xs, ws, bias, stride, padding):
    rng = np.random.default_rng(len(xs) + sum(ws))
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws)]
    if bias:
        arrays.append(rng.standard_normal(ws[0]))
    _compare(lambda *a: vg.conv2d(*a, stride=stride, padding=padding),
             lambda *t: F.conv2d(*t, stride=stride, padding=padding), arrays)


def test_conv2d_constant_input():
    rng = np.random.default_rng(1)
    _compare(lambda x, w, b: vg.conv2d(x, w, b, padding=1),
             lambda x, w, b: F.conv2d(x, w, b, padding=1),
             [np.full((2, 3, 5, 5), 0.5), rng.standard_normal((2, 3, 3, 3)),
              rng.standard_normal(2)])


def test_conv2d_keeps_float32():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = vg.TensorNode(rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    b = vg.TensorNode(np.zeros(4, np.float32))
    out = vg.conv2d(x, w, b, stride=2, padding=1)
    assert out.value.dtype == np.float32
    out.sum().backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w.value), stride=2, padding=1)
    np.testing.assert_allclose(out.value, expected.numpy(), atol=1e-5, rtol=1e-4)


def test_conv2d_skips_dx_for_a_constant_input(monkeypatch):
    """The image batch is a constant: backward neither computes nor keeps anything for it."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    context = {}
    context['needs_input_grad'] = (False, True, True)
    out = Conv2d.forward(context, x, w, b, padding=1)
    assert context['w'] is None       # -- the weights are kept only for dx
    gx, gw, gb = Conv2d.backward(context, np.ones_like(out))
    assert gx is None and gw.shape == w.shape and gb.shape == b.shape

    # -- and in a graph: the op's backward returns None for the image batch, and makes one
    #    matrix product (dW) instead of two
    returned, products = [], []
    backward, matmul = Conv2d.backward, np.matmul
    monkeypatch.setattr(Conv2d, 'backward', staticmethod(
        lambda context, go: returned.append(backward(context, go)) or returned[-1]))
    monkeypatch.setattr(np, 'matmul', lambda *a: products.append(1) or matmul(*a))
    W = vg.TensorNode(w)
    loss = vg.conv2d(x, W, b, padding=1).sum()
    products.clear()
    loss.backward()
    assert returned[-1][0] is None and len(products) == 1
    loss = vg.conv2d(vg.TensorNode(x), W, b, padding=1).sum()
    products.clear()
    loss.backward()
    assert returned[-1][0] is not None and len(products) == 2


def test_conv2d_skips_dw_and_db_for_constant_weights():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    context = {}
    context['needs_input_grad'] = (True, False, False)
    out = Conv2d.forward(context, x, w, b)
    assert context['cols'] is None    # -- the im2col matrix is kept only for dW
    gx, gw, gb = Conv2d.backward(context, np.ones_like(out))
    assert gw is None and gb is None and gx.shape == x.shape
    context = {}
    context['needs_input_grad'] = (True, False)
    out = Conv2d.forward(context, x, w)
    assert Conv2d.backward(context, np.ones_like(out))[1] is None


def test_conv2d_under_no_grad_keeps_nothing():
    rng = np.random.default_rng(5)
    w = vg.TensorNode(rng.standard_normal((4, 3, 3, 3)))
    with vg.no_grad():
        out = vg.conv2d(rng.standard_normal((2, 3, 6, 6)), w)
    assert out.source is None and not out.requires_grad


# ---------------------------------------------------------------------- pooling

POOL = [(2, 2), (2, None), (3, 2), (3, 1), ((2, 3), (1, 2)), (3, 3)]
POOL_IDS = [f'k{k}-s{s}'.replace(' ', '') for k, s in POOL]


def _ties(rng, shape):
    """After a ReLU: many exact zeros, and small integers repeated within windows."""
    return np.maximum(rng.integers(-3, 3, size=shape), 0).astype(np.float64)


@pytest.mark.parametrize('kernel, stride', POOL, ids=POOL_IDS)
@pytest.mark.parametrize('shape', [(2, 3, 8, 8), (2, 2, 7, 9)], ids=['8x8', '7x9'])
def test_max_pool2d_with_ties_matches_torch(shape, kernel, stride):
    rng = np.random.default_rng(6)
    x = _ties(rng, shape)
    assert (x == 0).mean() > 0.4     # -- ties everywhere: the first maximum gets the gradient
    _compare(lambda x: vg.max_pool2d(x, kernel, stride),
             lambda x: F.max_pool2d(x, kernel, stride), [x])
    _compare(lambda x: vg.max_pool2d(vg.relu(x), kernel, stride),
             lambda x: F.max_pool2d(torch.relu(x), kernel, stride),
             [rng.standard_normal(shape)])


def test_max_pool2d_all_equal_window_gives_the_first_element_the_gradient():
    x = vg.TensorNode(np.ones((1, 1, 2, 4)))
    vg.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1, 0, 1, 0], [0, 0, 0, 0]]]]


def test_max_pool2d_nan_is_the_maximum_as_in_torch():
    x = np.random.default_rng(11).standard_normal((1, 2, 5, 6))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = x[0, 1, 2, 2] = x[0, 1, 4, 5] = np.nan
    for kernel, stride in [(2, 2), (3, 1)]:
        out, (node,) = _compare(lambda x: vg.max_pool2d(x, kernel, stride),
                                lambda x: F.max_pool2d(x, kernel, stride), [x])
        assert np.isnan(out.value).any()


@pytest.mark.parametrize('kernel, stride', POOL, ids=POOL_IDS)
def test_avg_pool2d_matches_torch(kernel, stride):
    x = np.random.default_rng(7).standard_normal((2, 3, 7, 9))
    _compare(lambda x: vg.avg_pool2d(x, kernel, stride),
             lambda x: F.avg_pool2d(x, kernel, stride), [x])


def test_pooling_keeps_float32():
    x = vg.TensorNode(np.random.default_rng(8).standard_normal((1, 2, 4, 4)).astype(np.float32))
    for fn in (vg.max_pool2d, vg.avg_pool2d):
        x.grad = None
        out = fn(x, 2)
        out.sum().backward()
        assert out.value.dtype == np.float32 and x.grad.dtype == np.float32


# ---------------------------------------------------------------------- gradcheck

def test_gradcheck_conv2d():
    rng = np.random.default_rng(9)
    assert vg.gradcheck(lambda x, w, b: vg.conv2d(x, w, b, stride=(2, 1), padding=1),
                        rng.standard_normal((2, 2, 4, 5)), rng.standard_normal((3, 2, 3, 2)),
                        rng.standard_normal(3))
    assert vg.gradcheck(lambda x, w: vg.conv2d(x, w), rng.standard_normal((1, 2, 3, 3)),
                        rng.standard_normal((2, 2, 2, 2)))


def test_gradcheck_pooling():
    rng = np.random.default_rng(10)
    # -- distinct values, far apart: a finite-difference step never changes the maximum
    x = (rng.permutation(2 * 2 * 5 * 5) * 0.1).reshape(2, 2, 5, 5)
    assert vg.gradcheck(lambda x: vg.max_pool2d(x, 3, 1), x)
    assert vg.gradcheck(lambda x: vg.max_pool2d(x, 2), x)
    assert vg.gradcheck(lambda x: vg.avg_pool2d(x, 3, 2), rng.standard_normal((2, 2, 5, 5)))


# ---------------------------------------------------------------------- mistakes

@pytest.mark.parametrize('xs, ws, match', [
    ((3, 7, 7), (4, 3, 3, 3),                                                   # no batch axis
     r'conv2d.*\(3, 7, 7\).*\(4, 3, 3, 3\).*add a batch axis: x\.reshape\(1, \*x\.shape\)'),
    ((2, 3, 7, 7), (4, 3, 3), r'conv2d.*\(2, 3, 7, 7\).*\(4, 3, 3\)'),
    ((2, 3, 7, 7), (4, 2, 3, 3), r'conv2d.*\(2, 3, 7, 7\).*\(4, 2, 3, 3\).*same C'),
    ((2, 3, 4, 4), (4, 3, 5, 3), r'conv2d.*5x3.*\(4, 3, 5, 3\).*\(2, 3, 4, 4\)'),
])
def test_conv2d_shape_errors_name_the_shapes(xs, ws, match):
    with pytest.raises(ShapeError, match=match):
        vg.conv2d(vg.TensorNode(np.zeros(xs)), vg.TensorNode(np.zeros(ws)))


def test_conv2d_bias_and_argument_errors():
    x, w = np.zeros((2, 3, 7, 7)), vg.TensorNode(np.zeros((4, 3, 3, 3)))
    with pytest.raises(ShapeError, match=r'conv2d.*\(3,\).*\(4, 3, 3, 3\)'):
        vg.conv2d(x, w, np.zeros(3))
    for bad in [{'stride': 0}, {'stride': (1, 2, 3)}, {'padding': -1}, {'stride': 1.5},
                {'padding': (1, None)}]:
        with pytest.raises(InvalidArgumentError, match='conv2d'):
            vg.conv2d(x, w, **bad)
    # -- padding makes room for a kernel larger than the image
    assert vg.conv2d(np.zeros((1, 3, 2, 2)), w, padding=1).shape == (1, 4, 2, 2)


def test_pooling_errors():
    x = vg.TensorNode(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ShapeError, match=r'max_pool2d.*5x5.*\(2, 3, 4, 4\)'):
        vg.max_pool2d(x, 5)
    with pytest.raises(ShapeError, match=r'avg_pool2d.*\(3, 4, 4\)'):
        vg.avg_pool2d(np.zeros((3, 4, 4)), 2)
    with pytest.raises(InvalidArgumentError, match='max_pool2d'):
        vg.max_pool2d(x, 0)
    with pytest.raises(InvalidArgumentError, match='avg_pool2d'):
        vg.avg_pool2d(x, 2, stride=0)
    assert MaxPool2d is vg.MaxPool2d and AvgPool2d is vg.AvgPool2d


@pytest.mark.parametrize('pool', [
    vg.max_pool2d, vg.avg_pool2d,
    lambda x, k: vg.nn.MaxPool2d(k)(x), lambda x, k: vg.nn.AvgPool2d(k)(x)],
    ids=['max_pool2d', 'avg_pool2d', 'nn.MaxPool2d', 'nn.AvgPool2d'])
def test_pooling_an_image_without_its_batch_axis_says_so(pool):
    # -- the rank is what is wrong (not the window, which fits): the message says what the op
    #    expected and how to add the missing axes
    x = np.ones((3, 5, 5))
    with pytest.raises(ShapeError, match=r'pool2d: the input has shape \(3, 5, 5\); expected '
                       r'\(N, C, H, W\).*add a batch axis: x\.reshape\(1, \*x\.shape\)') as info:
        pool(vg.TensorNode(x), 2)
    assert 'does not fit' not in str(info.value)
    with pytest.raises(ShapeError, match=r'\(5, 5\).*x\.reshape\(1, 1, \*x\.shape\)'):
        pool(x[0], 2)
    assert pool(x.reshape(1, *x.shape), 2).shape == (1, 3, 2, 2)
