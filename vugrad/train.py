"""
The training loop of the course's experiment (experiments/train_mlp.py, `vugrad train`),
as small functions that other code can reuse.

    from vugrad.train import TrainConfig, train
    metrics = train(TrainConfig(data='mnist', lr=0.0001))        # the course's MNIST run
    metrics[-1]['val_acc']

A run is described by one TrainConfig (every default visible below) and goes:

    load_data(config)                                 -> (xtrain, ytrain), (xval, yval), classes
    build_model(config, num_features, num_classes)    -> an MLP that outputs logits
    build_optimizer(config, model.parameters())       -> SGD, Adam or AdamW
    build_schedule(config, optimizer)                 -> a learning-rate schedule, or None
    every epoch: train_epoch(...), then evaluate(model, xval, yval) -> (loss, accuracy)

The loss is the cross-entropy of the logits, summed over the batch as in the course (so SGD's
learning rate depends on the batch size: lr 0.0001 with batches of 128 for MNIST).
"""

import argparse
import csv
import dataclasses
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from . import functions as F
from .core import no_grad
from .data import DataLoader, load_fashion_mnist, load_mnist, load_synth
from .nn import MLP
from .nn.activation import ACTIVATIONS
from .nn.init import SCHEMES
from .optim import SGD, Adam, AdamW, CosineAnnealingLR, StepLR

DATASETS = ('synth', 'mnist', 'fashion-mnist')
OPTIMIZERS = ('sgd', 'adam', 'adamw')
SCHEDULES = ('none', 'step', 'cosine')


@dataclass
class TrainConfig:
    """Everything that defines a training run. The defaults are the course's."""

    # -- data
    data: str = 'synth'              # synth | mnist | fashion-mnist
    data_dir: str | None = None      # a folder whose mnist/ holds the files (None: $VUGRAD_DATA,
    #                                  else the cache folder, downloading what is missing)
    final: bool = False              # MNIST: train on all 60,000, validate on the 10,000 test set
    num_train: int | None = None     # use only this many training instances (None: all;
    #                                  synth makes 60,000)
    num_val: int | None = None       # ... and validation instances (None: all; synth: 10,000)
    pixels: str = 'raw'              # MNIST pixel values: raw 0..255, as the course's data (its
    #                                  lr 0.0001 is tuned for them) | unit: scaled to [0, 1]
    # -- model
    hidden: int | None = None        # hidden layer width (None: 4 x the number of features)
    layers: int = 1                  # number of hidden layers
    activation: str = 'sigmoid'      # sigmoid | relu | tanh
    residual: bool = False           # h = h + act(Linear(h)) between hidden layers
    init: str = 'glorot'             # glorot | he | normal | uniform | zeros
    dropout: float = 0.0             # dropout probability after each hidden activation
    # -- optimization
    optimizer: str = 'sgd'           # sgd | adam | adamw
    lr: float = 0.01                 # learning rate (the course: 0.0001 for MNIST)
    momentum: float = 0.0            # SGD momentum
    nesterov: bool = False           # SGD: Nesterov momentum
    weight_decay: float | None = None  # None: the optimizer's default (0; AdamW 0.01)
    schedule: str = 'none'           # learning-rate schedule: none | step | cosine
    step_size: int = 10              # step schedule: multiply lr by gamma every step_size epochs
    gamma: float = 0.1
    batch_size: int = 128
    epochs: int = 20
    reduction: str = 'sum'           # the loss over a batch: sum (the course's) | mean
    shuffle: bool = True             # a new random order of the training data every epoch
    # -- the run
    seed: int | None = None          # seeds NumPy's global RNG and the data order
    dtype: str = 'float32'           # float32 | float64, of the data and the parameters
    backend: str = 'vugrad'          # vugrad | torch: the same run in PyTorch (torch_backend.py)
    out: str | None = None           # write the per-epoch metrics here (.json or .csv)
    save: str | None = None          # save the trained parameters here (.npz)
    progress: bool | None = None     # a progress bar per epoch (None: if stderr is a terminal)

    def validate(self):
        """Raise ValueError for a setting that cannot work, before anything is loaded."""
        def choose(name, options):
            if getattr(self, name) not in options:
                raise ValueError(f'{name}={getattr(self, name)!r}: choose one of '
                                 f'{", ".join(options)}.')
        choose('data', DATASETS)
        choose('activation', tuple(ACTIVATIONS))
        choose('init', tuple(SCHEMES))
        choose('optimizer', OPTIMIZERS)
        choose('schedule', SCHEDULES)
        choose('reduction', ('sum', 'mean'))
        choose('dtype', ('float32', 'float64'))
        choose('pixels', ('raw', 'unit'))
        choose('backend', ('vugrad', 'torch'))
        for name in ('batch_size', 'epochs', 'layers', 'hidden', 'num_train', 'num_val',
                     'step_size'):
            value = getattr(self, name)
            if value is not None and value < (0 if name in ('epochs', 'layers') else 1):
                raise ValueError(f'{name}={value}: must be a positive number.')
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f'dropout={self.dropout}: must lie in [0, 1).')
        if self.nesterov and self.momentum <= 0:
            raise ValueError('nesterov needs a momentum above 0 (e.g. --momentum 0.9).')
        if self.optimizer != 'sgd' and (self.momentum or self.nesterov):
            raise ValueError(f'momentum and nesterov are SGD settings; {self.optimizer} has its '
                             'own (betas).')
        if self.out is not None and not self.out.endswith(('.json', '.csv')):
            raise ValueError(f'out={self.out!r}: the file name must end in .json or .csv.')
        if self.save is not None and not self.save.endswith('.npz'):
            raise ValueError(f'save={self.save!r}: the file name must end in .npz.')
        return self


