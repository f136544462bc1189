"""
The training loop of the course's experiment (`vugrad train`), with vugrad doing the work, as
small functions that other code can reuse.

    from vugrad.lab.train import TrainConfig, train
    metrics = train(TrainConfig(data='mnist', lr=0.0001))        # the course's MNIST run
    metrics[-1]['val_acc']

A run is described by one TrainConfig (vugrad.lab.config: every default visible there) and goes:

    load_data(config)                                 -> (xtrain, ytrain), (xval, yval), classes
    build_model(config, in_shape, num_classes)        -> an MLP or a CNN that outputs logits
    build_optimizer(config, model.parameters())       -> SGD, Adam or AdamW
    build_schedule(config, optimizer)                 -> a learning-rate schedule, or None
    every epoch: train_epoch(...), then evaluate(model, xval, yval) -> (loss, accuracy,
                 the accuracy of each class)

The loss (loss_of(config): cross-entropy by default, or mse, hinge) of the logits is summed
over the batch as in the course (so SGD's learning rate depends on the batch size: lr 0.0001
with batches of 128 for MNIST), or averaged with reduction='mean'. The optimizer, the schedule
and the loss are those that the config's rows of OPTIMIZERS, SCHEDULES and LOSSES
(vugrad.lab.tables) name, as in the torch backend.

This module is the vugrad backend only. The same run in PyTorch is vugrad.lab.torch_backend;
`vugrad.lab.run(config)` (vugrad.lab.runner) picks between the two by `config.backend`.
"""

import dataclasses
import functools

import numpy as np

from .. import functions as F
from ..core import TensorNode, no_grad
from ..errors import InvalidArgumentError
from .config import TrainConfig

# -- load_data, build_model and write_metrics live in vugrad.lab.loop (both backends use them);
#    they are named here too: `from vugrad.lab.train import TrainConfig, load_data, train`
from .loop import (
    build_model,  # noqa: F401 - named here too (see above)
    default_progress,
    evaluate_in_chunks,
    load_and_log,
    load_data,  # noqa: F401 - named here too (see above)
    model_to_train,
    run_batches,
    run_epochs,
    write_metrics,  # noqa: F401 - named here too (see above)
)
from .models import loss_of
from .tables import choice

# ---------------------------------------------------------------------- building blocks

def build_optimizer(config, params):
    """
    The optimizer of `config` for the parameters `params`: the vugrad class of its row of
    vugrad.lab.tables.OPTIMIZERS, with the keyword arguments the row takes from the config.
    """
    row = choice('optimizer', config.optimizer)
    return row.vugrad(params, **row.keywords(config))


def build_schedule(config, optimizer):
    """
    The learning-rate schedule of `config` (stepped once per epoch), from its row of
    vugrad.lab.tables.SCHEDULES, or None (schedule 'none').
    """
    row = choice('schedule', config.schedule)
    return None if row is None else row.vugrad(optimizer, **row.keywords(config))


def evaluate(model, x, y, batch_size=None, loss=None, num_classes=None):
    """
    The mean loss per instance (the summed loss over len(x)) and the accuracy of `model` on
    (x, y), in evaluation mode (no dropout, batch norm's running statistics) and without
    building a graph. Returns (loss, accuracy), and with num_classes given a third item: the
    accuracy of each class (a list of num_classes floats, NaN for a class not in y).

    :param batch_size: instances per forward pass (None: 1000 feature vectors, or 200 images,
        which bounds the memory of a convolution's im2col).
    :param loss: (logits, targets, reduction) -> node, as loss_of(config) gives; None: the
        cross-entropy.
    """
    loss = loss or F.cross_entropy

    def forward(xb, yb):
        logits = model(xb)
        return float(loss(logits, yb, reduction='sum').value), logits.value.argmax(axis=1)

    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return evaluate_in_chunks(x, y, batch_size, forward, num_classes)
    finally:
        model.train(was_training)


