"""The torch backend's converter (to_torch) and its CNN runs: the same network, weights, buffers,
losses, steps and checkpoints as vugrad's, in float64."""

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import vugrad as vg
from vugrad.errors import InvalidArgumentError
from vugrad.fileio import load_arrays
from vugrad.lab import torch_backend as tb
from vugrad.lab.config import TrainConfig
from vugrad.nn import (
    MLP,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
)

F64 = np.float64


def lenet_like(seed=0, batchnorm=True, residual=True):
    """A small LeNet-like network of vugrad.nn modules, for (N, 2, 12, 12) input, 3 classes."""
    np.random.seed(seed)

    def bn2(c):
        return [BatchNorm2d(c, dtype=F64)] if batchnorm else []

    layers = [Conv2d(2, 4, 3, padding=1, dtype=F64), *bn2(4), ReLU(), MaxPool2d(2)]   # 4x6x6
    if residual:
        layers.append(Residual(Sequential(Conv2d(4, 4, 3, padding=1, dtype=F64), *bn2(4), ReLU(),
                                          Conv2d(4, 4, 3, padding=1, dtype=F64), *bn2(4)),
                               activation=ReLU()))
    layers += [Conv2d(4, 5, (3, 2), stride=(1, 2), padding=(1, 0), bias=False, dtype=F64),
               Tanh(), AvgPool2d(2, 1), Flatten(),                                   # 5x5x2
               Linear(50, 8, init='uniform', dtype=F64),
               *([BatchNorm1d(8, eps=1e-3, momentum=0.2, dtype=F64)] if batchnorm else []),
               Sigmoid(), Residual(Sequential(Linear(8, 8, init='he', dtype=F64))),
               Linear(8, 3, init='uniform', dtype=F64)]
    model = Sequential(*layers)
    rng = np.random.default_rng(seed)
    for m in model.modules():         # -- running statistics that are not the initial ones
        if isinstance(m, (BatchNorm1d, BatchNorm2d)):
            m.running_mean = rng.normal(size=m.num_features)
            m.running_var = rng.uniform(0.5, 2.0, size=m.num_features)
            m.w.value = rng.uniform(0.5, 1.5, size=m.num_features)
            m.b.value = rng.normal(size=m.num_features) * 0.1
    return model


def batches(n=5, size=4, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(size, 2, 12, 12)), rng.integers(0, 3, size)) for _ in range(n)]


def torch_out(tmodel, x):
    return tmodel(torch.from_numpy(x)).detach().numpy()


def test_the_converted_network_has_the_same_layers_weights_and_buffers():
    model = lenet_like()
    tmodel = tb.to_torch(model)
    assert isinstance(tmodel, torch.nn.Sequential) and len(tmodel) == len(model.layers)
    conv = tmodel[5]
    assert isinstance(conv, torch.nn.Conv2d) and conv.stride == (1, 2) and conv.padding == (1, 0)
    assert conv.kernel_size == (3, 2) and conv.bias is None
    assert isinstance(tmodel[4], tb.TorchResidual) and isinstance(tmodel[4].activation,
                                                                  torch.nn.ReLU)
    assert tmodel[4].block[1].eps == 1e-5 and tmodel[10].eps == 1e-3
    assert tmodel[10].momentum == 0.2
    assert all(p.dtype == torch.float64 for p in tmodel.state_dict().values()
               if p.is_floating_point())
    # -- the same names, shapes and values as vugrad's state dict, buffers included
    ours, theirs = model.state_dict(), tb.vugrad_state_dict(tmodel)
    assert list(theirs) == list(ours) or sorted(theirs) == sorted(ours)
    assert 'layers.4.block.layers.1.running_var' in theirs
    for name, array in ours.items():
        assert theirs[name].shape == array.shape, name
        np.testing.assert_array_equal(theirs[name], array, err_msg=name)
    # -- copies: changing one does not change the other
    with torch.no_grad():
        tmodel[0].weight.add_(1.0)
    assert not np.array_equal(model.layers[0].w.value, tmodel[0].weight.detach().numpy())