# ---------------------------------------------------------------------- building blocks

def load_data(config):
    """The data set of `config`: ``(xtrain, ytrain), (xval, yval), num_classes``."""
    dtype = np.dtype(config.dtype)
    if config.data == 'synth':
        return load_synth(num_train=config.num_train or 60_000, num_val=config.num_val or 10_000,
                          seed=config.seed, dtype=dtype)
    loader = load_mnist if config.data == 'mnist' else load_fashion_mnist
    # -- pixels='raw' gives the values 0..255, as the course's loader did: its learning rate
    #    (0.0001, with the summed loss) is tuned for them; on [0, 1] pixels the first layer
    #    learns 255^2 times more slowly.
    (xtrain, ytrain), (xval, yval), num_classes = loader(
        final=config.final, flatten=True, data_dir=config.data_dir, dtype=dtype,
        pixels=config.pixels)
    xtrain, ytrain = xtrain[:config.num_train], ytrain[:config.num_train]
    xval, yval = xval[:config.num_val], yval[:config.num_val]
    return (xtrain, ytrain), (xval, yval), num_classes


def build_model(config, num_features, num_classes):
    """The MLP of `config`; it outputs logits."""
    return MLP(num_features, num_classes, hidden=config.hidden, layers=config.layers,
               activation=config.activation, residual=config.residual, init=config.init,
               dropout=config.dropout, dtype=np.dtype(config.dtype))


def build_optimizer(config, params):
    """The optimizer of `config` for the parameters `params`."""
    extra = {} if config.weight_decay is None else {'weight_decay': config.weight_decay}
    if config.optimizer == 'sgd':
        return SGD(params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                   **extra)
    return (Adam if config.optimizer == 'adam' else AdamW)(params, lr=config.lr, **extra)


def build_schedule(config, optimizer):
    """The learning-rate schedule of `config` (stepped once per epoch), or None."""
    if config.schedule == 'step':
        return StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    if config.schedule == 'cosine':
        return CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    return None