def train_epoch(model, optimizer, loader, reduction='sum', bar=None, loss=None, limit=None):
    """
    One pass over `loader`: forward, loss (None: the cross-entropy), backward, optimizer step,
    for every batch. Returns the mean training loss per instance: each batch's loss summed over
    its instances, as evaluate's, whatever `reduction` the steps take (MSE's 'mean' divides by
    every logit, N * C), so the training and the validation loss have one scale.

    :param limit: the run's LossLimit (vugrad.lab.loop.run_batches).
    """
    model.train()
    loss_function = loss or F.cross_entropy

    def step(xb, yb):
        # -- the batch goes in as a plain array: a constant, so no gradient is computed for it
        logits = model(xb)
        loss = loss_function(logits, yb, reduction=reduction)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        summed = float(loss.value) if reduction == 'sum' else _summed(loss_function, logits, yb)
        loss.clear()         # -- let go of the graph, so its memory is freed now
        return summed
    return run_batches(loader, step, bar, limit)


def _summed(loss_function, logits, targets):
    """The loss of the logits summed over the batch, without a graph (for the report only)."""
    with no_grad():
        return float(loss_function(TensorNode(logits.value), targets, reduction='sum').value)


# ---------------------------------------------------------------------- the run

def train(config=None, *, model=None, callback=None, progress=None, log=print, **overrides):
    """
    Train as `config` says (a TrainConfig; keyword overrides change fields of it) and return
    the per-epoch metrics: a list of dicts with the keys

        epoch       1, 2, ...
        train_loss  the mean loss per training instance during the epoch
        val_loss    the mean loss per validation instance after the epoch
        val_acc     the validation accuracy after the epoch
        seconds     the wall-clock time of the epoch's training pass (without validation)
        lr          the learning rate used in the epoch

    :param model: a Module to train instead of build_model(config, ...), or a function
        (config, num_features, num_classes) -> Module, where num_features is the number of
        features of flat data and the shape of one instance (C, H, W) for images. It must
        output logits.
    :param callback: called as callback(metrics_row, model) after every epoch; if it returns
        True, training stops.
    :param progress: show a progress bar per epoch; None means config.progress, and if that is
        None too, whether stderr is a terminal.
    :param log: where the report lines go (print by default); None for a quiet run.
    :raises InvalidArgumentError: for settings that cannot work (every problem of
        TrainConfig.validate at once, before the data is loaded), and for config.backend other
        than 'vugrad' (vugrad.lab.run dispatches on it).
    :raises DivergedError: when a batch's training loss becomes NaN or inf; its .epoch and
        .batch say where, its .metrics holds the epochs finished before.
    """
    config = dataclasses.replace(config or TrainConfig(), **overrides).validate()
    if config.backend != 'vugrad':
        raise InvalidArgumentError(
            f'vugrad.lab.train.train trains with vugrad only, not backend={config.backend!r}: '
            'use vugrad.lab.run(config) (vugrad.lab.runner), which picks the backend.')
    log = log or (lambda *args, **kwargs: None)
    if progress is None:
        progress = config.progress if config.progress is not None else default_progress()

    if config.seed is not None:
        np.random.seed(config.seed)   # -- the weights (and dropout masks) come from here

    data = load_and_log(config, log)
    num_classes = data[2]
    # -- a vugrad Module has parameters; a function that makes one does not
    model = model_to_train(config, model, data, is_model=lambda m: hasattr(m, 'parameters'))
    optimizer = build_optimizer(config, model.parameters())
    schedule = build_schedule(config, optimizer)
    count = sum(p.value.size for p in model.parameters())
    log(f'## model: {model!r}, {count:,} parameters')
    log(f'## optimizer: {optimizer!r}')

    loss = loss_of(config)
    return run_epochs(config, model, optimizer, schedule, data,
                      train_epoch=functools.partial(train_epoch, loss=loss),
                      evaluate=functools.partial(evaluate, loss=loss, num_classes=num_classes),
                      get_lr=lambda opt: opt.lr,
                      save=lambda m, path: m.save(path), callback=callback, progress=progress,
                      log=log)
