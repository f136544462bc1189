"""
The same training run in PyTorch (the course's Part 3), step for step, so a learner can put
the two libraries side by side: `vugrad train --backend torch`, `vugrad sweep --vary
backend=vugrad,torch`, or from Python

    from vugrad.lab.config import TrainConfig
    from vugrad.lab.torch_backend import train
    metrics = train(TrainConfig(data='mnist', lr=0.0001, seed=0))

(or `vugrad.lab.run(TrainConfig(..., backend='torch'))`, which picks this module).

What is the same as vugrad.lab.train.train, by construction:

    the model        build_model(config, ...) converted by to_torch: the MLP as a TorchMLP
                     (same layer sizes, activation and residual connections), a CNN
                     (--model lenet|blitz) as the same torch.nn layers one for one (Conv2d,
                     BatchNorm2d/1d, MaxPool2d, Flatten, Linear, activations, TorchResidual)
    the weights      drawn by vugrad's own init code under the same seed, then copied in, with
                     batch norm's running statistics: the same seed gives the same initial
                     weights and buffers, so the same first loss
    the data         vugrad's load_data and DataLoader with the same seed: the same batches,
                     in the same order, every epoch
    the optimizer    torch.optim.SGD / Adam / AdamW with the same settings (vugrad's
                     optimizers follow PyTorch's update rules), torch's StepLR / cosine schedule:
                     the torch column of their rows in vugrad.lab.tables' OPTIMIZERS and
                     SCHEDULES, which the vugrad backend builds from too
    the loss         --loss: F.cross_entropy, F.mse_loss on one-hot targets or
                     F.multi_margin_loss, with the same reduction (sum or mean); torch_loss,
                     from the rows of LOSSES
    the metrics      the same rows, per-class validation accuracy included
    checkpoints      --save writes parameters and buffers under vugrad's names and shapes
                     (vugrad_state_dict), so vugrad's Module.load reads them; a vugrad
                     checkpoint loads into a converted model with load_vugrad_state

What differs: dropout masks come from torch's random generator (seeded with the same seed),
not NumPy's; and the arithmetic is torch's (other summation orders), so float32 runs drift
apart by rounding over many steps, while float64 runs stay together far longer.

PyTorch is an optional dependency: this module is imported only when the torch backend is
asked for (by vugrad.lab.runner). It shares the config and the epoch loop with the vugrad
backend (vugrad.lab.config, vugrad.lab.loop), and imports nothing of vugrad.lab.train.
"""

import dataclasses
import functools
import itertools

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('the torch backend needs PyTorch (pip install torch); vugrad itself '
                      'does not.') from e

from .. import nn as vnn
from ..errors import InvalidArgumentError
from ..fileio import save_arrays
from .config import TrainConfig
from .loop import (default_progress, evaluate_in_chunks, load_and_log, model_to_train,
                   run_batches, run_epochs)
from .tables import choice, twin_in

