"""
The training and the validation loss of a run are on one scale, the loss per instance (the
loss summed over the batch's instances, over their number), for every loss, reduction and
backend: trained on data X at a tiny learning rate and validated on the same X, the two agree.
(With reduction 'mean', MSE divides by every logit, N * C, as torch.nn.MSELoss does: its
training loss was reported C times too small.)
"""

import dataclasses

import numpy as np
import pytest

from vugrad.lab import loop, run
from vugrad.lab.config import TrainConfig
from vugrad.lab.tables import LOSSES


def same_data(n=48, features=5, classes=10, seed=0):
    """The same instances for training and validation: (x, y), (x, y), classes."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float64)
    y = np.arange(n) % classes
    return (x, y), (x.copy(), y.copy()), classes


@pytest.mark.parametrize('backend', ['vugrad', 'torch'])
@pytest.mark.parametrize('reduction', ['sum', 'mean'])
@pytest.mark.parametrize('loss', list(LOSSES))
def test_training_and_validation_loss_are_per_instance(monkeypatch, loss, reduction, backend):
    if backend == 'torch':
        pytest.importorskip('torch')
    monkeypatch.setattr(loop, 'load_data', lambda config: same_data())
    config = TrainConfig(loss=loss, reduction=reduction, backend=backend, lr=1e-9, hidden=8,
                         batch_size=16, epochs=1, seed=3, dtype='float64', progress=False)
    [row] = run(config, log=None)
    # -- the model barely moves: the loss of the same data, measured twice
    assert row['train_loss'] == pytest.approx(row['val_loss'], rel=1e-6), (loss, reduction)


def test_a_last_batch_of_another_size_counts_by_its_instances(monkeypatch):
    monkeypatch.setattr(loop, 'load_data', lambda config: same_data(n=40))
    config = TrainConfig(loss='mse', reduction='mean', lr=1e-9, hidden=8, batch_size=16,
                         epochs=1, seed=3, dtype='float64', progress=False)
    [row] = run(config, log=None)            # -- batches of 16, 16 and 8
    assert row['train_loss'] == pytest.approx(row['val_loss'], rel=1e-6)
    [summed] = run(dataclasses.replace(config, reduction='sum'), log=None)
    assert row['train_loss'] == pytest.approx(summed['train_loss'], rel=1e-6)
