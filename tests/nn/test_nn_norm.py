"""vugrad.nn.BatchNorm1d/2d and the BatchNorm op: PyTorch's values, gradients and running
statistics; buffers saved and loaded with the parameters, never given to an optimizer."""

import numpy as np
import pytest

import vugrad as vg
from vugrad.errors import InvalidArgumentError, ShapeError
from vugrad.nn.norm import BatchNorm1d, BatchNorm2d
from vugrad.ops.norm import BatchNorm

torch = pytest.importorskip('torch')


def _pair(cls, tcls, shape, momentum=0.1, seed=0):
    rng = np.random.default_rng(seed)
    ours = cls(shape[1], momentum=momentum, dtype=np.float64)
    ours.w.value[:] = rng.normal(size=shape[1])
    ours.b.value[:] = rng.normal(size=shape[1])
    ref = tcls(shape[1], momentum=momentum).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.w.value))
        ref.bias.copy_(torch.from_numpy(ours.b.value))
    return ours, ref


@pytest.mark.parametrize('momentum', [0.1, None], ids=['momentum', 'cumulative'])
@pytest.mark.parametrize('cls, tname, shape', [(BatchNorm1d, 'BatchNorm1d', (8, 3)),
                                                (BatchNorm1d, 'BatchNorm1d', (4, 3, 5)),
                                                (BatchNorm2d, 'BatchNorm2d', (4, 3, 5, 6))],
                         ids=['1d-NC', '1d-NCL', '2d'])
def test_train_and_eval_match_pytorch_over_several_steps(cls, tname, shape, momentum):
    # -- momentum=None: the running statistics are the average over all batches so far
    ours, ref = _pair(cls, getattr(torch.nn, tname), shape, momentum)
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
        assert ours.num_batches_tracked == ref.num_batches_tracked.item() == step + 1
    ours.eval()
    ref.eval()
    x = rng.normal(size=shape)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(vg.TensorNode(x)).value, expected, rtol=1e-10, atol=1e-12)


def test_the_op_passes_gradcheck():
    rng = np.random.default_rng(0)
    for shape, axes in [((6, 3), (0,)), ((3, 2, 4), (0, 2)), ((3, 2, 4, 3), (0, 2, 3))]:

        def fn(x, w, b):
            return BatchNorm.do_forward(x, w, b, mean=x.value.mean(axis=axes),
                                        var=x.value.var(axis=axes))
        assert vg.gradcheck(fn, rng.normal(size=shape), rng.normal(size=shape[1]),
                            rng.normal(size=shape[1]))


def test_buffers_are_saved_loaded_and_not_parameters(tmp_path):
    model = vg.nn.Sequential(vg.nn.Linear(4, 3), BatchNorm1d(3))
    names = [n for n, _ in model.named_parameters()]
    assert not any('running' in n for n in names)
    # -- parameters(), what an optimizer gets, is exactly the four learned arrays: no buffer,
    #    not as a node nor as a node that wraps a buffer's array
    linear, bn = model.layers
    assert [id(p) for p in model.parameters()] == [id(linear.w), id(linear.b), id(bn.w), id(bn.b)]
    assert [id(p) for p in bn.parameters()] == [id(bn.w), id(bn.b)]
    for _, buffer in model.named_buffers():
        assert isinstance(buffer, np.ndarray)
        assert not any(np.shares_memory(p.value, buffer) for p in model.parameters())
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
    with pytest.raises(ShapeError, match=r'BatchNorm1d\(3\).*\(N, C, L\).*\(2, 3, 4, 4\)'):
        BatchNorm1d(3)(vg.TensorNode(np.zeros((2, 3, 4, 4))))
    with pytest.raises(ShapeError, match=r'BatchNorm: .*shape \(3,\)'):
        BatchNorm.do_forward(np.zeros(3), np.ones(3), np.zeros(3), mean=0.0, var=1.0)
    with pytest.raises(ShapeError, match='more than one value'):
        BatchNorm1d(3)(vg.TensorNode(np.zeros((1, 3))))
    with pytest.raises(InvalidArgumentError):
        BatchNorm1d(0)
    with pytest.raises(InvalidArgumentError):
        BatchNorm1d(3, momentum=2.0)
    with pytest.raises(InvalidArgumentError, match="BatchNorm2d: eps='a'; expected a number"):
        BatchNorm2d(3, eps='a')
    with pytest.raises(InvalidArgumentError, match="BatchNorm1d: momentum='a'.*or None"):
        BatchNorm1d(3, momentum='a')
    # -- one sequence (1, C, L) has L values per channel: enough for a variance, as in PyTorch
    assert BatchNorm1d(3)(vg.TensorNode(np.random.default_rng(0).normal(size=(1, 3, 2)))).shape \
        == (1, 3, 2)


def test_cumulative_average_is_saved_and_continues_after_loading(tmp_path):
    rng = np.random.default_rng(2)
    batches = [rng.normal(loc=i, size=(6, 3)) for i in range(4)]
    model = vg.nn.Sequential(BatchNorm1d(3, momentum=None, dtype=np.float64))
    for x in batches[:3]:
        model(x)
    np.testing.assert_allclose(model[0].running_mean,
                               np.mean([x.mean(axis=0) for x in batches[:3]], axis=0))
    assert model.state_dict()['layers.0.num_batches_tracked'] == 3
    model.save(tmp_path / 'bn.npz')
    other = vg.nn.Sequential(BatchNorm1d(3, momentum=None, dtype=np.float64))
    other.load(tmp_path / 'bn.npz')
    for m in (model, other):
        m(batches[3])
    np.testing.assert_array_equal(other[0].running_mean, model[0].running_mean)
    np.testing.assert_allclose(other[0].running_mean,
                               np.mean([x.mean(axis=0) for x in batches], axis=0))
    # -- with a momentum, the state (and so a file) has only the running mean and variance
    assert set(BatchNorm1d(3).state_dict()) == {'w', 'b', 'running_mean', 'running_var'}