@pytest.mark.parametrize('batchnorm, residual', [(True, True), (False, False)])
@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_the_converted_network_computes_the_same_outputs(mode, batchnorm, residual):
    model = lenet_like(batchnorm=batchnorm, residual=residual)
    getattr(model, mode)()
    tmodel = tb.to_torch(model)
    assert tmodel.training == (mode == 'train') and tmodel[1].training == (mode == 'train')
    x = batches(1, size=6)[0][0]
    np.testing.assert_allclose(torch_out(tmodel, x), model(x).value, rtol=1e-10, atol=1e-12)
    stats = [(n, a) for n, a in model.state_dict().items() if 'running' in n]
    tstats = tb.vugrad_state_dict(tmodel)
    for name, array in stats:    # -- the running statistics moved the same way (train mode)
        np.testing.assert_allclose(tstats[name], array, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize('batchnorm, residual', [(True, True), (True, False), (False, True)])
def test_five_sgd_momentum_steps_agree(batchnorm, residual):
    model = lenet_like(seed=2, batchnorm=batchnorm, residual=residual)
    tmodel = tb.to_torch(model)
    opt = vg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9)
    losses, tlosses = [], []
    for x, y in batches(5):
        loss = vg.cross_entropy(model(x), y, reduction='mean')
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss.clear()
        losses.append(loss.item())
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)),
                                                  torch.from_numpy(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        tlosses.append(tloss.item())
    np.testing.assert_allclose(tlosses, losses, rtol=1e-8)
    assert len(set(losses)) == 5
    theirs = tb.vugrad_state_dict(tmodel)
    for name, array in model.state_dict().items():   # -- weights and running statistics
        np.testing.assert_allclose(theirs[name], array, rtol=1e-7, atol=1e-9, err_msg=name)
    # -- and evaluation mode, with the running statistics both learned
    model.eval()
    tmodel.eval()
    x = batches(1, seed=9)[0][0]
    np.testing.assert_allclose(torch_out(tmodel, x), model(x).value, rtol=1e-7, atol=1e-9)


def test_the_losses_follow_their_formulas():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, 6)
    tl, ty = torch.from_numpy(logits), torch.from_numpy(y)
    onehot = np.eye(4)[y]
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    ce = -logp[np.arange(6), y]
    se = ((logits - onehot) ** 2).sum(axis=1)
    margins = np.maximum(0, 1 - logits[np.arange(6), y][:, None] + logits)
    margins[np.arange(6), y] = 0
    hinge = margins.sum(axis=1) / 4
    for name, per_instance, mean_over in [('cross-entropy', ce, 6), ('mse', se, 6 * 4),
                                          ('hinge', hinge, 6)]:
        loss = tb.torch_loss(name)
        assert loss(tl, ty, 'sum').item() == pytest.approx(per_instance.sum(), rel=1e-12)
        assert loss(tl, ty, 'mean').item() == pytest.approx(per_instance.sum() / mean_over,
                                                            rel=1e-12)
    with pytest.raises(InvalidArgumentError, match='hinge'):
        tb.torch_loss('l1')


def test_evaluate_gives_the_loss_accuracy_and_per_class_accuracy():
    model = torch.nn.Identity()
    x = np.array([[2.0, 0, 0], [2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0], [2.0, 0, 0]])
    y = np.array([0, 1, 1, 2, 0])
    loss, acc, per_class = tb.torch_evaluate(model, x, y, batch_size=2, num_classes=4)
    assert acc == pytest.approx(0.8)
    assert per_class[:3] == [1.0, 0.5, 1.0] and np.isnan(per_class[3])
    assert loss == pytest.approx(tb.torch_evaluate(model, x, y)[0])
    # -- the loss of the run: here only the second row has margins, (1 + 2) + (1 + 0), over 3
    assert tb.torch_evaluate(model, x, y, loss='hinge')[0] == pytest.approx(4 / 3 / 5)


def test_checkpoints_go_both_ways(tmp_path):
    model = lenet_like(seed=3)
    tmodel = tb.to_torch(model)
    x = batches(1)[0][0]
    tmodel(torch.from_numpy(x))                  # -- one train-mode pass moves the statistics
    tb._save(tmodel, tmp_path / 't.npz')
    fresh = lenet_like(seed=4).load(tmp_path / 't.npz')   # -- vugrad reads torch's checkpoint
    fresh.eval()
    tmodel.eval()
    np.testing.assert_allclose(fresh(x).value, torch_out(tmodel, x), rtol=1e-10, atol=1e-12)
    # -- and torch reads vugrad's
    model.save(tmp_path / 'v.npz')
    model.eval()
    for state in (load_arrays(tmp_path / 'v.npz'), tmp_path / 'v.npz'):
        other = tb.to_torch(lenet_like(seed=5)).eval()
        tb.load_vugrad_state(other, state)
        np.testing.assert_allclose(torch_out(other, x), model(x).value, rtol=1e-10, atol=1e-12)
    with pytest.raises(InvalidArgumentError, match='missing'):
        tb.load_vugrad_state(other, {})