def evaluate(model, x, y, batch_size=1000):
    """
    The mean cross-entropy loss per instance and the accuracy of `model` on (x, y), in
    evaluation mode (no dropout) and without building a graph. Returns (loss, accuracy).
    """
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    try:
        with no_grad():
            for fr in range(0, len(x), batch_size):
                logits = model(x[fr:fr + batch_size])
                targets = y[fr:fr + batch_size]
                total += float(F.cross_entropy(logits, targets, reduction='sum').value)
                correct += int((logits.value.argmax(axis=1) == targets).sum())
    finally:
        model.train(was_training)
    n = max(len(x), 1)
    return total / n, correct / n


def train_epoch(model, optimizer, loader, reduction='sum', bar=None):
    """
    One pass over `loader`: forward, loss, backward, optimizer step, for every batch. Returns
    the mean training loss per instance.
    """
    model.train()

    def step(xb, yb):
        # -- the batch goes in as a plain array: a constant, so no gradient is computed for it
        loss = F.cross_entropy(model(xb), yb, reduction=reduction)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        loss.clear()         # -- let go of the graph, so its memory is freed now
        return float(loss.value)
    return run_batches(loader, step, reduction, bar)


def run_batches(loader, step, reduction='sum', bar=None):
    """
    Call step(xb, yb) -> the batch's loss for every batch of `loader`, ticking the progress bar;
    return the mean loss per instance (whichever library the step uses).
    """
    total, n = 0.0, 0
    for i, (xb, yb) in enumerate(loader):
        total += step(xb, yb) * (len(yb) if reduction == 'mean' else 1)
        n += len(yb)
        if bar is not None:
            bar.update(1)
            if i % 20 == 0:
                bar.set_postfix(loss=f'{total / n:.4f}', refresh=False)
    return total / max(n, 1)


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
        (config, num_features, num_classes) -> Module. It must output logits.
    :param callback: called as callback(metrics_row, model) after every epoch; if it returns
        True, training stops.
    :param progress: show a progress bar per epoch; None means config.progress, and if that is
        None too, whether stderr is a terminal.
    :param log: where the report lines go (print by default); None for a quiet run.
    """
    config = dataclasses.replace(config or TrainConfig(), **overrides).validate()
    if config.backend == 'torch':     # -- the same run, step for step, in PyTorch
        from .torch_backend import train as train_torch
        return train_torch(config, model=model, callback=callback, progress=progress, log=log)
    log = log or (lambda *args, **kwargs: None)
    if progress is None:
        progress = config.progress if config.progress is not None else sys.stderr.isatty()

    if config.seed is not None:
        np.random.seed(config.seed)   # -- the weights (and dropout masks) come from here

    data = load_and_log(config, log)
    (xtrain, ytrain), (xval, yval), num_classes = data

    num_features = xtrain.shape[1]
    if model is None:
        model = build_model(config, num_features, num_classes)
    elif callable(model) and not hasattr(model, 'parameters'):
        model = model(config, num_features, num_classes)
    optimizer = build_optimizer(config, model.parameters())
    schedule = build_schedule(config, optimizer)
    count = sum(p.value.size for p in model.parameters())
    log(f'## model: {model!r}, {count:,} parameters')
    log(f'## optimizer: {optimizer!r}')

    return run_epochs(config, model, optimizer, schedule, data, train_epoch=train_epoch,
                      evaluate=evaluate, get_lr=lambda opt: opt.lr,
                      save=lambda m, path: m.save(path), callback=callback, progress=progress,
                      log=log)


def load_and_log(config, log):
    """Log the config, load its data set, log the data's sizes and classes; return the data."""
    log('## config: ' + ' '.join(f'{k}={v}' for k, v in dataclasses.asdict(config).items()))
    (xtrain, ytrain), (xval, yval), num_classes = data = load_data(config)
    log('## loaded data:')
    log(f'         number of instances: {len(xtrain)} in training, {len(xval)} in validation')
    log(f' training class distribution: {np.bincount(ytrain, minlength=num_classes)}')
    log(f'     val. class distribution: {np.bincount(yval, minlength=num_classes)}')
    return data


