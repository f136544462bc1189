"""The kit's CNNs (vugrad.lab.models: lenet, blitz), the cifar10 recipe, --loss, and the per-class
validation accuracy, on tiny synthetic image data (no data files are read)."""

import argparse
import csv
import dataclasses
import json
import math

import numpy as np
import pytest

from vugrad.core import TensorNode
from vugrad.errors import InvalidArgumentError
from vugrad.lab import cli, loop
from vugrad.lab.config import TrainConfig, add_train_arguments, config_from_args, is_default
from vugrad.lab.loop import build_model, load_data, per_class_accuracy
from vugrad.lab.models import build_cnn, hinge_loss, loss_of, mse_loss
from vugrad.lab.train import evaluate, train
from vugrad.nn import (
    MLP,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
)

# ---------------------------------------------------------------------- fake data

def fake_images(n, shape, classes=10, seed=0, dtype='float32'):
    """Images whose class is a bright square at a place of its own, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.uniform(-0.1, 0.1, size=(n, *shape))
    for i, k in enumerate(y):
        r, c = divmod(int(k), 4)
        x[i, :, 2 + 6 * r:6 + 6 * r, 2 + 6 * c:6 + 6 * c] += 1.0
    return x.astype(dtype), y.astype(np.int64)


@pytest.fixture
def fake_mnist(monkeypatch):
    calls = []

    def load(final, flatten, data_dir, dtype, pixels):
        calls.append({'flatten': flatten, 'pixels': pixels})
        (xt, yt), (xv, yv) = fake_images(80, (1, 28, 28), dtype=dtype), \
            fake_images(40, (1, 28, 28), seed=1, dtype=dtype)
        if flatten:
            xt, xv = xt.reshape(len(xt), -1), xv.reshape(len(xv), -1)
        return (xt, yt), (xv, yv), 10

    monkeypatch.setattr(loop, 'load_mnist', load)
    return calls


@pytest.fixture
def fake_cifar(monkeypatch):
    calls = []

    def load(final, data_dir, dtype, pixels):
        calls.append({'pixels': pixels, 'final': final})
        return fake_images(80, (3, 32, 32), dtype=dtype), \
            fake_images(40, (3, 32, 32), seed=1, dtype=dtype), 10

    monkeypatch.setattr(loop, 'load_cifar10', load)
    return calls


# ---------------------------------------------------------------------- layer lists

def describe(module):
    """[(type name, {parameter name: shape}, extra)] of a Sequential, Residual blocks spelled out"""
    out = []
    for layer in module:
        name = type(layer).__name__
        if isinstance(layer, Residual):
            out.append(('Residual', describe(layer.block), type(layer.activation).__name__))
        elif isinstance(layer, Conv2d):
            out.append((name, layer.w.value.shape, layer.padding))
        elif isinstance(layer, Linear):
            out.append((name, layer.w.value.shape, layer.b.value.shape))
        elif isinstance(layer, (BatchNorm1d, BatchNorm2d)):
            out.append((name, layer.num_features, layer.w.value.shape))
        elif isinstance(layer, MaxPool2d):
            out.append((name, layer.kernel_size, layer.stride))
        else:
            out.append((name,))
    return out


def expected(model, batchnorm, residual, act='ReLU', classes=10):
    def bn2(c):
        return [('BatchNorm2d', c, (c,))] if batchnorm else []
    def bn1(c):
        return [('BatchNorm1d', c, (c,))] if batchnorm else []

    def block(c):
        if not residual:
            return []
        inner = [('Conv2d', (c, c, 3, 3), (1, 1)), *bn2(c), (act,),
                 ('Conv2d', (c, c, 3, 3), (1, 1)), *bn2(c)]
        return [('Residual', inner, act)]

    first = [('Conv2d', (6, 3, 5, 5), (0, 0))] if model == 'blitz' else \
        [('Conv2d', (6, 1, 5, 5), (2, 2))]
    return (first + bn2(6) + [(act,), ('MaxPool2d', 2, None)] + block(6)
            + [('Conv2d', (16, 6, 5, 5), (0, 0))] + bn2(16) + [(act,), ('MaxPool2d', 2, None)]
            + block(16) + [('Flatten',), ('Linear', (120, 400), (1, 120))] + bn1(120) + [(act,)]
            + [('Linear', (84, 120), (1, 84))] + bn1(84) + [(act,)]
            + [('Linear', (classes, 84), (1, classes))])


@pytest.mark.parametrize('batchnorm', [False, True])
@pytest.mark.parametrize('residual', [False, True])
@pytest.mark.parametrize('model, shape, data', [('blitz', (3, 32, 32), 'cifar10'),
                                                ('lenet', (1, 28, 28), 'mnist')])
def test_exact_layer_lists_and_output_shapes(model, shape, data, batchnorm, residual):
    config = TrainConfig(data=data, model=model, batchnorm=batchnorm, residual=residual,
                         activation='relu', dtype='float64').validate()
    net = build_cnn(config, shape, 10)
    assert isinstance(net, Sequential)
    assert describe(net) == expected(model, batchnorm, residual)
    assert all(p.value.dtype == np.float64 for p in net.parameters())
    x = np.random.default_rng(0).standard_normal((3, *shape))
    assert net(x).value.shape == (3, 10)
    assert build_model(config, shape, 10).__class__ is Sequential


def test_parameter_counts_are_pytorchs():
    def count(net):
        return sum(p.value.size for p in net.parameters())
    blitz = build_cnn(TrainConfig(data='cifar10', model='blitz'), (3, 32, 32), 10)
    assert count(blitz) == 62_006                  # -- the blitz's net in PyTorch
    assert count(build_cnn(TrainConfig(model='lenet'), (1, 28, 28), 10)) == 61_706
    with_bn = build_cnn(TrainConfig(model='blitz', batchnorm=True), (3, 32, 32), 10)
    assert count(with_bn) == 62_006 + 2 * (6 + 16 + 120 + 84)


def test_the_activation_applies_to_every_layer_and_the_init_is_pytorchs():
    net = build_cnn(TrainConfig(model='blitz', activation='tanh', residual=True), (3, 32, 32), 10)
    acts = [type(m).__name__ for m in net if isinstance(m, (ReLU, Sigmoid, Tanh))]
    assert acts == ['Tanh'] * 4
    assert all(isinstance(m.activation, Tanh) for m in net if isinstance(m, Residual))
    fc1 = next(m for m in net if isinstance(m, Linear))
    bound = 1 / math.sqrt(400)
    assert np.abs(fc1.w.value).max() <= bound and np.abs(fc1.b.value).max() <= bound
    assert np.abs(fc1.b.value).max() > 0           # -- uniform bias, as PyTorch's Linear


def test_build_model_dispatches():
    mlp = build_model(TrainConfig(data='mnist', hidden=7), (1, 28, 28), 10)
    assert isinstance(mlp, MLP) and mlp.hidden[0].input_size == 784
    assert isinstance(build_model(TrainConfig(), 5, 3), MLP)       # -- a number of features
    with pytest.raises(InvalidArgumentError, match=r'\(1, 28, 28\)'):
        build_cnn(TrainConfig(data='mnist', model='lenet'), (3, 32, 32), 10)
    with pytest.raises(InvalidArgumentError, match='not a CNN'):
        build_cnn(TrainConfig(), (1, 28, 28), 10)


# ---------------------------------------------------------------------- the cifar10 recipe

RECIPE = {'model': 'blitz', 'activation': 'relu', 'reduction': 'mean', 'batch_size': 4, 'lr': 0.001,
          'momentum': 0.9, 'epochs': 2, 'pixels': 'signed', 'optimizer': 'sgd'}


def fields(config, names=RECIPE):
    return {k: getattr(config, k) for k in names}


def test_cifar10_defaults_to_the_blitz_recipe():
    assert fields(TrainConfig(data='cifar10').validate()) == RECIPE
    assert fields(TrainConfig(data='cifar10').resolved()) == RECIPE
    assert TrainConfig().validate() == TrainConfig()               # -- others: unchanged
    assert fields(TrainConfig(data='mnist').validate())['batch_size'] == 128


def test_the_recipe_fills_only_what_was_not_given():
    given = TrainConfig(data='cifar10', batch_size=128, lr=0.01, momentum=0.0, model='mlp',
                        reduction='sum', pixels='unit').validate()
    assert fields(given) == {'model': 'mlp', 'activation': 'relu', 'reduction': 'sum',
                             'batch_size': 128, 'lr': 0.01, 'momentum': 0.0, 'epochs': 2,
                             'pixels': 'unit', 'optimizer': 'sgd'}
    assert TrainConfig(data='cifar10', activation='tanh').validate().activation == 'tanh'
    adam = TrainConfig(data='cifar10', optimizer='adam').validate()
    assert adam.momentum == 0 and adam.lr == 0.001            # -- momentum is SGD's only
    assert is_default(TrainConfig().batch_size) and not is_default(given.batch_size)


def test_the_command_line_applies_the_recipe_and_help_shows_it(capsys):
    parser = add_train_arguments(argparse.ArgumentParser())
    config = config_from_args(parser.parse_args(['-D', 'cifar10', '-b', '16'])).validate()
    assert fields(config) == {**RECIPE, 'batch_size': 16}
    config = config_from_args(parser.parse_args(['-D', 'cifar10', '-b', '128', '-e', '20']))
    assert (config.validate().batch_size, config.validate().epochs) == (128, 20)
    with pytest.raises(SystemExit):
        cli.main(['train', '--help'])
    text = ' '.join(capsys.readouterr().out.split())
    for part in ('cifar10: 4', 'cifar10: 0.001', 'cifar10: 0.9', 'cifar10: mean',
                 'cifar10: blitz', 'cifar10: signed', '--batchnorm', '--loss', 'hinge'):
        assert part in text, part


def test_a_cifar10_run_records_the_recipe(fake_cifar, tmp_path):
    out = tmp_path / 'm.json'
    metrics = train(TrainConfig(data='cifar10', num_train=64, num_val=32, epochs=1, seed=0,
                                out=str(out), progress=False), log=None)
    assert fake_cifar == [{'pixels': 'signed', 'final': False}]
    recorded = json.loads(out.read_text())
    assert {k: recorded['config'][k] for k in RECIPE} == {**RECIPE, 'epochs': 1}
    assert len(metrics) == 1 and len(metrics[0]['val_acc_per_class']) == 10
    assert recorded['metrics'][0]['val_acc_per_class'] == metrics[0]['val_acc_per_class']


# ---------------------------------------------------------------------- MNIST's recipes

LENET_LR = 5e-5     # -- the course's settings otherwise: raw pixels, summed loss, SGD, batch 128


def test_mnist_defaults_to_learning_rates_that_train():
    for data in ('mnist', 'fashion-mnist'):
        assert TrainConfig(data=data).validate().lr == 0.0001           # -- the course's MLP
        assert TrainConfig(data=data, model='lenet').validate().lr == LENET_LR
        assert TrainConfig(data=data, model='lenet', lr=0.01).validate().lr == 0.01  # -- given
        assert TrainConfig(data=data, lr=0.003).validate().lr == 0.003
    assert TrainConfig().validate().lr == 0.01                          # -- synth: as it was
    assert TrainConfig(data='cifar10').validate().lr == 0.001
    assert TrainConfig(data='cifar10', model='mlp').validate().lr == 0.001
    parser = add_train_arguments(argparse.ArgumentParser())
    config = config_from_args(parser.parse_args(['-D', 'mnist', '-e', '2'])).validate()
    assert (config.lr, config.pixels, config.reduction) == (0.0001, 'raw', 'sum')
    config = config_from_args(parser.parse_args(['-D', 'mnist', '--model', 'lenet']))
    assert config.validate().lr == LENET_LR


def test_the_help_of_l_states_every_default(capsys, monkeypatch):
    monkeypatch.setenv('COLUMNS', '400')          # -- no line breaks inside fashion-mnist
    with pytest.raises(SystemExit):
        cli.main(['train', '--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert ('the learning rate (default: 0.01; mnist, fashion-mnist: 0.0001, with --model '
            'lenet 5e-05 (raw pixels, summed loss, sgd; else 0.01); cifar10: 0.001)') in text


@pytest.mark.parametrize('setting', [{'pixels': 'unit'}, {'reduction': 'mean'},
                                     {'optimizer': 'adam'}])
@pytest.mark.parametrize('model', ['mlp', 'lenet'])
def test_mnist_learning_rates_are_only_for_the_settings_they_are_tuned_for(setting, model):
    """The course's MNIST rates are for raw pixels, the summed loss and SGD; else 0.01 stays."""
    assert TrainConfig(data='mnist', model=model).resolved().lr in (1e-4, 5e-5)
    assert TrainConfig(data='mnist', model=model, **setting).resolved().lr == 0.01
    assert TrainConfig(data='mnist', model=model, lr=0.3, **setting).resolved().lr == 0.3


