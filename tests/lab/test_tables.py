"""
The tables of vugrad.lab.tables (OPTIMIZERS, SCHEDULES, LOSSES, MODELS): every command-line
choice is a key, every row builds in both backends and they agree, a name outside the tables is
refused (never another choice), and a row one backend cannot build fails loudly there.
"""

import argparse

import numpy as np
import pytest

from vugrad.core import TensorNode
from vugrad.errors import InvalidArgumentError
from vugrad.lab import config, tables
from vugrad.lab.config import TrainConfig, add_train_arguments, config_from_args
from vugrad.lab.tables import LossRow, OptimizerRow, ScheduleRow
from vugrad.lab.models import loss_of
from vugrad.lab.train import build_optimizer, build_schedule
from vugrad.nn import Linear
from vugrad.optim import SGD, StepLR

TABLES = {'optimizer': tables.OPTIMIZERS, 'schedule': tables.SCHEDULES, 'loss': tables.LOSSES,
          'model': tables.MODELS}


def params():
    return Linear(3, 2).parameters()


def choices_of(parser):
    return {action.dest: action.choices for action in parser._actions if action.choices}


# ---------------------------------------------------------------------- the command line

def test_every_choice_of_the_command_line_is_a_key_of_its_table():
    choices = choices_of(add_train_arguments(argparse.ArgumentParser()))
    for name, table in TABLES.items():
        assert list(choices[name]) == list(table), name
        assert list(config.CHOICES[name]) == list(table), name
    assert tables.CNN_MODELS == ('lenet', 'blitz')
    assert tables.MODEL_INPUTS['lenet'] == ((1, 28, 28), ('mnist', 'fashion-mnist'))


def test_the_config_names_the_same_tables():
    # -- `from vugrad.lab.config import OPTIMIZERS` keeps working: the same objects
    for name in tables.__all__:
        assert getattr(config, name) is getattr(tables, name), name


def test_a_new_row_is_a_choice_that_both_backends_build(monkeypatch):
    torch = pytest.importorskip('torch')
    from vugrad.lab.torch_backend import build_torch_optimizer
    monkeypatch.setitem(tables.OPTIMIZERS, 'plain-sgd', OptimizerRow(SGD, 'SGD'))
    parser = add_train_arguments(argparse.ArgumentParser())
    config = config_from_args(parser.parse_args(['--optimizer', 'plain-sgd', '-l', '0.5']))
    config = config.validate()
    assert type(build_optimizer(config, params())) is SGD
    assert type(build_torch_optimizer(config, [torch.zeros(1)])) is torch.optim.SGD
    with pytest.raises(InvalidArgumentError, match='momentum and nesterov are SGD settings'):
        TrainConfig(optimizer='plain-sgd', momentum=0.9).validate()   # -- its row takes neither


# ---------------------------------------------------------------------- names outside the tables

@pytest.mark.parametrize('setting, build', [
    ('optimizer', lambda c: build_optimizer(c, params())),
    ('schedule', lambda c: build_schedule(c, SGD(params(), lr=0.1))),
    ('loss', loss_of),
])
def test_a_name_outside_the_table_is_refused_never_replaced(setting, build):
    config = TrainConfig(**{setting: 'rmsprop'})         # -- not validated: the builder checks
    choices = ', '.join(TABLES[setting])
    with pytest.raises(InvalidArgumentError, match=rf"{setting}='rmsprop' \(--{setting}\): "
                                                    rf'choose one of {choices}\.'):
        build(config)


def test_the_torch_builders_refuse_a_name_outside_the_table_too():
    torch = pytest.importorskip('torch')
    from vugrad.lab import torch_backend as tb
    opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
    for build in (lambda: tb.build_torch_optimizer(TrainConfig(optimizer='rmsprop'), []),
                  lambda: tb.build_torch_schedule(TrainConfig(schedule='linear'), opt),
                  lambda: tb.torch_loss('l1')):
        with pytest.raises(InvalidArgumentError, match='choose one of'):
            build()


# ---------------------------------------------------------------------- a row one backend lacks