__all__ = [
    'TorchMLP',
    'TorchResidual',
    'build_torch_optimizer',
    'build_torch_schedule',
    'from_vugrad',
    'load_vugrad_state',
    'to_torch',
    'torch_evaluate',
    'torch_loss',
    'train',
    'vugrad_state_dict',
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


class TorchResidual(nn.Module):
    """vugrad.nn.Residual in PyTorch: activation(block(x) + x) (no activation where it is None)."""

    def __init__(self, block, activation=None):
        super().__init__()
        self.block, self.activation = block, activation

    def forward(self, x):
        y = self.block(x) + x
        return y if self.activation is None else self.activation(y)


def _array(value):
    return torch.from_numpy(np.array(value, copy=True))


def to_torch(module, dtype=None):
    """
    The torch.nn network of the vugrad module `module`, with a copy of its current weights,
    biases and buffers (so both backends start from the same draws), in its dtype (or `dtype`,
    a torch dtype). It converts Sequential, Residual, Conv2d, Linear, BatchNorm1d/2d,
    MaxPool2d, AvgPool2d, Flatten, Dropout and the activation modules, nested in any way, and
    the course's MLP (as a TorchMLP); each torch module starts in its vugrad module's
    training or evaluation mode.

    The result carries `vugrad_names`: its state_dict's names -> (vugrad's name, vugrad's
    shape), which vugrad_state_dict and load_vugrad_state use to translate checkpoints.

    :raises InvalidArgumentError: for a module it cannot convert.
    """
    if dtype is None:
        params = module.parameters()
        dtype = TORCH_DTYPES[str(params[0].value.dtype)] if params else torch.get_default_dtype()
    conversion = _Conversion(dtype)
    tmodel = conversion.convert(module, '', '')
    tmodel.vugrad_names = conversion.names
    return tmodel


class _Conversion:
    """
    One call of to_torch: the torch twin of each vugrad module, in `dtype`, and `names`, the
    twin's state_dict names -> (vugrad's name, vugrad's shape), filled on the way. In each
    method, vpre and tpre are the prefixes of the module's names in vugrad and in torch.
    """

    def __init__(self, dtype):
        self.dtype, self.names = dtype, {}

    def convert(self, m, vpre, tpre):
        """The torch twin of the vugrad module `m`, and of every module inside it."""
        if isinstance(m, vnn.Sequential):
            out = nn.Sequential(*[self.convert(layer, f'{vpre}layers.{i}.', f'{tpre}{i}.')
                                  for i, layer in enumerate(m.layers)])
        elif isinstance(m, vnn.Residual):
            out = self.residual(m, vpre, tpre)
        elif isinstance(m, (vnn.Conv2d, vnn.Linear)):
            out = self.weight_and_bias(self.layer(m), m, vpre, tpre)
        elif isinstance(m, (vnn.BatchNorm1d, vnn.BatchNorm2d)):
            out = self.batchnorm(m, vpre, tpre)
        elif isinstance(m, vnn.MLP):
            out = self.mlp(m, vpre, tpre)
        elif isinstance(m, (vnn.MaxPool2d, vnn.AvgPool2d)):
            cls = nn.MaxPool2d if isinstance(m, vnn.MaxPool2d) else nn.AvgPool2d
            out = cls(m.kernel_size, stride=m.stride)
        elif isinstance(m, vnn.Dropout):
            out = nn.Dropout(m.p)
        elif type(m) in _SIMPLE:
            out = _SIMPLE[type(m)]()
        else:
            raise InvalidArgumentError(f'to_torch: cannot convert a {type(m).__name__}; it '
                                       'converts ' + ', '.join(_CONVERTS) + '.')
        out.training = bool(m.training)    # -- this module's mode only, as vugrad's
        return out

    def param(self, tname, vname, node):
        """Record torch's name `tname` as vugrad's `vname`, of the shape of `node`."""
        self.names[tname] = (vname, tuple(node.value.shape))

    def residual(self, m, vpre, tpre):
        block = self.convert(m.block, f'{vpre}block.', f'{tpre}block.')
        act = (None if m.activation is None else
               self.convert(m.activation, f'{vpre}activation.', f'{tpre}activation.'))
        return TorchResidual(block, act)

    def layer(self, m):
        """The torch Conv2d or Linear of the shape of `m` (weight_and_bias copies m's in)."""
        if isinstance(m, vnn.Conv2d):
            o, c, kh, kw = m.w.value.shape
            return nn.Conv2d(c, o, (kh, kw), stride=tuple(m.stride), padding=tuple(m.padding),
                             bias=m.b is not None, dtype=self.dtype)
        o, i = m.w.value.shape
        return nn.Linear(i, o, bias=m.b is not None, dtype=self.dtype)

    def weight_and_bias(self, out, m, vpre, tpre):
        """Copy a Conv2d's or Linear's w and b (vugrad's (1, out) bias flattened) into out."""
        with torch.no_grad():
            out.weight.copy_(_array(m.w.value))
            self.param(f'{tpre}weight', f'{vpre}w', m.w)
            if m.b is not None:
                out.bias.copy_(_array(m.b.value).reshape(-1))
                self.param(f'{tpre}bias', f'{vpre}b', m.b)
        return out

    def batchnorm(self, m, vpre, tpre):
        """
        A BatchNorm1d or 2d, with a copy of its weight, bias, running statistics and the count
        of the batches they have seen (num_batches_tracked, which momentum=None averages over:
        a state name only then, as vugrad's).
        """
        cls = nn.BatchNorm1d if isinstance(m, vnn.BatchNorm1d) else nn.BatchNorm2d
        out = cls(m.num_features, eps=m.eps, momentum=m.momentum, dtype=self.dtype)
        with torch.no_grad():
            out.weight.copy_(_array(m.w.value))
            out.bias.copy_(_array(m.b.value))
            out.running_mean.copy_(_array(m.running_mean))
            out.running_var.copy_(_array(m.running_var))
            out.num_batches_tracked.fill_(int(m.num_batches_tracked))
        self.param(f'{tpre}weight', f'{vpre}w', m.w)
        self.param(f'{tpre}bias', f'{vpre}b', m.b)
        buffers = ('running_mean', 'running_var') + (
            ('num_batches_tracked',) if m.momentum is None else ())
        for name in buffers:
            self.names[f'{tpre}{name}'] = (f'{vpre}{name}', tuple(np.shape(getattr(m, name))))
        return out

    def mlp(self, m, vpre, tpre):
        """The course's MLP as a TorchMLP, its names under the prefixes."""
        out = _mlp_to_torch(m, self.dtype)
        for tname, (vname, shape) in out.vugrad_names.items():
            self.names[f'{tpre}{tname}'] = (f'{vpre}{vname}', shape)
        del out.vugrad_names
        return out


def _mlp_to_torch(model, dtype):
    """vugrad's MLP as a TorchMLP (from_vugrad), with the vugrad_names of to_torch."""
    from ..nn.activation import ACTIVATIONS
    act = next((name for name, cls in ACTIVATIONS.items()
                if model.activations and isinstance(model.activations[0], cls)), 'sigmoid')
    dropout = model.dropouts[0].p if model.dropouts else 0.0
    tmodel = from_vugrad(model, act, model.residual, dropout).to(dtype)
    tmodel.vugrad_names = _mlp_names(tmodel)
    return tmodel


def _mlp_names(tmodel):
    names = {}
    for name, layer in [(f'hidden.{i}', h) for i, h in enumerate(tmodel.hidden)] + \
            [('output', tmodel.output)]:
        names[f'{name}.weight'] = (f'{name}.w', tuple(layer.weight.shape))
        names[f'{name}.bias'] = (f'{name}.b', (1, layer.out_features))
    return names


def _simple_modules():
    from ..nn import Flatten, Identity, LogSoftmax, ReLU, Sigmoid, Tanh
    return {ReLU: nn.ReLU, Sigmoid: nn.Sigmoid, Tanh: nn.Tanh, Flatten: nn.Flatten,
            Identity: nn.Identity, LogSoftmax: lambda: nn.LogSoftmax(dim=-1)}


_SIMPLE = _simple_modules()
_CONVERTS = ('Sequential', 'Residual', 'Conv2d', 'Linear', 'BatchNorm1d', 'BatchNorm2d', 'MLP',
             'MaxPool2d', 'AvgPool2d', 'Dropout') + tuple(c.__name__ for c in _SIMPLE)


def vugrad_state_dict(tmodel):
    """
    The parameters and buffers of a torch model made by to_torch (or from_vugrad), as NumPy
    arrays under vugrad's names and in vugrad's shapes: what vugrad's Module.state_dict() of the
    same model holds, so `vugrad_model.load_state_dict(vugrad_state_dict(tmodel))` works.
    A torch module of any other kind gives its own state_dict, with torch's names.
    """
    state = tmodel.state_dict()
    names = getattr(tmodel, 'vugrad_names', None)
    if names is None and isinstance(tmodel, TorchMLP):
        names = _mlp_names(tmodel)
    if names is None:
        return {k: v.detach().cpu().numpy().copy() for k, v in state.items()}
    return {vname: state[tname].detach().cpu().numpy().reshape(shape).copy()
            for tname, (vname, shape) in names.items()}


def load_vugrad_state(tmodel, state):
    """
    Copy a vugrad state dict (a dict of arrays under vugrad's names: Module.state_dict(), or
    the path of a checkpoint that vugrad's Module.save or this backend's --save wrote) into a
    torch model made by to_torch; every name must be there, with its shape. Returns tmodel.
    """
    names = getattr(tmodel, 'vugrad_names', None)
    if names is None:
        if not isinstance(tmodel, TorchMLP):
            raise InvalidArgumentError('load_vugrad_state: the model was not made by to_torch.')
        names = _mlp_names(tmodel)
    if not isinstance(state, dict):
        from ..fileio import load_arrays
        state = load_arrays(state, {v: (shape, 'biuf') for v, shape in names.values()})
    missing = sorted(v for v, _ in names.values() if v not in state)
    extra = sorted(set(state) - {v for v, _ in names.values()})
    if missing or extra:
        raise InvalidArgumentError(f'load_vugrad_state: missing {missing}, unexpected {extra}.')
    own = tmodel.state_dict()
    with torch.no_grad():
        for tname, (vname, shape) in names.items():
            array = np.asarray(state[vname])
            if tuple(array.shape) != tuple(shape):
                raise InvalidArgumentError(f'load_vugrad_state: {vname} has shape '
                                           f'{array.shape}, the model needs {shape}.')
            own[tname].copy_(torch.from_numpy(np.array(array)).reshape(own[tname].shape))
    return tmodel


def build_torch_optimizer(config, params):
    """
    The torch optimizer that vugrad.lab.train.build_optimizer builds for `config`: the class of
    torch.optim that its row of vugrad.lab.tables.OPTIMIZERS names, with the same keyword
    arguments.
    """
    row = choice('optimizer', config.optimizer)
    cls = twin_in(torch.optim, 'optimizer', config.optimizer)
    return cls(params, **row.keywords(config))


def build_torch_schedule(config, optimizer):
    """The torch schedule that vugrad.lab.train.build_schedule builds for `config`, or None."""
    row = choice('schedule', config.schedule)
    if row is None:
        return None
    cls = twin_in(torch.optim.lr_scheduler, 'schedule', config.schedule)
    return cls(optimizer, **row.keywords(config))


def _tensors(x, y):
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(y, np.int64))