@pytest.mark.parametrize('momentum', [None, 0.1])
def test_batch_norm_counts_its_batches_across_the_conversion(momentum):
    # -- momentum=None: the running statistics are the average over every batch seen, which
    #    needs their count, num_batches_tracked (in vugrad's state only then, as in PyTorch's use)
    np.random.seed(0)
    model = Sequential(Conv2d(2, 3, 3, dtype=F64), BatchNorm2d(3, momentum=momentum, dtype=F64),
                       Flatten(), Linear(300, 4, dtype=F64),
                       BatchNorm1d(4, momentum=momentum, dtype=F64))
    data = [x for x, _ in batches(4, size=6)]
    for x in data[:3]:
        model(x)                                    # -- three batches seen before converting
    ours = model.state_dict()
    assert ('layers.1.num_batches_tracked' in ours) == (momentum is None)
    tmodel = tb.to_torch(model)
    assert [int(m.num_batches_tracked) for m in (tmodel[1], tmodel[4])] == [3, 3]
    theirs = tb.vugrad_state_dict(tmodel)           # -- vugrad -> torch -> vugrad: the same
    assert sorted(theirs) == sorted(ours)
    for name, array in ours.items():
        assert theirs[name].dtype.kind == array.dtype.kind and theirs[name].shape == array.shape
        np.testing.assert_array_equal(theirs[name], array, err_msg=name)
    # -- the fourth batch continues the same average in both
    model(data[3])
    tmodel(torch.from_numpy(data[3]))
    after, tafter = model.state_dict(), tb.vugrad_state_dict(tmodel)
    for name, array in after.items():
        np.testing.assert_allclose(tafter[name], array, rtol=1e-10, atol=1e-12, err_msg=name)
    # -- and a vugrad state (a checkpoint) loads into a fresh twin, its count included
    np.random.seed(1)
    fresh = tb.to_torch(Sequential(Conv2d(2, 3, 3, dtype=F64),
                                   BatchNorm2d(3, momentum=momentum, dtype=F64), Flatten(),
                                   Linear(300, 4, dtype=F64),
                                   BatchNorm1d(4, momentum=momentum, dtype=F64)))
    tb.load_vugrad_state(fresh, after)
    loaded = tb.vugrad_state_dict(fresh)
    assert sorted(loaded) == sorted(after)
    for name, array in after.items():
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)
    if momentum is None:
        assert int(fresh[1].num_batches_tracked) == 4


def test_the_mlp_converts_too_and_unknown_modules_are_refused():
    np.random.seed(0)
    mlp = MLP(4, 3, hidden=5, layers=2, activation='tanh', residual=True, dtype=F64)
    tmodel = tb.to_torch(Sequential(mlp, Dropout(0.0)))
    x = np.random.randn(3, 4)
    np.testing.assert_allclose(torch_out(tmodel, x), mlp(x).value, rtol=1e-12)
    assert sorted(tb.vugrad_state_dict(tmodel)) == sorted(Sequential(mlp).state_dict())

    class Odd(Module):
        def forward(self, x):
            return x
    with pytest.raises(InvalidArgumentError, match='Odd'):
        tb.to_torch(Sequential(Odd()))


# ---------------------------------------------------------------------- whole runs

HAS_CNN = 'model' in {f.name for f in dataclasses.fields(TrainConfig)}
needs_cnn = pytest.mark.skipif(not HAS_CNN, reason='TrainConfig has no `model` field yet')


def fake_data(shape, n_train=8, n_val=6, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.uniform(-1, 1, size=(n_train, *shape)), rng.integers(0, classes, n_train)),
            (rng.uniform(-1, 1, size=(n_val, *shape)), rng.integers(0, classes, n_val)), classes)


@needs_cnn
@pytest.mark.parametrize('model, shape', [('blitz', (3, 32, 32)), ('lenet', (1, 28, 28))])
@pytest.mark.parametrize('batchnorm, residual', [(False, False), (True, True), (True, False),
                                                 (False, True)])
def test_both_backends_train_the_cnns_the_same(monkeypatch, model, shape, batchnorm, residual):
    import vugrad.lab.train as vtrain
    from vugrad.lab import loop
    data = fake_data(shape)
    monkeypatch.setattr(loop, 'load_data', lambda config: data)
    config = TrainConfig(data='cifar10' if model == 'blitz' else 'mnist', model=model,
                         batchnorm=batchnorm, residual=residual, dtype='float64',
                         batch_size=4, epochs=2, lr=0.01, momentum=0.9, reduction='mean',
                         activation='relu', seed=0, progress=False, num_train=8, num_val=6)
    steps = {}
    for name, module in (('vugrad', vtrain), ('torch', tb)):
        losses = []
        with monkeypatch.context() as m:    # -- record the loss of every step
            m.setattr(module, 'run_batches', _recording(loop.run_batches, losses))
            metrics = module.train(dataclasses.replace(config, backend=name), log=None)
        steps[name] = (losses, metrics)
    (ours, om), (theirs, tm) = steps['vugrad'], steps['torch']
    assert len(ours) == 4
    np.testing.assert_allclose(theirs, ours, rtol=1e-8)
    assert tm[0]['val_loss'] == pytest.approx(om[0]['val_loss'], rel=1e-8)
    assert tm[0]['val_acc'] == om[0]['val_acc']
    if 'val_acc_per_class' in om[0]:
        np.testing.assert_array_equal(tm[0]['val_acc_per_class'], om[0]['val_acc_per_class'])


