"""vugrad.nn.Conv2d, MaxPool2d, AvgPool2d, Flatten: torch.nn's names, shapes, initialization
and values; a small convolutional network takes the same steps as its PyTorch twin."""

import numpy as np
import pytest

import vugrad as vg
from vugrad.errors import InvalidArgumentError
from vugrad.nn import BatchNorm2d, Linear, ReLU, Sequential
from vugrad.nn.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d

torch = pytest.importorskip('torch')


def test_conv2d_parameters_and_default_init():
    np.random.seed(0)
    conv = Conv2d(3, 6, 5)
    assert conv.w.value.shape == (6, 3, 5, 5) and conv.b.value.shape == (6,)
    assert conv.w.value.dtype == np.float32
    bound = 1 / np.sqrt(3 * 5 * 5)
    for p in (conv.w.value, conv.b.value):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound
    assert [n for n, _ in conv.named_parameters()] == ['w', 'b']
    assert Conv2d(3, 6, (3, 2), bias=False).b is None
    assert Conv2d(1, 1, 2, init=lambda shape, dtype: np.ones(shape, dtype)).w.value.sum() == 4


@pytest.mark.parametrize('args', [(0, 6, 5), (3, 6, 0), (3, 6, 5, 0), (3, 6, 5, 1, -1)])
def test_conv2d_bad_settings(args):
    with pytest.raises(InvalidArgumentError):
        Conv2d(*args)


def _twins(seed=0):
    """A LeNet-like stack with batch norm and average pooling, in vugrad and in PyTorch."""
    np.random.seed(seed)
    f64 = np.float64
    ours = Sequential(Conv2d(2, 4, 3, padding=1, dtype=f64), BatchNorm2d(4, dtype=f64), ReLU(),
                      MaxPool2d(2), Conv2d(4, 3, 2, stride=1, dtype=f64), ReLU(),
                      AvgPool2d(2, 1), Flatten(), Linear(12, 3, dtype=f64))
    ref = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 3, 2),
                              torch.nn.ReLU(), torch.nn.AvgPool2d(2, 1), torch.nn.Flatten(),
                              torch.nn.Linear(12, 3)).double()
    with torch.no_grad():
        for i in (0, 4):
            ref[i].weight.copy_(torch.from_numpy(ours.layers[i].w.value))
            ref[i].bias.copy_(torch.from_numpy(ours.layers[i].b.value))
        ref[8].weight.copy_(torch.from_numpy(ours.layers[8].w.value))
        ref[8].bias.copy_(torch.from_numpy(ours.layers[8].b.value.reshape(-1)))
    return ours, ref


def test_a_small_cnn_takes_the_same_steps_as_pytorch():
    ours, ref = _twins()
    rng = np.random.default_rng(1)
    opt = vg.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    for _ in range(5):
        x = rng.normal(size=(4, 2, 8, 8))
        y = rng.integers(0, 3, 4)
        loss = vg.cross_entropy(ours(x), y, reduction='mean')
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss.clear()
        tloss = torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-9)
    np.testing.assert_allclose(ours.layers[0].w.value, ref[0].weight.detach().numpy(), rtol=1e-8,
                               atol=1e-10)
    np.testing.assert_allclose(ours.layers[1].running_var, ref[1].running_var.numpy(), rtol=1e-9)


def test_flatten_and_pooling_shapes():
    x = vg.TensorNode(np.zeros((2, 3, 8, 6)))
    assert MaxPool2d(2)(x).value.shape == (2, 3, 4, 3)
    assert AvgPool2d(3, 1)(x).value.shape == (2, 3, 6, 4)
    assert Flatten()(x).value.shape == (2, 144)


def test_flatten_an_empty_batch_as_pytorch():
    x = vg.TensorNode(np.zeros((0, 3, 4)))
    out = Flatten()(x)
    assert out.value.shape == tuple(torch.nn.Flatten()(torch.zeros(0, 3, 4)).shape) == (0, 12)
    # -- and the gradient path: through the Flatten and a Linear layer after it
    layer = Linear(12, 2, dtype=np.float64)
    loss = layer(out).sum()
    loss.backward()
    assert x.grad.shape == (0, 3, 4) and not layer.w.grad.any()


def test_a_residual_block_adds_its_input():
    np.random.seed(0)
    from vugrad.nn import Residual
    block = Sequential(Conv2d(3, 3, 3, padding=1, dtype=np.float64), ReLU(),
                       Conv2d(3, 3, 3, padding=1, dtype=np.float64))
    res = Residual(block, activation=ReLU())
    x = vg.TensorNode(np.random.default_rng(0).normal(size=(2, 3, 5, 5)))
    np.testing.assert_allclose(res(x).value, np.maximum(block(x).value + x.value, 0))
    assert [n for n, _ in res.named_parameters()] == ['block.layers.0.w', 'block.layers.0.b',
                                                      'block.layers.2.w', 'block.layers.2.b']
    assert vg.gradcheck(lambda x: Residual(block)(x).sum(), np.random.default_rng(1).normal(
        size=(1, 3, 4, 4)))