def run_epochs(config, model, optimizer, schedule, data, *, train_epoch, evaluate, get_lr, save,
               callback=None, progress=False, log=print):
    """
    The epochs of a run, whichever library does the work (vugrad here, PyTorch in
    vugrad.torch_backend): train, validate, log and collect a metrics row per epoch, step the
    schedule; then write the metrics and the parameters if asked, and state the final accuracy.

    :param train_epoch: (model, optimizer, loader, reduction, bar) -> mean training loss.
    :param evaluate: (model, x, y) -> (mean loss, accuracy).
    :param get_lr: optimizer -> the learning rate of the coming epoch.
    :param save: (model, path) -> None.
    """
    (xtrain, ytrain), (xval, yval), _ = data
    loader = DataLoader(xtrain, ytrain, batch_size=config.batch_size, shuffle=config.shuffle,
                        seed=config.seed)
    log('\n## starting training')
    metrics = []
    for epoch in range(1, config.epochs + 1):
        lr = get_lr(optimizer)
        bar = _progress_bar(len(loader), f'epoch {epoch}/{config.epochs}') if progress else None
        start = time.perf_counter()
        try:
            train_loss = train_epoch(model, optimizer, loader, config.reduction, bar)
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - start
        val_loss, val_acc = evaluate(model, xval, yval)
        row = {'epoch': epoch, 'train_loss': train_loss, 'val_loss': val_loss,
               'val_acc': val_acc, 'seconds': seconds, 'lr': lr}
        metrics.append(row)
        log(f'epoch {epoch:03}  train loss {train_loss:.4f}  val loss {val_loss:.4f}  '
            f'val acc {val_acc:.4f}  ({seconds:.1f} s)')
        if schedule is not None:
            schedule.step()
        if callback is not None and callback(row, model):
            log('## stopped by the callback')
            break

    if config.out:
        write_metrics(config.out, metrics, config)
        log(f'## wrote the metrics to {config.out}')
    if config.save:
        save(model, config.save)
        log(f'## saved the parameters to {config.save}')
    if config.final:
        log('## (with --final, the validation set is the test set)')
    final = metrics[-1]['val_acc'] if metrics else evaluate(model, xval, yval)[1]
    log(f'final validation accuracy: {final:.4f}')
    return metrics


def _progress_bar(total, desc):
    """A tqdm bar on stderr, or None when tqdm is not installed (it is an optional extra)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit='batch', leave=False, file=sys.stderr,
                dynamic_ncols=True)


def write_metrics(path, metrics, config=None):
    """
    Write per-epoch metrics to `path`, atomically: a .csv file gets one row per epoch under a
    header; a .json file gets {"config": {...}, "metrics": [...]}.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, 'w', newline='') as f:
            if path.endswith('.csv'):
                fields = list(metrics[0]) if metrics else ['epoch', 'train_loss', 'val_loss',
                                                           'val_acc', 'seconds', 'lr']
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(metrics)
            elif path.endswith('.json'):
                cfg = dataclasses.asdict(config) if config is not None else None
                json.dump({'config': cfg, 'metrics': metrics}, f, indent=2)
                f.write('\n')
            else:
                raise ValueError(f'write_metrics: {path!r} must end in .json or .csv.')
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ---------------------------------------------------------------------- command-line options

def add_model_arguments(parser):
    """The options that shape the model (shared by `vugrad train` and `vugrad graph`)."""
    d = TrainConfig()
    add = parser.add_argument
    add('--activation', default=d.activation, choices=tuple(ACTIVATIONS),
        help='the hidden nonlinearity (default: %(default)s)')
    add('--hidden', default=d.hidden, type=int, metavar='N',
        help='the width of the hidden layers (default: 4 x the number of features)')
    add('--layers', default=d.layers, type=int, metavar='N',
        help='the number of hidden layers (default: %(default)s)')
    add('--residual', action='store_true', default=d.residual,
        help='residual connections h = h + act(Linear(h)) between hidden layers')
    add('--init', default=d.init, choices=tuple(SCHEMES),
        help='the weight initialization (default: %(default)s)')
    add('--dropout', default=d.dropout, type=float, metavar='P',
        help='dropout probability after each hidden layer (default: %(default)s)')


