"""
The same training run in PyTorch (the course's Part 3), step for step, so a learner can put
the two libraries side by side: `vugrad train --backend torch`, `vugrad sweep --vary
backend=vugrad,torch`, or from Python

    from vugrad.lab.config import TrainConfig
    from vugrad.lab.torch_backend import train
    metrics = train(TrainConfig(data='mnist', lr=0.0001, seed=0))

(or `vugrad.lab.run(TrainConfig(..., backend='torch'))`, which picks this module).

What is the same as vugrad.lab.train.train, by construction:

    the model        the MLP of build_model(config, ...): same layer sizes, activation and
                     residual connections (TorchMLP below, a plain torch.nn.Module)
    the weights      drawn by vugrad's own init code under the same seed, then copied in:
                     the same seed gives the same initial weights, so the same first loss
    the data         vugrad's load_data and DataLoader with the same seed: the same batches,
                     in the same order, every epoch
    the optimizer    torch.optim.SGD / Adam / AdamW with the same settings (vugrad's
                     optimizers follow PyTorch's update rules), torch's StepLR / cosine schedule
    the loss         torch.nn.functional.cross_entropy with the same reduction (sum or mean)

What differs: dropout masks come from torch's random generator (seeded with the same seed),
not NumPy's; and the arithmetic is torch's (other summation orders), so float32 runs drift
apart by rounding over many steps, while float64 runs stay together far longer.

PyTorch is an optional dependency: this module is imported only when the torch backend is
asked for (by vugrad.lab.runner). It shares the config and the epoch loop with the vugrad
backend (vugrad.lab.config, vugrad.lab.loop), and imports nothing of vugrad.lab.train.
"""

import dataclasses
import itertools
import sys

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('the torch backend needs PyTorch (pip install torch); vugrad itself '
                      'does not.') from e

from ..fileio import save_arrays
from .config import TrainConfig
from .loop import build_model, load_and_log, run_batches, run_epochs

__all__ = [
    'TorchMLP',
    'build_torch_optimizer',
    'build_torch_schedule',
    'from_vugrad',
    'torch_evaluate',
    'train',
]

TORCH_DTYPES = {'float32': torch.float32, 'float64': torch.float64}


class TorchMLP(nn.Module):
    """
    vugrad.nn.MLP in PyTorch: hidden Linear layers, each followed by the activation (and
    dropout), with h = h + act(Linear(h)) where `residual` is set and the width stays the same;
    then a Linear output layer. It outputs logits.

    :param sizes: the widths [input, hidden..., output].
    """

    def __init__(self, sizes, activation='sigmoid', residual=False, dropout=0.0,
                 dtype=torch.float32):
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(a, b, dtype=dtype)
                                    for a, b in itertools.pairwise(sizes[:-1]))
        self.output = nn.Linear(sizes[-2], sizes[-1], dtype=dtype)
        self.act = {'sigmoid': torch.sigmoid, 'relu': torch.relu, 'tanh': torch.tanh}[activation]
        self.activation = activation
        self.residual = bool(residual)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x):
        h = x
        for layer in self.hidden:
            a = self.act(layer(h))
            if self.dropout is not None:
                a = self.dropout(a)
            skip = self.residual and layer.in_features == layer.out_features
            h = h + a if skip else a
        return self.output(h)


def from_vugrad(model, activation, residual=False, dropout=0.0):
    """
    A TorchMLP with the architecture and the current weights of the vugrad MLP `model`.

    vugrad's Linear keeps w as (out, in), like torch's weight, and b as (1, out); the arrays
    are copied, so the two models train independently.
    """
    layers = list(model.hidden) + [model.output]
    sizes = [layers[0].input_size] + [layer.output_size for layer in layers]
    dtype = TORCH_DTYPES[str(layers[0].w.value.dtype)]
    tmodel = TorchMLP(sizes, activation=activation, residual=residual, dropout=dropout,
                      dtype=dtype)
    with torch.no_grad():
        for layer, tlayer in zip(layers, list(tmodel.hidden) + [tmodel.output]):
            tlayer.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.w.value)))
            if layer.b is None:   # -- vugrad's MLP always has biases; keep the two the same
                tlayer.bias.zero_()
            else:
                tlayer.bias.copy_(torch.from_numpy(layer.b.value.reshape(-1)))
    return tmodel


