"""The repr of every module in vugrad.nn: PyTorch's, `Conv2d(3, 6, kernel_size=(5, 5), ...)`,
with containers nesting their children one per line, `(0): ReLU()`."""

import inspect
import re

import pytest

import vugrad as vg
from vugrad import nn

try:
    import torch
except ImportError:     # -- the comparisons with PyTorch are skipped; the rest runs
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason='PyTorch is not installed')

# -- sample arguments for every module class vugrad.nn exports (a new class needs a row here)
SAMPLES = {
    'AvgPool2d': (2,), 'BatchNorm1d': (3,), 'BatchNorm2d': (6,), 'Conv2d': (3, 6, 5),
    'Dropout': (), 'Flatten': (), 'Identity': (), 'Linear': (3, 4), 'LogSoftmax': (),
    'MLP': (4, 2), 'MaxPool2d': (2,), 'ReLU': (), 'Residual': (nn.ReLU(),),
    'Sequential': (nn.ReLU(), nn.Tanh()), 'Sigmoid': (), 'Tanh': (),
}


def _module_classes():
    return {name: obj for name, obj in vars(nn).items() if name in nn.__all__
            and inspect.isclass(obj) and issubclass(obj, vg.Module)
            and obj is not vg.Module}     # -- the base class itself lives in core.py


def test_every_module_class_of_vugrad_nn_has_a_repr():
    classes = _module_classes()
    assert set(classes) == set(SAMPLES)
    for name, cls in classes.items():
        text = repr(cls(*SAMPLES[name]))
        assert text.startswith(f'{name}(') and text.endswith(')'), text
        assert ' object at 0x' not in text, text


# -- settings PyTorch's modules have and vugrad's do not: left out of PyTorch's repr to compare
TORCH_ONLY = {'MaxPool2d': ('dilation', 'ceil_mode'), 'Dropout': ('inplace',),
              'BatchNorm1d': ('affine', 'bias', 'track_running_stats'),
              'BatchNorm2d': ('affine', 'bias', 'track_running_stats'),
              'Flatten': ('start_dim', 'end_dim')}


def _without_torch_only(text):
    name = text[:text.index('(')]
    for setting in TORCH_ONLY.get(name, ()):
        text = re.sub(rf'(, )?\b{setting}=[^,()]+', '', text)
    return text.replace('(, ', '(')


# -- (vugrad's or PyTorch's module, from the module namespace m: the same settings in both)
SAME = {
    'conv': lambda m: m.Conv2d(3, 6, 5),
    'conv-pairs-nobias': lambda m: m.Conv2d(3, 6, (3, 2), stride=2, padding=1, bias=False),
    'conv-uneven': lambda m: m.Conv2d(1, 2, 3, stride=(1, 2), padding=(0, 1)),
    'maxpool': lambda m: m.MaxPool2d(2),
    'maxpool-pairs': lambda m: m.MaxPool2d((2, 3), stride=(1, 2)),
    'avgpool': lambda m: m.AvgPool2d(3, 1),
    'bn1d': lambda m: m.BatchNorm1d(3, eps=1e-3, momentum=0.2),
    'bn2d': lambda m: m.BatchNorm2d(6),
    'bn-cumulative': lambda m: m.BatchNorm2d(6, momentum=None),
    'linear': lambda m: m.Linear(3, 4),
    'linear-nobias': lambda m: m.Linear(3, 4, bias=False),
    'dropout': lambda m: m.Dropout(0.25),
    'flatten': lambda m: m.Flatten(),
    'relu': lambda m: m.ReLU(), 'sigmoid': lambda m: m.Sigmoid(), 'tanh': lambda m: m.Tanh(),
    'identity': lambda m: m.Identity(),
}


@needs_torch
@pytest.mark.parametrize('build', SAME.values(), ids=list(SAME))
def test_reprs_are_pytorchs(build):
    assert repr(build(nn)) == _without_torch_only(repr(build(torch.nn)))


@needs_torch
def test_logsoftmax_repr_is_pytorchs_over_the_last_axis():
    assert repr(nn.LogSoftmax()) == repr(torch.nn.LogSoftmax(dim=-1)) == 'LogSoftmax(dim=-1)'


@needs_torch
def test_containers_nest_their_children_as_pytorch():
    def build(m):
        return m.Sequential(m.Conv2d(1, 2, 3, padding=1), m.ReLU(), m.AvgPool2d(2),
                            m.Sequential(m.Linear(8, 4), m.Sigmoid()), m.Sequential())
    expected = repr(build(torch.nn))
    assert repr(build(nn)) == expected
    assert expected.splitlines()[:2] == [
        'Sequential(', '  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))']


def test_residual_and_mlp_nest_their_children():
    block = nn.Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()),
                        activation=nn.ReLU())
    assert repr(block) == '\n'.join([
        'Residual(',
        '  (block): Sequential(',
        '    (0): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))',
        '    (1): ReLU()',
        '  )',
        '  (activation): ReLU()',
        ')'])
    assert repr(nn.Residual(nn.Identity())) == 'Residual(\n  (block): Identity()\n)'
    # -- the MLP's layers in the order forward() applies them, under their parameters' names
    assert repr(nn.MLP(4, 2, hidden=8, layers=2, activation='relu', dropout=0.5)) == '\n'.join([
        'MLP(',
        '  residual=False',
        '  (hidden.0): Linear(in_features=4, out_features=8, bias=True)',
        '  (activations.0): ReLU()',
        '  (dropouts.0): Dropout(p=0.5)',
        '  (hidden.1): Linear(in_features=8, out_features=8, bias=True)',
        '  (activations.1): ReLU()',
        '  (dropouts.1): Dropout(p=0.5)',
        '  (output): Linear(in_features=8, out_features=2, bias=True)',
        ')'])
    assert repr(nn.MLP(4, 2, layers=0, residual=True)) == \
        'MLP(\n  residual=True\n  (output): Linear(in_features=4, out_features=2, bias=True)\n)'


def test_a_learners_own_module_inside_a_container_is_nested_too():
    class Net(vg.Module):
        def __init__(self):
            self.layer1, self.layer2 = nn.Linear(3, 4), nn.Linear(4, 2)

        def forward(self, x):
            return self.layer2(self.layer1(x))

    assert repr(nn.Sequential(Net(), nn.ReLU())) == '\n'.join([
        'Sequential(',
        '  (0): Net(',
        '    (layer1): Linear(in_features=3, out_features=4, bias=True)',
        '    (layer2): Linear(in_features=4, out_features=2, bias=True)',
        '  )',
        '  (1): ReLU()',
        ')'])


def test_the_lenet_of_the_kit_prints_as_pytorch_would():
    from vugrad.lab.config import TrainConfig
    from vugrad.lab.models import build_cnn
    config = TrainConfig(data='mnist', model='lenet', activation='relu', batchnorm=True,
                         residual=True).validate()
    text = repr(build_cnn(config, (1, 28, 28), 10))
    assert ' object at 0x' not in text
    assert text.splitlines()[:6] == [
        'Sequential(',
        '  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))',
        '  (1): BatchNorm2d(6, eps=1e-05, momentum=0.1)',
        '  (2): ReLU()',
        '  (3): MaxPool2d(kernel_size=2, stride=2, padding=0)',
        '  (4): Residual(']
