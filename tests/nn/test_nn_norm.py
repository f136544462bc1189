"""vugrad.nn.BatchNorm1d/2d and the BatchNorm op: PyTorch's values, gradients and running
statistics; buffers saved and loaded with the parameters, never given to an optimizer."""

import numpy as np
import pytest

import vugrad as vg
from vugrad.errors import InvalidArgumentError, ShapeError
from vugrad.nn.norm import BatchNorm1d, BatchNorm2d
from vugrad.ops.norm import BatchNorm

torch = pytest.importorskip('torch')


def _pair(cls, tcls, shape, seed=0):
    rng = np.random.default_rng(seed)
    ours = cls(shape[1], momentum=0.1, dtype=np.float64)
    ours.w.value[:] = rng.normal(size=shape[1])
    ours.b.value[:] = rng.normal(size=shape[1])
    ref = tcls(shape[1], momentum=0.1).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.w.value))
        ref.bias.copy_(torch.from_numpy(ours.b.value))
    return ours, ref


@pytest.mark.parametrize('cls, tname, shape', [(BatchNorm1d, 'BatchNorm1d', (8, 3)),
                                                (BatchNorm2d, 'BatchNorm2d', (4, 3, 5, 6))])
def test_train_and_eval_match_pytorch_over_several_steps(cls, tname, shape):
    ours, ref = _pair(cls, getattr(torch.nn, tname), shape)
    rng = np.random.default_rng(1)
    for step in range(4):
        x = rng.normal(loc=step, scale=1 + step, size=shape)
        g = rng.normal(size=shape)
        xv = vg.TensorNode(x)
        out = ours(xv)
        out.backward(g)
        xt = torch.from_numpy(x).requires_grad_()
        outt = ref(xt)
        outt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(out.value, outt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xv.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(ours.w.grad, ref.weight.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(ours.b.grad, ref.bias.grad.numpy(), rtol=1e-9, atol=1e-11)
        ours.zero_grad()
        ref.zero_grad()
        # -- running statistics: biased variance to normalize, unbiased one in the running var
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12)
    ours.eval()
    ref.eval()
    x = rng.normal(size=shape)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(vg.TensorNode(x)).value, expected, rtol=1e-10, atol=1e-12)


def test_the_op_passes_gradcheck():
    rng = np.random.default_rng(0)
    for shape in [(6, 3), (3, 2, 4, 3)]:
        axes = (0,) if len(shape) == 2 else (0, 2, 3)

        def fn(x, w, b):
            return BatchNorm.do_forward(x, w, b, mean=x.value.mean(axis=axes),
                                        var=x.value.var(axis=axes))
        assert vg.gradcheck(fn, rng.normal(size=shape), rng.normal(size=shape[1]),
                            rng.normal(size=shape[1]))


def test_buffers_are_saved_loaded_and_not_parameters(tmp_path):
    model = vg.nn.Sequential(vg.nn.Linear(4, 3), BatchNorm1d(3))
    names = [n for n, _ in model.named_parameters()]
    assert not any('running' in n for n in names)
    assert [n for n, _ in model.named_buffers()] == ['layers.1.running_mean',
                                                     'layers.1.running_var']
    model(vg.TensorNode(np.random.default_rng(0).normal(size=(8, 4))))   # -- moves the stats
    state = model.state_dict()
    assert {n for n, _ in model.named_buffers()} <= set(state)
    path = tmp_path / 'm.npz'
    model.save(path)
    other = vg.nn.Sequential(vg.nn.Linear(4, 3), BatchNorm1d(3))
    other.load(path)
    for (n, a), (_, b) in zip(model.named_buffers(), other.named_buffers()):
        np.testing.assert_array_equal(a, b)
    # -- a state whose buffer has the wrong shape is refused, and nothing is copied
    bad = dict(state)
    bad[next(n for n in bad if n.endswith('running_var'))] = np.ones(5)
    before = other.state_dict()
    with pytest.raises(ShapeError):
        other.load_state_dict(bad)
    for name, array in other.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    # -- an optimizer step leaves the buffers alone
    out = model(vg.TensorNode(np.ones((8, 4))))
    model.eval()
    running = [b.copy() for _, b in model.named_buffers()]
    opt = vg.optim.SGD(model.parameters(), lr=0.1)
    (out * out).sum().backward()
    opt.step()
    for before, (_, after) in zip(running, model.named_buffers()):
        np.testing.assert_array_equal(before, after)


def test_bad_shapes_and_settings():
    with pytest.raises(ShapeError, match=r'BatchNorm2d\(3\).*\(4, 2, 5, 5\)'):
        BatchNorm2d(3)(vg.TensorNode(np.zeros((4, 2, 5, 5))))
    with pytest.raises(ShapeError, match='more than one value'):
        BatchNorm1d(3)(vg.TensorNode(np.zeros((1, 3))))
    with pytest.raises(InvalidArgumentError):
        BatchNorm1d(0)
    with pytest.raises(InvalidArgumentError):
        BatchNorm1d(3, momentum=2.0)
    with pytest.raises(InvalidArgumentError, match="BatchNorm2d: eps='a'; expected a number"):
        BatchNorm2d(3, eps='a')
    with pytest.raises(InvalidArgumentError, match="BatchNorm1d: momentum='a'; expected"):
        BatchNorm1d(3, momentum='a')