def test_a_run_records_the_learning_rate_it_used(fake_mnist, tmp_path, capsys):
    for out in (tmp_path / 'm.json', tmp_path / 'm.csv'):
        assert cli.main(['train', '-D', 'mnist', '--model', 'lenet', '--num-train', '16',
                         '--num-val', '8', '-e', '1', '-b', '8', '--seed', '0', '--no-progress',
                         '--out', str(out)]) == 0
        config_line = next(line for line in capsys.readouterr().out.splitlines()
                           if line.startswith('## config:'))
        assert ' lr=5e-05 ' in config_line
    recorded = json.loads((tmp_path / 'm.json').read_text())
    assert recorded['config']['lr'] == LENET_LR and recorded['metrics'][0]['lr'] == LENET_LR
    with open(tmp_path / 'm.csv', newline='') as f:
        assert float(next(csv.DictReader(f))['lr']) == LENET_LR


# ---------------------------------------------------------------------- a CNN's init

def test_a_cnn_records_no_init_and_its_config_round_trips(fake_mnist, tmp_path, capsys):
    # -- a CNN has its own layers and PyTorch's initialization: the MLP's settings are None
    lenet = TrainConfig(data='mnist', model='lenet').validate()
    assert (lenet.init, lenet.layers, lenet.hidden) == (None, None, None)
    assert TrainConfig(data='cifar10').validate().init is None          # -- blitz, the recipe's
    mlp = TrainConfig(data='mnist').validate()
    assert (mlp.init, mlp.layers) == ('glorot', 1)                      # -- the MLP's
    assert TrainConfig(data='cifar10', model='mlp', init='he').validate().init == 'he'
    out = tmp_path / 'm.json'
    assert cli.main(['train', '-D', 'mnist', '--model', 'lenet', '--num-train', '16',
                     '--num-val', '8', '-e', '1', '-b', '8', '--no-progress',
                     '--out', str(out)]) == 0
    config_line = capsys.readouterr().out.splitlines()[0]
    assert ' layers=None ' in config_line and ' init=None ' in config_line
    recorded = json.loads(out.read_text())['config']
    assert recorded['init'] is None
    again = TrainConfig(**recorded).validate()              # -- what was run, run again
    assert dataclasses.asdict(again) == recorded