def build_torch_optimizer(config, params):
    """The torch optimizer that vugrad.lab.train.build_optimizer builds for `config`."""
    extra = {} if config.weight_decay is None else {'weight_decay': config.weight_decay}
    if config.optimizer == 'sgd':
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, **extra)
    cls = torch.optim.Adam if config.optimizer == 'adam' else torch.optim.AdamW
    return cls(params, lr=config.lr, **extra)


def build_torch_schedule(config, optimizer):
    """The torch schedule that vugrad.lab.train.build_schedule builds for `config`, or None."""
    if config.schedule == 'step':
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size,
                                               gamma=config.gamma)
    if config.schedule == 'cosine':
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    return None


def _tensors(x, y):
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(y, np.int64))


def torch_evaluate(model, x, y, batch_size=1000):
    """vugrad.lab.train.evaluate for a torch model: (mean loss per instance, accuracy)."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    try:
        with torch.no_grad():
            for fr in range(0, len(x), batch_size):
                xb, yb = _tensors(x[fr:fr + batch_size], y[fr:fr + batch_size])
                logits = model(xb)
                total += float(nn.functional.cross_entropy(logits, yb, reduction='sum'))
                correct += int((logits.argmax(dim=1) == yb).sum())
    finally:
        model.train(was_training)
    n = max(len(x), 1)
    return total / n, correct / n


def train_epoch(model, optimizer, loader, reduction='sum', bar=None):
    """vugrad.lab.train.train_epoch in torch: returns the mean training loss per instance."""
    model.train()

    def step(xb, yb):
        xb, yb = _tensors(xb, yb)
        loss = nn.functional.cross_entropy(model(xb), yb, reduction=reduction)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    return run_batches(loader, step, reduction, bar)


def train(config=None, *, model=None, callback=None, progress=None, log=print, **overrides):
    """
    vugrad.lab.train.train with PyTorch doing the work: the same arguments and the same per-epoch
    metrics (epoch, train_loss, val_loss, val_acc, seconds, lr).

    :param model: a torch.nn.Module to train instead of the copy of build_model(config, ...),
        or a function (config, num_features, num_classes) -> torch.nn.Module.
    :param callback: called as callback(metrics_row, model) after every epoch (model is the
        torch module); if it returns True, training stops.
    :raises InvalidArgumentError: for settings that cannot work, before the data is loaded.
    :raises DivergedError: when a batch's training loss becomes NaN or inf (the check is the
        shared loop's, vugrad.lab.loop.run_batches, as for the vugrad backend).
    """
    config = dataclasses.replace(config or TrainConfig(), **overrides).validate()
    log = log or (lambda *args, **kwargs: None)
    if progress is None:
        progress = config.progress if config.progress is not None else sys.stderr.isatty()

    if config.seed is not None:
        np.random.seed(config.seed)   # -- vugrad's init code draws the weights from here
        torch.manual_seed(config.seed)  # -- and torch's dropout masks from here

    log(f'## backend: torch {torch.__version__}, {torch.get_num_threads()} threads')
    data = load_and_log(config, log)
    (xtrain, ytrain), (xval, yval), num_classes = data

    num_features = xtrain.shape[1]
    if model is None:
        # -- build vugrad's model (the same draws from the same seed), then copy its weights
        vg_model = build_model(config, num_features, num_classes)
        model = from_vugrad(vg_model, config.activation, config.residual, config.dropout)
    elif not isinstance(model, nn.Module) and callable(model):
        model = model(config, num_features, num_classes)
    optimizer = build_torch_optimizer(config, model.parameters())
    schedule = build_torch_schedule(config, optimizer)
    count = sum(p.numel() for p in model.parameters())
    log(f'## model: {model!r}, {count:,} parameters')
    log(f'## optimizer: {type(optimizer).__name__}({optimizer.defaults})')

    return run_epochs(config, model, optimizer, schedule, data, train_epoch=train_epoch,
                      evaluate=torch_evaluate, get_lr=lambda opt: opt.param_groups[0]['lr'],
                      save=_save, callback=callback, progress=progress, log=log)


def _save(model, path):
    """
    Save a TorchMLP's parameters under vugrad's names (hidden.0.w, ..., output.b), atomically,
    so vugrad's MLP.load reads them; any other module is saved with torch's names.
    """
    if isinstance(model, TorchMLP):
        arrays = {}
        for name, layer in [(f'hidden.{i}', h) for i, h in enumerate(model.hidden)] + \
                [('output', model.output)]:
            arrays[f'{name}.w'] = layer.weight.detach().numpy().copy()
            arrays[f'{name}.b'] = layer.bias.detach().numpy().reshape(1, -1).copy()
    else:
        arrays = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    save_arrays(path, arrays)
