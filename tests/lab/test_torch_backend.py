"""The torch backend: the same model, weights, batches, optimizer and loss as vugrad's."""

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import vugrad.functions as F
from vugrad.data import DataLoader
from vugrad.errors import InvalidArgumentError
from vugrad.lab import run
from vugrad.lab import torch_backend as tb
from vugrad.lab.config import TrainConfig
from vugrad.lab.loop import build_model, load_data
from vugrad.lab.train import train


def first_losses(config):
    """The loss of the first batch in both libraries, built as train() builds them."""
    np.random.seed(config.seed)
    (x, y), _, classes = load_data(config)
    model = build_model(config, x.shape[1], classes)
    tmodel = tb.from_vugrad(model, config.activation, config.residual)
    xb, yb = next(iter(DataLoader(x, y, batch_size=config.batch_size, seed=config.seed)))
    ours = float(F.cross_entropy(model(xb), yb, reduction=config.reduction).value)
    theirs = torch.nn.functional.cross_entropy(
        tmodel(torch.from_numpy(xb)), torch.from_numpy(yb), reduction=config.reduction).item()
    return ours, theirs


@pytest.mark.parametrize('dtype, rtol', [('float32', 1e-5), ('float64', 1e-12)])
@pytest.mark.parametrize('activation', ['sigmoid', 'relu'])
def test_the_same_seed_gives_the_same_first_loss(dtype, rtol, activation):
    config = TrainConfig(num_train=300, num_val=50, seed=3, dtype=dtype, hidden=16, layers=2,
                         residual=True, activation=activation, init='he')
    ours, theirs = first_losses(config)
    assert theirs == pytest.approx(ours, rel=rtol)


