"""`vugrad graph` (vugrad.lab.graph): one training step of the MLP `vugrad train` builds, drawn."""

import argparse
import xml.etree.ElementTree as ET

import pytest
from dot_text import needs_dot, parse, shapes

from vugrad import viz
from vugrad.lab import graph
from vugrad.lab.config import TrainConfig


def _graph_args(*argv):
    parser = argparse.ArgumentParser()
    graph.add_graph_arguments(parser)
    return parser.parse_args(list(argv))


def test_graph_command_writes_the_training_step(tmp_path, capsys):
    path = tmp_path / 'step.dot'
    assert graph.graph_command(_graph_args('--out', str(path), '-b', '4', '--hidden', '5')) == 0
    assert str(path) in capsys.readouterr().out
    nodes, _ = parse(path.read_text())
    labels = [lbl for _, lbl, _ in nodes.values()]
    assert shapes(nodes)['diamond'] == 4                  # Linear, Sigmoid, Linear, CrossEntropy
    assert any(lbl.startswith('batch\n(4, 2) float32') for lbl in labels)
    assert any(lbl.startswith('hidden.0.w\n(5, 2) float32\ngrad norm') for lbl in labels)
    assert any(lbl.startswith('loss\nscalar float32\nvalue') for lbl in labels)


def test_graph_command_options(tmp_path):
    path = tmp_path / 'step.dot'
    args = _graph_args('-o', str(path), '-D', 'mnist', '-b', '3', '--hidden', '7', '--layers',
                       '2', '--activation', 'relu', '--collapse')
    assert graph.graph_command(args) == 0
    nodes, _ = parse(path.read_text())
    assert [lbl for s, lbl, _ in nodes.values() if s == 'box'] == \
        ['Linear 1\n1 op', 'Linear 2\n1 op', 'Linear 3\n1 op']
    assert any(lbl.startswith('batch\n(3, 784)') for _, lbl, _ in nodes.values())
    assert sum(lbl == 'ReLU' for _, lbl, _ in nodes.values()) == 2


def test_graph_command_without_graphviz_fails_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(viz.shutil, 'which', lambda name: None)
    path = tmp_path / 'step.svg'
    assert graph.graph_command(_graph_args('-o', str(path))) == 1
    assert 'apt-get install graphviz' in capsys.readouterr().err
    assert not path.exists()


@needs_dot
def test_graph_command_svg(tmp_path):
    path = tmp_path / 'step.svg'
    assert graph.graph_command(_graph_args('-o', str(path), '-b', '2')) == 0
    ET.parse(path)


def test_vugrad_graph_through_the_cli(tmp_path):
    from vugrad.lab import cli
    path = tmp_path / 'g.dot'
    assert cli.main(['graph', '-o', str(path), '-b', '2']) == 0
    assert path.read_text().startswith('digraph vugrad {')


def test_training_step_is_the_model_vugrad_train_builds():
    loss, model = graph.training_step(TrainConfig(hidden=5, layers=2, batch_size=3), seed=1)
    assert loss.name == 'loss' and loss.value.shape == ()
    assert [layer.w.value.shape for layer in list(model.hidden) + [model.output]] == \
        [(5, 2), (5, 5), (2, 5)]
    assert all(p._grad is not None for p in model.parameters())


def test_the_drawing_code_knows_nothing_of_the_kit():
    assert not any(hasattr(viz, name) for name in
                   ('add_graph_arguments', 'graph_command', 'training_step', 'DATASET_SHAPES'))


def test_max_nodes_zero_draws_everything_and_negative_is_refused(tmp_path, capsys):
    from vugrad.lab import cli
    path = tmp_path / 'all.dot'
    assert cli.main(['graph', '--max-nodes', '0', '-o', str(path), '--layers', '3']) == 0
    nodes, _ = parse(path.read_text())
    assert not any('more nodes' in label for _, label, _ in nodes.values())
    capped = tmp_path / 'capped.dot'
    assert cli.main(['graph', '--max-nodes', '3', '-o', str(capped), '--layers', '3']) == 0
    assert any('more nodes' in label for _, label, _ in parse(capped.read_text())[0].values())
    capsys.readouterr()
    for bad in ('-1', 'many'):
        with pytest.raises(SystemExit) as e:
            cli.main(['graph', '--max-nodes', bad, '-o', str(tmp_path / 'x.dot')])
        assert e.value.code == 2
        assert '--max-nodes' in capsys.readouterr().err
    assert not (tmp_path / 'x.dot').exists()


def test_the_output_folder_is_made_or_the_file_in_the_way_named(tmp_path, capsys):
    path = tmp_path / 'missing' / 'dir' / 'g.dot'
    assert graph.graph_command(_graph_args('-o', str(path))) == 0
    assert path.read_text().startswith('digraph vugrad {')
    (tmp_path / 'file').write_text('in the way')
    for out in (tmp_path / 'file' / 'g.dot', tmp_path / 'file' / 'sub' / 'g.dot'):
        assert graph.graph_command(_graph_args('-o', str(out))) == 1
        err = capsys.readouterr().err
        assert f'{tmp_path / "file"} is a file, not a folder' in err, err
    assert (tmp_path / 'file').read_text() == 'in the way'


@pytest.mark.parametrize('model, shape', [('lenet', '(2, 1, 28, 28)'),
                                          ('blitz', '(2, 3, 32, 32)')])
def test_graph_command_draws_a_cnn_step(model, shape, tmp_path):
    path = tmp_path / 'cnn.dot'
    assert graph.graph_command(_graph_args('-o', str(path), '--model', model, '-b', '2')) == 0
    nodes, _ = parse(path.read_text())
    labels = [lbl for _, lbl, _ in nodes.values()]
    assert any(lbl.startswith(f'batch\n{shape} float32') for lbl in labels)
    assert any(lbl.startswith('loss\nscalar') for lbl in labels)


def test_graph_command_collapses_the_layers_of_a_cnn(tmp_path):
    path = tmp_path / 'blitz.dot'
    args = _graph_args('-o', str(path), '-D', 'cifar10', '--batchnorm', '--residual',
                       '--collapse', '--max-nodes', '0')
    assert graph.graph_command(args) == 0
    nodes, _ = parse(path.read_text())
    boxes = [lbl.split('\n')[0] for s, lbl, _ in nodes.values() if s == 'box']
    assert boxes == ['Conv2d 1', 'BatchNorm2d 1', 'Residual 1', 'Conv2d 2', 'BatchNorm2d 2',
                     'Residual 2', 'Linear 1', 'BatchNorm1d 1', 'Linear 2', 'BatchNorm1d 2',
                     'Linear 3']
    # -- -D cifar10 alone: the blitz net with its recipe's batch of 4
    assert any(lbl.startswith('batch\n(4, 3, 32, 32)') for _, lbl, _ in nodes.values())


def test_training_step_of_a_cnn_uses_the_loss_and_recipe():
    loss, model = graph.training_step(TrainConfig(data='cifar10', loss='hinge'), seed=0)
    assert loss.value.shape == ()
    assert all(p._grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match='lenet takes 1x28x28'):
        graph.training_step(TrainConfig(data='cifar10', model='lenet'))