def test_a_row_the_torch_backend_cannot_build_fails_loudly(monkeypatch):
    torch = pytest.importorskip('torch')
    from vugrad.lab import torch_backend as tb
    monkeypatch.setitem(tables.OPTIMIZERS, 'lion', OptimizerRow(SGD, 'Lion'))
    monkeypatch.setitem(tables.SCHEDULES, 'cyclic', ScheduleRow(StepLR, 'NoSuchLR',
                                                             lambda c: {'step_size': 1}))
    monkeypatch.setitem(tables.LOSSES, 'l1', LossRow('mse_loss', 'no_such_loss'))
    config = TrainConfig(optimizer='lion', schedule='cyclic', loss='l1').validate()
    assert type(build_optimizer(config, params())) is SGD        # -- vugrad's side is there
    with pytest.raises(InvalidArgumentError, match=r"optimizer='lion' \(--optimizer\): the "
                                                   r'torch backend cannot build it: .* names '
                                                   r'torch\.optim\.Lion, which does not exist'):
        tb.build_torch_optimizer(config, [torch.zeros(1)])
    with pytest.raises(InvalidArgumentError, match=r'torch\.optim\.lr_scheduler\.NoSuchLR'):
        tb.build_torch_schedule(config, torch.optim.SGD([torch.zeros(1)], lr=0.1))
    with pytest.raises(InvalidArgumentError, match=r'torch\.nn\.functional\.no_such_loss'):
        tb.torch_loss('l1')


def test_a_loss_the_vugrad_backend_cannot_build_fails_loudly(monkeypatch):
    monkeypatch.setitem(tables.LOSSES, 'l1', LossRow('l1_loss', 'l1_loss'))
    with pytest.raises(InvalidArgumentError, match=r"loss='l1' \(--loss\): the vugrad backend "
                                                   r'cannot build it: .* names '
                                                   r'vugrad\.lab\.models\.l1_loss'):
        loss_of(TrainConfig(loss='l1'))


# ---------------------------------------------------------------------- every row, both backends

@pytest.mark.parametrize('name', list(tables.OPTIMIZERS))
def test_every_optimizer_builds_in_both_backends_with_the_same_settings(name):
    torch = pytest.importorskip('torch')
    from vugrad.lab.torch_backend import build_torch_optimizer
    row = tables.OPTIMIZERS[name]
    settings = {'momentum': 0.9, 'nesterov': True} if 'momentum' in row.settings else {}
    for decay in (None, 0.001):
        config = TrainConfig(optimizer=name, lr=0.25, weight_decay=decay, **settings).validate()
        ours = build_optimizer(config, params())
        theirs = build_torch_optimizer(config, [torch.zeros(2)])
        assert type(ours) is row.vugrad and type(theirs) is getattr(torch.optim, row.torch)
        for key, value in row.keywords(config).items():
            assert getattr(ours, key) == value == theirs.param_groups[0][key], (name, key)
        assert ours.weight_decay == theirs.param_groups[0]['weight_decay']   # -- the defaults


@pytest.mark.parametrize('name', list(tables.SCHEDULES))
def test_every_schedule_builds_in_both_backends_and_they_agree(name):
    torch = pytest.importorskip('torch')
    from vugrad.lab.torch_backend import build_torch_schedule
    config = TrainConfig(schedule=name, epochs=4, step_size=1, gamma=0.5, lr=1.0).validate()
    ours_opt = SGD(params(), lr=1.0)
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    ours, theirs = build_schedule(config, ours_opt), build_torch_schedule(config, theirs_opt)
    assert (ours is None) == (theirs is None) == (tables.SCHEDULES[name] is None)
    ours_lr, theirs_lr = [], []
    for _ in range(4):
        ours_lr.append(ours_opt.lr)
        theirs_lr.append(theirs_opt.param_groups[0]['lr'])
        theirs_opt.step()        # -- torch wants the optimizer's step before the schedule's
        for schedule in (ours, theirs):
            if schedule is not None:
                schedule.step()
    np.testing.assert_allclose(ours_lr, theirs_lr, rtol=1e-12)
    assert len(set(ours_lr)) == (1 if name == 'none' else 4)


@pytest.mark.parametrize('name', list(tables.LOSSES))
@pytest.mark.parametrize('reduction', ['sum', 'mean'])
def test_every_loss_builds_in_both_backends_and_they_agree(name, reduction):
    torch = pytest.importorskip('torch')
    from vugrad.lab.torch_backend import torch_loss
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    ours = loss_of(TrainConfig(loss=name))(TensorNode(logits), y, reduction)
    theirs = torch_loss(name)(torch.from_numpy(logits), torch.from_numpy(y), reduction)
    assert float(ours.value) == pytest.approx(theirs.item(), rel=1e-12)