def test_the_copied_model_has_the_same_layers_and_weights():
    np.random.seed(0)
    model = build_model(TrainConfig(hidden=5, layers=3, residual=True, init='uniform',
                                    activation='tanh'), 4, 3)
    tmodel = tb.from_vugrad(model, 'tanh', residual=True)
    layers = list(tmodel.hidden) + [tmodel.output]
    sizes = [(lin.in_features, lin.out_features) for lin in layers]
    assert sizes == [(4, 5), (5, 5), (5, 5), (5, 3)]
    for ours, theirs in zip(list(model.hidden) + [model.output], layers):
        np.testing.assert_array_equal(theirs.weight.detach().numpy(), ours.w.value)
        np.testing.assert_array_equal(theirs.bias.detach().numpy(), ours.b.value[0])
    x = np.random.randn(7, 4).astype(np.float32)
    np.testing.assert_allclose(tmodel(torch.from_numpy(x)).detach().numpy(), model(x).value,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('settings', [
    {'momentum': 0.9, 'nesterov': True, 'weight_decay': 0.01, 'schedule': 'step', 'step_size': 1},
    {'optimizer': 'adam', 'lr': 0.01, 'reduction': 'mean'},
    {'optimizer': 'adamw', 'lr': 0.01, 'schedule': 'cosine', 'activation': 'relu', 'layers': 2,
     'residual': True},
])
def test_both_backends_train_the_same_in_float64(settings):
    config = TrainConfig(num_train=200, num_val=100, epochs=2, seed=1, dtype='float64',
                         hidden=8, batch_size=32, **settings)
    ours = train(config, log=None, progress=False)
    theirs = tb.train(config, log=None, progress=False)
    for a, b in zip(ours, theirs):
        assert b['epoch'] == a['epoch'] and b['val_acc'] == a['val_acc']
        for key in ('train_loss', 'val_loss', 'lr'):
            assert b[key] == pytest.approx(a[key], rel=1e-9)


def test_torch_runs_write_and_save_like_vugrad(tmp_path):
    config = TrainConfig(num_train=100, num_val=50, epochs=1, seed=0, hidden=4,
                         out=str(tmp_path / 'm.json'), save=str(tmp_path / 'p.npz'))
    lines = []
    metrics = tb.train(config, log=lines.append, progress=False)
    assert (tmp_path / 'm.json').is_file() and len(metrics) == 1
    assert any(line.startswith('## backend: torch') for line in lines)
    model = build_model(config, 2, 2).load(tmp_path / 'p.npz')   # -- vugrad reads it back
    assert model.hidden[0].w.value.shape == (4, 2)


def test_a_sweep_over_both_backends_reports_them_side_by_side(tmp_path):
    from vugrad.lab.report import group_runs, load_runs
    from vugrad.lab.sweep import run_sweep
    out = tmp_path / 'both'
    results = run_sweep(str(out), fixed={'data': 'synth', 'num_train': 200, 'num_val': 100,
                                         'epochs': 1, 'hidden': 8, 'dtype': 'float64'},
                        vary={'backend': ['vugrad', 'torch']}, seeds=1, jobs=2, log=None)
    assert [(r['id'], r['status']) for r in results] == [('backend=vugrad,seed=0', 'ok'),
                                                          ('backend=torch,seed=0', 'ok')]
    runs = load_runs(out)
    assert [r['config']['backend'] for r in runs] == ['vugrad', 'torch']
    ours, theirs = (r['metrics'][0] for r in runs)
    assert theirs['train_loss'] == pytest.approx(ours['train_loss'], rel=1e-9)
    assert theirs['val_acc'] == ours['val_acc']
    assert [g['label'] for g in group_runs(runs)] == ['backend=vugrad', 'backend=torch']
    assert '| torch |' in (out / 'report.md').read_text()
    assert '## backend: torch' in (out / 'backend=torch,seed=0' / 'log.txt').read_text()


def test_run_and_the_command_line_dispatch_to_the_torch_backend(capsys):
    from vugrad.lab.cli import main
    config = TrainConfig(num_train=100, num_val=50, epochs=1, seed=2, hidden=4, dtype='float64')
    lines = []
    metrics = run(config, backend='torch', log=lines.append, progress=False)
    assert any(line.startswith('## backend: torch') for line in lines)
    with pytest.raises(InvalidArgumentError, match='vugrad.lab.run'):
        train(config, backend='torch', log=None, progress=False)
    ours = run(config, log=None, progress=False)
    assert metrics[0]['train_loss'] == pytest.approx(ours[0]['train_loss'], rel=1e-9)
    assert main(['train', '--backend', 'torch', '--num-train', '100', '--num-val', '50', '-e', '1',
                 '--hidden', '4', '--seed', '2', '--no-progress']) == 0
    assert '## backend: torch' in capsys.readouterr().out
    with pytest.raises(ValueError, match='backend'):
        TrainConfig(backend='jax').validate()


@pytest.mark.filterwarnings('ignore::RuntimeWarning')
def test_a_nan_loss_stops_a_torch_run_too(capsys, monkeypatch):
    from vugrad.errors import DivergedError
    from vugrad.lab.cli import main
    from vugrad.lab.loop import LossLimit
    monkeypatch.setattr(LossLimit, 'FACTOR', float('inf'))   # -- on to the nan (or inf)
    settings = dict(lr=1e6, activation='relu', num_train=500, num_val=100, epochs=2, seed=0,
                    progress=False)
    with pytest.raises(DivergedError) as e:
        tb.train(TrainConfig(**settings, backend='torch'), log=None)
    assert e.value.epoch == 1 and 1 <= e.value.batch <= 4 and e.value.metrics == []
    assert 'lower learning rate' in str(e.value)
    assert 'torch.autograd.detect_anomaly()' in str(e.value)
    assert main(['train', '--backend', 'torch', '-l', '1e6', '--activation', 'relu',
                 '--num-train', '500', '--num-val', '100', '-e', '1', '--seed', '0',
                 '--no-progress']) == 1
    assert 'training diverged in epoch 1' in capsys.readouterr().err


def test_the_torch_backend_checks_every_setting_before_loading(monkeypatch, tmp_path):
    import vugrad.lab.loop as loop
    monkeypatch.setattr(loop, 'load_data', lambda config: pytest.fail('data loaded'))
    with pytest.raises(InvalidArgumentError, match=r'2 settings.*\n.*lr=nan.*\n.*seed=-1'):
        tb.train(TrainConfig(lr=float('nan'), seed=-1, backend='torch'), log=None)
    # -- and makes the folders of --out and --save before it trains
    monkeypatch.undo()
    out, save = tmp_path / 'a' / 'm.csv', tmp_path / 'b' / 'c' / 'm.npz'
    tb.train(TrainConfig(num_train=100, num_val=50, epochs=1, hidden=4, backend='torch',
                         out=str(out), save=str(save), progress=False), log=None)
    assert out.is_file() and save.is_file()