def add_train_arguments(parser):
    """
    Add the training options to an argparse parser: the course's -D -b -e -l and the rest. The
    defaults come from TrainConfig, and each option's dest is the name of its field.
    """
    d = TrainConfig()
    add = parser.add_argument
    add('-D', '--dataset', dest='data', default=d.data, choices=DATASETS,
        help='the data set (default: %(default)s)')
    add('-b', '--batch-size', dest='batch_size', default=d.batch_size, type=int,
        help='instances per forward/backward pass (default: %(default)s)')
    add('-e', '--epochs', dest='epochs', default=d.epochs, type=int,
        help='complete passes over the training data (default: %(default)s)')
    add('-l', '--learning-rate', dest='lr', default=d.lr, type=float,
        help='the learning rate (default: %(default)s; 0.0001 for MNIST with the summed loss)')
    add_model_arguments(parser)
    add('--optimizer', default=d.optimizer, choices=OPTIMIZERS,
        help='the optimizer (default: %(default)s)')
    add('--momentum', default=d.momentum, type=float, metavar='F',
        help='SGD momentum (default: %(default)s)')
    add('--nesterov', action='store_true', default=d.nesterov, help='SGD: Nesterov momentum')
    add('--weight-decay', dest='weight_decay', default=d.weight_decay, type=float, metavar='F',
        help="weight decay (default: the optimizer's: 0, AdamW 0.01)")
    add('--schedule', default=d.schedule, choices=SCHEDULES,
        help='learning-rate schedule, stepped every epoch (default: %(default)s)')
    add('--step-size', dest='step_size', default=d.step_size, type=int, metavar='N',
        help='--schedule step: epochs between decays (default: %(default)s)')
    add('--gamma', default=d.gamma, type=float, metavar='F',
        help='--schedule step: the decay factor (default: %(default)s)')
    add('--reduction', default=d.reduction, choices=('sum', 'mean'),
        help='the loss over a batch (default: %(default)s, as in the course)')
    add('--no-shuffle', dest='shuffle', action='store_false', default=d.shuffle,
        help='visit the training data in the same order every epoch')
    add('--seed', default=d.seed, type=int, metavar='N',
        help='random seed, for a reproducible run (default: none)')
    add('--dtype', default=d.dtype, choices=('float32', 'float64'),
        help='float precision of data and parameters (default: %(default)s)')
    add('--backend', default=d.backend, choices=('vugrad', 'torch'),
        help='the library that trains: vugrad, or torch (PyTorch, with the same model, initial '
             'weights, batches and optimizer) (default: %(default)s)')
    add('--data-dir', dest='data_dir', default=d.data_dir, metavar='DIR',
        help='a folder whose mnist/ holds the MNIST files (default: $VUGRAD_DATA, else the cache)')
    add('--final', action='store_true', default=d.final,
        help='MNIST: train on all 60,000 and validate on the test set')
    add('--pixels', default=d.pixels, choices=('raw', 'unit'),
        help='MNIST pixel values: raw 0..255 as in the course (its lr 0.0001 is tuned for '
             'them), or unit: scaled to [0, 1] (default: %(default)s)')
    add('--num-train', dest='num_train', default=d.num_train, type=int, metavar='N',
        help='use only N training instances')
    add('--num-val', dest='num_val', default=d.num_val, type=int, metavar='N',
        help='use only N validation instances')
    add('--out', default=d.out, metavar='FILE',
        help='write the per-epoch metrics to FILE (.json or .csv)')
    add('--save', default=d.save, metavar='FILE', help='save the trained parameters (.npz)')
    add('--progress', action=argparse.BooleanOptionalAction, default=d.progress,
        help='show a progress bar per epoch (default: when stderr is a terminal)')
    return parser


def config_from_args(args):
    """The TrainConfig for parsed arguments from a parser that add_train_arguments filled."""
    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                          if hasattr(args, f.name)})


def train_command(args):
    """Run `vugrad train` (and experiments/train_mlp.py): train, and exit 0."""
    try:
        config = config_from_args(args).validate()
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    train(config)
    return 0
