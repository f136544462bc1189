"""Module: parameter registration, names, train/eval, state_dict, save/load."""

import os

import numpy as np
import pytest

import vugrad as vg
from vugrad.nn import MLP, Dropout, Linear, Module, ReLU, Sequential
from vugrad.optim import SGD


class Auto(Module):
    """Parameters and modules in attributes, a list and a dict, found without parameters()."""

    def __init__(self):
        super().__init__()
        self.scale = vg.TensorNode(np.ones(3), name='scale')
        self.first = Linear(3, 4)
        self.blocks = [Linear(4, 4), Linear(4, 4)]
        self.heads = {'a': Linear(4, 2)}
        self.constant = vg.TensorNode(np.arange(3))      # integers: a constant, not a parameter
        self.not_a_param = np.ones(3)

    def forward(self, x):
        h = self.first(x * self.scale)
        for b in self.blocks:
            h = b(h)
        return self.heads['a'](h)


class HandWritten(Module):
    """The course's style: a hand-written parameters()."""

    def __init__(self):
        super().__init__()
        self.layer1 = Linear(3, 5)
        self.layer2 = Linear(5, 2)

    def forward(self, x):
        return vg.logsoftmax(self.layer2(vg.sigmoid(self.layer1(x))))

    def parameters(self):
        return self.layer1.parameters() + self.layer2.parameters()


def test_parameters_are_found_automatically():
    m = Auto()
    names = {n for n, _ in m.named_parameters()}
    assert names == {'scale', 'first.w', 'first.b', 'blocks.0.w', 'blocks.0.b', 'blocks.1.w',
                     'blocks.1.b', 'heads.a.w', 'heads.a.b'}
    assert len(m.parameters()) == 9
    assert all(p.requires_grad and p.source is None for p in m.parameters())
    assert len(m.modules()) == 5


def test_named_parameter_names_of_linear_and_mlp():
    assert [n for n, _ in Linear(3, 2).named_parameters()] == ['w', 'b']
    assert [n for n, _ in Linear(3, 2, bias=False).named_parameters()] == ['w']
    names = {n for n, _ in MLP(4, 3, hidden=5, layers=2).named_parameters()}
    assert names == {'hidden.0.w', 'hidden.0.b', 'hidden.1.w', 'hidden.1.b', 'output.w',
                     'output.b'}


def test_shared_parameter_is_listed_once():
    layer = Linear(3, 3)
    m = Sequential(layer, ReLU(), layer)
    assert len(m.parameters()) == 2


def test_hand_written_parameters_keep_working():
    m = HandWritten()
    params = m.parameters()
    assert params == [m.layer1.w, m.layer1.b, m.layer2.w, m.layer2.b]
    x, y = np.random.randn(6, 3).astype(np.float32), np.array([0, 1, 0, 1, 1, 0])
    loss = vg.logceloss(m(x), y)
    loss.backward()
    before = [p.value.copy() for p in params]
    SGD(params, lr=0.1).step()
    assert all(not np.array_equal(b, p.value) for b, p in zip(before, params))


def test_train_and_eval_reach_every_submodule():
    m = Sequential(Linear(3, 3), Sequential(Dropout(0.5), ReLU()), Dropout(0.2))
    assert all(sub.training for sub in m.modules())
    assert m.eval() is m
    assert not any(sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())


def test_zero_grad_forgets_gradients():
    m = MLP(3, 2, hidden=4)
    vg.cross_entropy(m(np.ones((2, 3), dtype=np.float32)), np.array([0, 1])).backward()
    assert any(np.any(p.grad != 0) for p in m.parameters())
    m.zero_grad()
    assert all(p._grad is None and not np.any(p.grad) for p in m.parameters())


def test_state_dict_round_trip():
    np.random.seed(0)
    a, b = MLP(4, 3, hidden=6, layers=2), MLP(4, 3, hidden=6, layers=2)
    x = np.random.randn(5, 4).astype(np.float32)
    state = a.state_dict()
    assert set(state) == {n for n, _ in a.named_parameters()}
    assert all(state[n] is not p.value for n, p in a.named_parameters())   # copies
    b.load_state_dict(state)
    np.testing.assert_array_equal(a(x).value, b(x).value)
    state['output.b'] += 1                    # changing the copy does not touch the model
    assert not np.any(a.output.b.value)


def test_load_state_dict_checks_names_and_shapes():
    m = MLP(4, 3, hidden=6)
    state = m.state_dict()
    with pytest.raises(vg.errors.InvalidArgumentError, match='missing'):
        m.load_state_dict({k: v for k, v in state.items() if k != 'output.w'})
    with pytest.raises(vg.errors.ShapeError, match='output.w'):
        m.load_state_dict({**state, 'output.w': np.zeros((2, 2))})
    m.load_state_dict({'output.b': np.ones((1, 3))}, strict=False)
    np.testing.assert_array_equal(m.output.b.value, np.ones((1, 3)))
    assert m.output.b.value.dtype == np.float32


def test_save_load_round_trip_is_atomic(tmp_path):
    np.random.seed(1)
    a, b = MLP(4, 3, hidden=5, activation='relu'), MLP(4, 3, hidden=5, activation='relu')
    path = tmp_path / 'model.npz'
    a.save(path)
    assert os.listdir(tmp_path) == ['model.npz']        # no temporary file left behind
    b.load(path)
    for (n, p), (m, q) in zip(a.named_parameters(), b.named_parameters()):
        assert n == m
        np.testing.assert_array_equal(p.value, q.value)


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    m = MLP(2, 2, hidden=3)
    path = tmp_path / 'model.npz'
    m.save(path)
    old = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError('disk full')

    monkeypatch.setattr(np, 'savez', broken)
    with pytest.raises(OSError, match='disk full'):
        MLP(2, 2, hidden=3).save(path)
    assert os.listdir(tmp_path) == ['model.npz']
    assert path.read_bytes() == old


def test_load_state_dict_is_all_or_nothing():
    m = MLP(4, 3, hidden=6)
    before = m.state_dict()
    bad = {k: v + 1 for k, v in before.items()}
    bad['output.w'] = np.zeros((2, 2))              # the last one is wrong: nothing is copied
    with pytest.raises(vg.errors.ShapeError):
        m.load_state_dict(bad)
    for name, p in m.named_parameters():
        np.testing.assert_array_equal(p.value, before[name])


def test_load_refuses_a_single_array_file(tmp_path):
    np.save(tmp_path / 'w.npy', np.zeros(3))
    with pytest.raises(vg.errors.InputTypeError, match='single array'):
        MLP(4, 3, hidden=6).load(tmp_path / 'w.npy')