def torch_loss(name='cross-entropy'):
    """
    The torch loss (logits, targets, reduction) -> loss of the config's `loss`, as vugrad's:
    the function of torch.nn.functional that its row of vugrad.lab.tables.LOSSES names,

        cross-entropy   F.cross_entropy(logits, targets)
        mse             F.mse_loss(logits, one_hot(targets)): the squared error over every
                        logit (reduction 'mean' divides by N * C)
        hinge           F.multi_margin_loss(logits, targets) (margin 1, p 1): per instance
                        sum over i != y of max(0, 1 - x[y] + x[i]), divided by C
    """
    row = choice('loss', name)
    function = twin_in(nn.functional, 'loss', name)

    def loss(logits, y, reduction):
        if row.one_hot:
            y = nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype)
        return function(logits, y, reduction=reduction, **row.torch_keywords)
    return loss


def torch_evaluate(model, x, y, batch_size=None, loss='cross-entropy', num_classes=None):
    """
    vugrad.lab.train.evaluate for a torch model, in evaluation mode (no dropout, batch norm's
    running statistics): (mean loss per instance, accuracy), and with num_classes given a
    third item, the accuracy of each class (a list of num_classes floats, NaN for a class not
    in y).

    :param batch_size: instances per forward pass (None: 1000 feature vectors, or 200 images,
        as vugrad's evaluate).
    :param loss: the name of the loss (torch_loss).
    """
    lossfn = torch_loss(loss)

    def forward(xb, yb):
        logits = model(xb)
        return float(lossfn(logits, yb, 'sum')), logits.argmax(dim=1).numpy()

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return evaluate_in_chunks(x, y, batch_size, lambda xb, yb: forward(*_tensors(xb, yb)),
                                      num_classes)
    finally:
        model.train(was_training)