def test_an_mlp_needs_an_init_and_layers():
    with pytest.raises(InvalidArgumentError, match=r"init=None \(--init\): the MLP needs an "
                                                   r'initialization: choose one of glorot, '):
        TrainConfig(data='mnist', init=None).validate()
    with pytest.raises(InvalidArgumentError, match=r'layers=None \(--layers\): the MLP needs a '
                                                   r'number of hidden layers'):
        TrainConfig(layers=None).validate()
    with pytest.raises(InvalidArgumentError, match=r"init='he'.*MLP"):
        TrainConfig(data='mnist', model='lenet', init='he').validate()


def test_a_report_of_cnn_and_mlp_runs_shows_their_settings(tmp_path):
    from vugrad.lab.report import write_outputs
    rows = [{'epoch': 1, 'train_loss': 1.0, 'val_loss': 1.0, 'val_acc': 0.5, 'seconds': 1.0,
             'lr': 0.1}]
    for index, (model, init) in enumerate([('mlp', 'glorot'), ('lenet', None)]):
        config = {**dataclasses.asdict(TrainConfig(data='mnist', model=model).validate()),
                  'seed': 0}
        assert config['init'] == init
        run = tmp_path / f'model={model},seed=0'
        run.mkdir()
        info = {'id': run.name, 'index': index, 'config': config}
        (run / 'config.json').write_text(json.dumps(info))
        (run / 'metrics.json').write_text(json.dumps({**info, 'status': 'ok', 'metrics': rows}))
    runs, groups, _ = write_outputs(str(tmp_path))
    assert [g['label'] for g in groups] == [
        'model=mlp, layers=1, activation=sigmoid, init=glorot, lr=0.0001',
        'model=lenet, layers=none, activation=relu, init=none, lr=5e-05']
    with open(tmp_path / 'metrics.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [(row['init'], row['layers']) for row in rows] == [('glorot', '1'), ('', '')]


# ---------------------------------------------------------------------- refused settings

@pytest.mark.parametrize('settings, match', [
    ({'data': 'cifar10', 'model': 'lenet'}, r"model='lenet'.*1x28x28"),
    ({'model': 'lenet'}, r"model='lenet'.*flat feature vectors"),
    ({'data': 'mnist', 'model': 'blitz'}, r"model='blitz'.*3x32x32"),
    ({'data': 'mnist', 'model': 'lenet', 'hidden': 32}, r'hidden=32 \(--hidden\).*MLP'),
    ({'data': 'mnist', 'model': 'lenet', 'layers': 2}, r'layers=2 \(--layers\).*MLP'),
    ({'data': 'cifar10', 'hidden': 32}, r'hidden=32.*blitz'),
    ({'data': 'cifar10', 'dropout': 0.5}, r'dropout=0.5.*MLP'),
    ({'data': 'cifar10', 'init': 'he'}, r"init='he'.*MLP"),
    ({'data': 'mnist', 'batchnorm': True}, r'batchnorm=True.*CNNs'),
    ({'loss': 'l1'}, r"loss='l1'.*cross-entropy, mse, hinge"),
    ({'model': 'resnet'}, r"model='resnet'.*mlp, lenet, blitz"),
])
def test_settings_that_do_not_fit_the_model_are_refused(settings, match, monkeypatch):
    monkeypatch.setattr(loop, 'load_data', lambda config: pytest.fail('data loaded'))
    with pytest.raises(InvalidArgumentError, match=match):
        train(TrainConfig(**settings), log=None)


def test_the_command_line_refuses_hidden_with_a_cnn(capsys):
    assert cli.main(['train', '-D', 'mnist', '--model', 'lenet', '--hidden', '8']) == 2
    assert '--hidden' in capsys.readouterr().err
    assert cli.main(['train', '-D', 'cifar10', '--layers', '1']) == 2
    assert '--layers' in capsys.readouterr().err


# ---------------------------------------------------------------------- losses

def test_losses_match_torch_values_and_gradients():
    torch = pytest.importorskip('torch')
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 3])
    references = {
        'cross-entropy': lambda t, r: tf.cross_entropy(t, torch.from_numpy(y), reduction=r),
        'mse': lambda t, r: tf.mse_loss(t, tf.one_hot(torch.from_numpy(y), 4).double(),
                                        reduction=r),
        'hinge': lambda t, r: tf.multi_margin_loss(t, torch.from_numpy(y), reduction=r),
    }
    for name, reference in references.items():
        for reduction in ('sum', 'mean'):
            node = TensorNode(logits.copy())
            loss = loss_of(TrainConfig(loss=name))(node, y, reduction=reduction)
            loss.backward()
            t = torch.from_numpy(logits.copy()).requires_grad_()
            expect = reference(t, reduction)
            expect.backward()
            assert float(loss.value) == pytest.approx(expect.item(), rel=1e-12), name
            np.testing.assert_allclose(node.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert loss_of(TrainConfig(loss='mse')) is mse_loss
    assert loss_of(TrainConfig(loss='hinge')) is hinge_loss


def test_hinge_and_mse_by_hand():
    logits = TensorNode(np.array([[2.0, 0.0, 0.5], [0.0, 0.0, 0.0]]))
    y = np.array([0, 2])
    # -- row 0: max(0, 1-2+0) + max(0, 1-2+0.5) = 0; row 1: 1 + 1 = 2; over C = 3
    assert float(hinge_loss(logits, y, 'sum').value) == pytest.approx(2 / 3)
    assert float(hinge_loss(logits, y, 'mean').value) == pytest.approx(1 / 3)
    # -- (2-1)^2 + 0 + 0.25 + 0 + 0 + 1 = 2.25, over 6 elements for the mean
    assert float(mse_loss(logits, y, 'sum').value) == pytest.approx(2.25)
    assert float(mse_loss(logits, y, 'mean').value) == pytest.approx(2.25 / 6)


@pytest.mark.parametrize('loss', ['mse', 'hinge'])
def test_a_run_with_another_loss(loss):
    metrics = train(TrainConfig(loss=loss, num_train=1000, num_val=200, epochs=2, seed=0,
                                optimizer='adam', lr=0.01, reduction='mean', batch_size=32,
                                progress=False), log=None)
    assert all(math.isfinite(m['train_loss']) and math.isfinite(m['val_loss']) for m in metrics)
    assert metrics[1]['train_loss'] < metrics[0]['train_loss']


# ---------------------------------------------------------------------- per-class accuracy

def test_per_class_accuracy():
    acc = per_class_accuracy(np.array([0, 0, 1, 2, 0]), np.array([0, 1, 1, 2, 0]), 4)
    assert acc[:3] == [1.0, 0.5, 1.0] and math.isnan(acc[3])
    model = Sequential(Flatten())           # -- the "logits" are the inputs
    x = np.array([[2.0, 0, 0], [2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0], [2.0, 0, 0]])
    y = np.array([0, 1, 1, 2, 0])
    assert len(evaluate(model, x, y)) == 2                   # -- as before: two items
    _, accuracy, per_class = evaluate(model, x, y, batch_size=2, num_classes=4)
    assert accuracy == pytest.approx(0.8) and per_class[:3] == [1.0, 0.5, 1.0]
    hinge = evaluate(model, x, y, loss=hinge_loss)[0]
    assert hinge == pytest.approx((0 + (3 + 1) + 0 + 0 + 0) / 3 / 5)   # -- 1/C, mean over n


def test_a_lenet_run_on_mnist_shaped_data(fake_mnist, tmp_path, capsys):
    out = tmp_path / 'm.json'
    metrics = train(TrainConfig(data='mnist', model='lenet', num_train=64, num_val=32, epochs=1,
                                batch_size=8, optimizer='adam', lr=0.003, activation='relu',
                                pixels='unit', batchnorm=True, residual=True, seed=0,
                                out=str(out), progress=False))
    assert fake_mnist == [{'flatten': False, 'pixels': 'unit'}]
    row = metrics[0]
    assert math.isfinite(row['train_loss']) and 0 <= row['val_acc'] <= 1
    assert len(row['val_acc_per_class']) == 10
    # -- 32 validation images of 10 classes in turn: every class has some
    assert all(0 <= a <= 1 for a in row['val_acc_per_class'])
    assert json.loads(out.read_text())['metrics'][0]['val_acc_per_class'] == \
        row['val_acc_per_class']
    text = capsys.readouterr().out
    assert 'validation accuracy per class: 0 ' in text
    assert text.strip().splitlines()[-1].startswith('final validation accuracy: ')


def test_a_class_without_validation_examples_is_null_in_json(fake_mnist, tmp_path):
    out = tmp_path / 'm.json'
    metrics = train(TrainConfig(data='mnist', model='lenet', num_train=16, num_val=5, epochs=1,
                                batch_size=8, seed=0, out=str(out), progress=False), log=None)
    per_class = metrics[0]['val_acc_per_class']
    assert [math.isnan(a) for a in per_class] == [False] * 5 + [True] * 5
    assert json.loads(out.read_text())['metrics'][0]['val_acc_per_class'][5:] == [None] * 5


def test_images_for_the_mlp_are_flattened_and_signed_pixels(fake_mnist, fake_cifar):
    (xt, _), (xv, _), k = load_data(TrainConfig(data='mnist', num_train=10, num_val=6))
    assert xt.shape == (10, 784) and xv.shape == (6, 784) and k == 10
    (xt, _), _, _ = load_data(TrainConfig(data='mnist', model='lenet', pixels='signed'))
    assert xt.shape == (80, 1, 28, 28)
    assert fake_mnist[-1] == {'flatten': False, 'pixels': 'unit'}   # -- then mapped to [-1, 1]
    assert xt.min() >= -1.2 and xt.max() > 0.9 and xt.mean() < -0.5
    (xt, _), (xv, _), _ = load_data(TrainConfig(data='cifar10', num_train=12, num_val=7))
    assert xt.shape == (12, 3, 32, 32) and xv.shape == (7, 3, 32, 32)
    (xt, _), _, _ = load_data(TrainConfig(data='cifar10', model='mlp', num_train=12))
    assert xt.shape == (12, 3072)


def test_a_cnn_uses_relu_unless_an_activation_is_given():
    assert TrainConfig(data='mnist', model='lenet').validate().activation == 'relu'
    assert TrainConfig(data='mnist', model='lenet', activation='tanh').validate().activation \
        == 'tanh'
    assert TrainConfig(data='mnist').validate().activation == 'sigmoid'     # -- the course's MLP