@needs_cnn
@pytest.mark.parametrize('loss', ['mse', 'hinge'])
def test_both_backends_agree_on_the_other_losses(monkeypatch, loss):
    from vugrad.lab import loop
    from vugrad.lab.train import train
    data = fake_data((1, 28, 28), classes=10)
    monkeypatch.setattr(loop, 'load_data', lambda config: data)
    config = TrainConfig(data='mnist', model='lenet', loss=loss, dtype='float64', batch_size=4,
                         epochs=2,
                         lr=0.01, momentum=0.9, reduction='sum', seed=1, progress=False,
                         num_train=8, num_val=6)
    ours = train(config, log=None)
    theirs = tb.train(dataclasses.replace(config, backend='torch'), log=None)
    for a, b in zip(ours, theirs):
        for key in ('train_loss', 'val_loss'):
            assert b[key] == pytest.approx(a[key], rel=1e-8)


@needs_cnn
def test_a_torch_cnn_run_saves_a_checkpoint_that_vugrad_loads_and_back(monkeypatch, tmp_path):
    from vugrad.lab import loop
    from vugrad.lab.train import train
    data = fake_data((1, 28, 28))
    monkeypatch.setattr(loop, 'load_data', lambda config: data)
    config = TrainConfig(data='mnist', model='lenet', batchnorm=True, residual=True,
                         dtype='float64', batch_size=4, epochs=1, lr=0.01, seed=0,
                         progress=False, backend='torch', save=str(tmp_path / 't.npz'))
    trained = []
    metrics = tb.train(config, log=None, callback=lambda row, m: trained.append(m))
    assert len(metrics[0]['val_acc_per_class']) == 10
    tmodel = trained[0].eval()
    model = loop.build_model(config, (1, 28, 28), 10).load(tmp_path / 't.npz').eval()
    x = data[1][0]
    np.testing.assert_allclose(model(x).value, torch_out(tmodel, x), rtol=1e-10, atol=1e-12)
    stats = [n for n in model.state_dict() if n.endswith('running_var')]
    assert len(stats) == 8     # -- the buffers travel too: 2 convs, 2 x 2 in the blocks, 2 FC
    # -- and a vugrad run's checkpoint loads into the torch twin
    train(dataclasses.replace(config, backend='vugrad', save=str(tmp_path / 'v.npz')), log=None)
    ours = loop.build_model(config, (1, 28, 28), 10).load(tmp_path / 'v.npz').eval()
    twin = tb.load_vugrad_state(tb.to_torch(loop.build_model(config, (1, 28, 28), 10)),
                                tmp_path / 'v.npz').eval()
    np.testing.assert_allclose(torch_out(twin, x), ours(x).value, rtol=1e-10, atol=1e-12)


@needs_cnn
@pytest.mark.parametrize('loss', ['mse', 'hinge'])
def test_the_mlp_runs_agree_on_the_other_losses_too(loss):
    from vugrad.lab.train import train
    config = TrainConfig(num_train=200, num_val=100, epochs=2, seed=1, dtype='float64',
                         hidden=8, batch_size=32, loss=loss, momentum=0.9, progress=False)
    ours = train(config, log=None)
    theirs = tb.train(config, backend='torch', log=None)
    for a, b in zip(ours, theirs):
        assert b['val_acc'] == a['val_acc']
        for key in ('train_loss', 'val_loss'):
            assert b[key] == pytest.approx(a[key], rel=1e-9)


def _recording(run_batches, losses):
    """run_batches that records the loss of every step."""
    def wrapped(loader, step, *args, **kwargs):
        def recorded(xb, yb):
            value = float(step(xb, yb))
            losses.append(value)
            return value
        return run_batches(loader, recorded, *args, **kwargs)
    return wrapped


def test_a_float32_model_converts_in_float32():
    np.random.seed(0)
    model = Sequential(Conv2d(2, 3, 3, padding=1), BatchNorm2d(3), ReLU(), MaxPool2d(2),
                       Flatten(), Linear(3 * 6 * 6, 4, init='uniform'))
    tmodel = tb.to_torch(model)
    assert all(t.dtype == torch.float32 for t in tmodel.state_dict().values()
               if t.is_floating_point())
    x = batches(1)[0][0].astype(np.float32)
    np.testing.assert_allclose(torch_out(tmodel, x), model(x).value, rtol=1e-4, atol=1e-5)
    assert tb.to_torch(model, torch.float64)[0].weight.dtype == torch.float64