def train_epoch(model, optimizer, loader, reduction='sum', bar=None, loss='cross-entropy',
                limit=None):
    """
    vugrad.lab.train.train_epoch in torch: returns the mean training loss per instance (each
    batch's loss summed over its instances, whatever the reduction of the steps).
    """
    model.train()
    lossfn = torch_loss(loss)

    def step(xb, yb):
        xb, yb = _tensors(xb, yb)
        logits = model(xb)
        value = lossfn(logits, yb, reduction)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        if reduction == 'sum':
            return value.item()
        with torch.no_grad():
            return lossfn(logits.detach(), yb, 'sum').item()
    return run_batches(loader, step, bar, limit)


def train(config=None, *, model=None, callback=None, progress=None, log=print, **overrides):
    """
    vugrad.lab.train.train with PyTorch doing the work: the same arguments and the same per-epoch
    metrics (epoch, train_loss, val_loss, val_acc, seconds, lr, and per-class accuracy where
    the vugrad backend reports it).

    The model is vugrad's build_model(config, ...), drawn from the same seed and converted by
    to_torch (the MLP as a TorchMLP; a CNN, config.model 'lenet' or 'blitz', as the same
    torch.nn layers with the same weights and batch-norm buffers).

    :param model: a torch.nn.Module to train instead, a vugrad Module (converted by to_torch),
        or a function (config, num_features, num_classes) -> one of those (num_features is
        the input's shape without the batch axis for a CNN).
    :param callback: called as callback(metrics_row, model) after every epoch (model is the
        torch module); if it returns True, training stops.
    :raises InvalidArgumentError: for settings that cannot work, before the data is loaded.
    :raises DivergedError: when a batch's training loss becomes NaN or inf (the check is the
        shared loop's, vugrad.lab.loop.run_batches, as for the vugrad backend).
    """
    from ..core import Module
    config = dataclasses.replace(config or TrainConfig(), **overrides).validate()
    log = log or (lambda *args, **kwargs: None)
    if progress is None:
        progress = config.progress if config.progress is not None else default_progress()
    loss = getattr(config, 'loss', 'cross-entropy')

    if config.seed is not None:
        np.random.seed(config.seed)   # -- vugrad's init code draws the weights from here
        torch.manual_seed(config.seed)  # -- and torch's dropout masks from here

    log(f'## backend: torch {torch.__version__}, {torch.get_num_threads()} threads')
    data = load_and_log(config, log)
    num_classes = data[2]
    # -- vugrad's model by default (the same draws from the same seed, as vugrad's train()),
    #    then its weights and buffers copied into torch's
    model = model_to_train(config, model, data,
                           is_model=lambda m: isinstance(m, (nn.Module, Module)))
    if isinstance(model, Module):
        model = to_torch(model, TORCH_DTYPES[config.dtype])
    optimizer = build_torch_optimizer(config, model.parameters())
    schedule = build_torch_schedule(config, optimizer)
    count = sum(p.numel() for p in model.parameters())
    log(f'## model: {model!r}, {count:,} parameters')
    log(f'## optimizer: {type(optimizer).__name__}({optimizer.defaults})')

    epoch = functools.partial(train_epoch, loss=loss)
    evaluate = functools.partial(torch_evaluate, loss=loss, num_classes=num_classes)
    return run_epochs(config, model, optimizer, schedule, data, train_epoch=epoch,
                      evaluate=evaluate, get_lr=lambda opt: opt.param_groups[0]['lr'],
                      save=_save, callback=callback, progress=progress, log=log)


def _save(model, path):
    """
    Save a torch model's parameters and buffers under vugrad's names and shapes (see
    vugrad_state_dict), atomically, so vugrad's Module.load reads them; a module that to_torch
    did not make is saved with torch's names.
    """
    save_arrays(path, vugrad_state_dict(model))
