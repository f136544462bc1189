"""
The parts of a training run that do not depend on the library doing the arithmetic, shared by
both backends (vugrad.lab.train and vugrad.lab.torch_backend):

    load_data(config)                       -> (xtrain, ytrain), (xval, yval), num_classes
    build_model(config, in_shape, classes)  -> vugrad's MLP or CNN (vugrad.lab.models); the
                                               torch backend copies its weights, so both
                                               start from the same draws
    model_to_train(config, model, data, ..) -> that model, or the one a run was given
    per_class_accuracy(predicted, y, classes) -> the accuracy of each class (NaN: no examples)
    load_and_log(config, log)               -> the data, with the config and the sizes logged
                                               (the folders of --out and --save made and
                                               checked first)
    run_epochs(config, model, ...)          -> the epochs: train, validate, log, step the
                                               schedule; write the metrics and parameters
    run_batches(loader, step, ...)          -> one pass over the batches: the mean loss per
                                               instance (DivergedError at the first NaN or inf
                                               loss, or one beyond the run's LossLimit)
    write_metrics(path, metrics, config)    -> a .json or .csv file, written atomically

A backend states only what is its own: its model, optimizer and schedule, one training step,
evaluation, and how to save; run_epochs does the rest, the same way for both.
"""

import csv
import dataclasses
import math
import os
import sys
import tempfile
import time

import numpy as np

from ..data import DataLoader, load_cifar10, load_fashion_mnist, load_mnist, load_synth
from ..errors import DivergedError, InvalidArgumentError
from ..fileio import atomic_write, dumps_json
from ..nn import MLP
from .models import build_cnn, loss_of  # noqa: F401 - loss_of: for both backends' callers

__all__ = [
    'LossLimit',
    'build_model',
    'default_progress',
    'evaluate_in_chunks',
    'in_notebook',
    'load_and_log',
    'load_data',
    'make_folders',
    'model_to_train',
    'per_class_accuracy',
    'run_batches',
    'run_epochs',
    'write_metrics',
]


def load_data(config):
    """
    The data set of `config`: ``(xtrain, ytrain), (xval, yval), num_classes``. Images come
    as (n, C, H, W) for a CNN and flattened to (n, C*H*W) for the MLP.
    """
    config = config.resolved()     # -- cifar10's recipe (its pixels), if not applied yet
    dtype = np.dtype(config.dtype)
    if config.data == 'synth':
        return load_synth(num_train=config.num_train or 60_000, num_val=config.num_val or 10_000,
                          seed=config.seed, dtype=dtype)
    flatten = config.model == 'mlp'
    if config.data == 'cifar10':
        (xtrain, ytrain), (xval, yval), num_classes = load_cifar10(
            final=config.final, data_dir=config.data_dir, dtype=dtype, pixels=config.pixels)
    else:
        loader = load_mnist if config.data == 'mnist' else load_fashion_mnist
        # -- pixels='raw' gives the values 0..255, as the course's loader did: its learning
        #    rate (0.0001, with the summed loss) is tuned for them; on [0, 1] pixels the first
        #    layer learns 255^2 times more slowly. 'signed' is [0, 1] mapped to [-1, 1].
        signed = config.pixels == 'signed'
        (xtrain, ytrain), (xval, yval), num_classes = loader(
            final=config.final, flatten=False, data_dir=config.data_dir, dtype=dtype,
            pixels='unit' if signed else config.pixels)
        if signed:
            xtrain, xval = (2 * xtrain - 1).astype(dtype), (2 * xval - 1).astype(dtype)
    xtrain, ytrain = xtrain[:config.num_train], ytrain[:config.num_train]
    xval, yval = xval[:config.num_val], yval[:config.num_val]
    if flatten:
        xtrain, xval = xtrain.reshape(len(xtrain), -1), xval.reshape(len(xval), -1)
    return (xtrain, ytrain), (xval, yval), num_classes


def build_model(config, in_shape, num_classes):
    """
    The model of `config`, which outputs logits: the MLP (for in_shape, the number of features
    or the shape of one instance, flattened), or the CNN of config.model (vugrad.lab.models).
    """
    config = config.resolved()
    shape = tuple(int(s) for s in np.atleast_1d(in_shape))
    if config.model not in (None, 'mlp'):
        return build_cnn(config, shape, num_classes)
    return MLP(int(np.prod(shape)), num_classes, hidden=config.hidden, layers=config.layers,
               activation=config.activation, residual=config.residual, init=config.init,
               dropout=config.dropout, dtype=np.dtype(config.dtype))


def model_to_train(config, model, data, is_model):
    """
    The model a run trains on `data` (as load_data gives it): build_model(config, ...) where
    `model` is None; model(config, num_features, num_classes) where it is a function that
    makes one (callable, and not is_model(model)); else `model` itself. num_features is the
    number of features of flat data, and the shape of one instance (C, H, W) for images.
    """
    (xtrain, _), _, num_classes = data
    in_shape = tuple(xtrain.shape[1:])
    features = in_shape[0] if len(in_shape) == 1 else in_shape
    if model is None:
        return build_model(config, features, num_classes)
    if callable(model) and not is_model(model):
        return model(config, features, num_classes)
    return model


def evaluate_in_chunks(x, y, batch_size, forward, num_classes=None):
    """
    Evaluation shared by both backends: `forward(xb, yb)` -> (the summed loss of the chunk, its
    predicted classes), called on chunks of `batch_size` instances (None: 1000 feature vectors,
    or 200 images, which bounds the memory of a convolution's im2col). Returns (mean loss per
    instance, accuracy), and with num_classes a third item, per_class_accuracy.
    """
    batch_size = batch_size or (1000 if np.ndim(x) <= 2 else 200)
    total = 0.0
    predictions = np.zeros(len(x), dtype=np.int64)
    for fr in range(0, len(x), batch_size):
        loss, predictions[fr:fr + batch_size] = forward(x[fr:fr + batch_size],
                                                        y[fr:fr + batch_size])
        total += loss
    n = max(len(x), 1)
    accuracy = float((predictions == np.asarray(y)).sum()) / n
    if num_classes is None:
        return total / n, accuracy
    return total / n, accuracy, per_class_accuracy(predictions, y, num_classes)


def per_class_accuracy(predicted, targets, num_classes):
    """
    The accuracy of each class: a list of num_classes floats, the fraction of the instances of
    class k predicted as k (NaN for a class without instances).
    """
    predicted, targets = np.asarray(predicted), np.asarray(targets)
    total = np.bincount(targets, minlength=num_classes)[:num_classes]
    right = np.bincount(targets[predicted == targets], minlength=num_classes)[:num_classes]
    with np.errstate(invalid='ignore', divide='ignore'):
        acc = right / total
    return [float(a) if t else math.nan for a, t in zip(acc, total)]


def make_folders(config):
    """
    Make the missing folders of config.out and config.save now, before any work, and check
    that a file can be written in each (a probe file, made and removed), so that a run does not
    end in an error where it should write its results. InvalidArgumentError, naming the path
    given, where a folder cannot be made or written to.
    """
    for name in ('out', 'save'):
        path = getattr(config, name)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise InvalidArgumentError(f'{name}={path!r}: cannot make the folder {folder} '
                                       f'({e.strerror or e}): choose another path.') from None
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass   # -- the probe: a file without a name where the system allows it, gone now
        except OSError as e:
            raise InvalidArgumentError(f'{name}={path!r}: cannot write {path} '
                                       f'({e.strerror or e}): choose a folder you can write '
                                       'to.') from None


def load_and_log(config, log):
    """
    Make the folders of --out and --save (make_folders), log the config, load its data set,
    log the data's sizes and classes; return the data.
    """
    make_folders(config)
    log('## config: ' + ' '.join(f'{k}={v}' for k, v in dataclasses.asdict(config).items()))
    (xtrain, ytrain), (xval, yval), num_classes = data = load_data(config)
    log('## loaded data:')
    log(f'         number of instances: {len(xtrain)} in training, {len(xval)} in validation')
    log(f' training class distribution: {np.bincount(ytrain, minlength=num_classes)}')
    log(f'     val. class distribution: {np.bincount(yval, minlength=num_classes)}')
    return data


class LossLimit:
    """
    The finite explosion check of one run: a batch whose training loss per instance is above
    FACTOR (a million) times the first batch's of the run (or above FACTOR itself, where that
    was below 1) has diverged, though its loss is still a number. No run that learns comes near
    it; one whose learning rate is far too high passes it within a few batches, and would go on
    at 1e30 to the end, finite, useless, and with exit status 0.
    """

    FACTOR = 1e6

    def __init__(self):
        self.first = None     # -- the first batch's loss per instance: check() sets it

    def check(self, loss, batch):
        """DivergedError where `loss` (a batch's loss per instance) is beyond the limit."""
        if self.first is None:
            self.first = loss
        elif loss > self.FACTOR * max(self.first, 1.0):
            error = DivergedError(f'the training loss is {loss:.3g} per instance, over '
                                  f"{self.FACTOR:.0e} times the first batch's "
                                  f'({self.first:.3g})', batch=batch)
            error.finite = True   # -- no NaN or inf to look for (_diverged's advice)
            raise error


def run_batches(loader, step, bar=None, limit=None):
    """
    Call step(xb, yb) -> the batch's loss summed over its instances (whatever the reduction the
    step trains with) for every batch of `loader`, ticking the progress bar; return the mean
    loss per instance (whichever library the step uses): the scale of the validation loss.

    :param limit: the run's LossLimit (None: a new one, which this pass's first batch sets).
    :raises DivergedError: at the first batch whose loss is NaN or infinite, or beyond `limit`
        (its .batch is the batch's number, from 1; run_epochs adds the epoch): no later step
        can undo it.
    """
    limit = LossLimit() if limit is None else limit
    total, n = 0.0, 0
    for i, (xb, yb) in enumerate(loader):
        loss = float(step(xb, yb))
        total += loss
        n += len(yb)
        if not math.isfinite(total):
            raise DivergedError(f'the training loss is {loss}' if not math.isfinite(loss) else
                                'the sum of the training losses overflowed', batch=i + 1)
        limit.check(loss / max(len(yb), 1), batch=i + 1)
        if bar is not None:
            bar.update(1)
            if i % 20 == 0:
                bar.set_postfix(loss=f'{total / n:.4f}', refresh=False)
    return total / max(n, 1)


def run_epochs(config, model, optimizer, schedule, data, *, train_epoch, evaluate, get_lr, save,
               callback=None, progress=False, log=print):
    """
    The epochs of a run, whichever library does the work (vugrad in vugrad.lab.train, PyTorch
    in vugrad.lab.torch_backend): train, validate, log and collect a metrics row per epoch,
    step the schedule; then write the metrics and the parameters if asked, and state the final
    accuracy.

    :param train_epoch: (model, optimizer, loader, reduction, bar, limit=LossLimit) -> the mean
        training loss per instance (run_batches, with the run's one LossLimit).
    :param evaluate: (model, x, y) -> (mean loss, accuracy, accuracy per class): the row of an
        image data set (not synth) gets the list of per-class accuracies as val_acc_per_class
        (an evaluate that returns only (mean loss, accuracy) leaves it out); the log states
        them after the run.
    :param get_lr: optimizer -> the learning rate of the coming epoch.
    :param save: (model, path) -> None.
    """
    (xtrain, ytrain), (xval, yval), num_classes = data
    loader = DataLoader(xtrain, ytrain, batch_size=config.batch_size, shuffle=config.shuffle,
                        seed=config.seed)
    log('\n## starting training')
    metrics, limit = [], LossLimit()   # -- one limit for the run: its first batch sets it
    for epoch in range(1, config.epochs + 1):
        lr = get_lr(optimizer)
        train_loss, seconds = _timed_epoch(
            config, epoch, len(loader), metrics, progress,
            lambda bar: train_epoch(model, optimizer, loader, config.reduction, bar,
                                    limit=limit))
        val_loss, val_acc, *per_class = evaluate(model, xval, yval)
        row = {'epoch': epoch, 'train_loss': train_loss, 'val_loss': val_loss,
               'val_acc': val_acc, 'seconds': seconds, 'lr': lr}
        if per_class and config.data != 'synth':   # -- (the synthetic runs keep the course's row)
            row['val_acc_per_class'] = [float(a) for a in per_class[0]]
        metrics.append(row)
        log(f'epoch {epoch:03}  train loss {train_loss:.4f}  val loss {val_loss:.4f}  '
            f'val acc {val_acc:.4f}  ({seconds:.1f} s)')
        if schedule is not None:
            schedule.step()
        if callback is not None and callback(row, model):
            log('## stopped by the callback')
            break
    _write_outputs(config, model, metrics, save, log)
    _log_final_accuracy(config, metrics, lambda: evaluate(model, xval, yval), num_classes, log)
    return metrics


def _timed_epoch(config, epoch, batches, metrics, progress, train):
    """
    One epoch of training, train(progress bar or None) -> the mean loss, under a progress bar
    where asked: (the mean loss, the seconds it took). A DivergedError gains the epoch, the
    advice and the metrics so far.
    """
    bar = _progress_bar(batches, f'epoch {epoch}/{config.epochs}') if progress else None
    start = time.perf_counter()
    try:
        train_loss = train(bar)
    except DivergedError as e:
        raise _diverged(e, config, epoch, batches, metrics) from None
    finally:
        if bar is not None:
            bar.close()
    return train_loss, time.perf_counter() - start


def _write_outputs(config, model, metrics, save, log):
    """After the epochs: warn of a rising loss, write the metrics and the parameters if asked."""
    if len(metrics) > 1 and metrics[-1]['train_loss'] > metrics[0]['train_loss']:
        log(f'## warning: the training loss rose from {metrics[0]["train_loss"]:.4g} in epoch 1 '
            f'to {metrics[-1]["train_loss"]:.4g}: the run may be diverging (try a lower '
            'learning rate)')
    if config.out:
        write_metrics(config.out, metrics, config)
        log(f'## wrote the metrics to {config.out}')
    if config.save:
        save(model, config.save)
        log(f'## saved the parameters to {config.save}')
    if config.final:
        log('## (with --final, the validation set is the test set)')


def _log_final_accuracy(config, metrics, evaluate, num_classes, log):
    """
    State the final validation accuracy, and that of each class where there is one: the last
    epoch's, or evaluate() -> (loss, accuracy[, per class]) for a run of no epochs.
    """
    if metrics:
        final, per_class = metrics[-1]['val_acc'], metrics[-1].get('val_acc_per_class')
    else:
        final, _, *per_class = evaluate()
        per_class = per_class[0] if per_class else None
    if per_class is not None:
        names = _class_labels(config, num_classes)
        log('validation accuracy per class: ' + '  '.join(
            f'{name} {"-" if math.isnan(a) else f"{a:.3f}"}' for name, a in zip(names, per_class)))
    log(f'final validation accuracy: {final:.4f}')


def _class_labels(config, num_classes):
    """The names of the classes in the log: CIFAR-10's, else 0, 1, ..."""
    if config.data == 'cifar10' and num_classes == 10:
        from ..data.cifar10 import CLASSES
        return list(CLASSES)
    return [str(k) for k in range(num_classes)]


def _diverged(error, config, epoch, batches, metrics):
    """The DivergedError of run_batches, with the epoch, the advice and the metrics so far."""
    batch = error.batch
    where = f'epoch {epoch}, batch {batch} of {batches}' if batch else f'epoch {epoch}'
    anomaly = ('torch.autograd.detect_anomaly()' if config.backend == 'torch' else
               'vg.detect_anomaly()')
    advice = ('.' if getattr(error, 'finite', False) else
              f', and run a step under `with {anomaly}:` to find the op that first made a NaN '
              'or inf.')
    e = DivergedError(
        f'training diverged in {where}: {error} (lr={config.lr:g}). Try a lower learning rate '
        f'(e.g. -l {config.lr / 10:g}){advice}', epoch=epoch, batch=batch)
    e.metrics = list(metrics)   # -- the finished epochs, for whoever records the run
    return e


def in_notebook():
    """True inside a Jupyter kernel (a notebook), where stderr is not a terminal."""
    shell = sys.modules.get('ipykernel.zmqshell')
    ipython = sys.modules.get('IPython')
    if shell is None or ipython is None:
        return False
    return isinstance(ipython.get_ipython(), shell.ZMQInteractiveShell)


def default_progress():
    """
    Whether a run shows progress bars when neither the call nor the config says: when stderr
    is a terminal, and in a notebook (whose stderr is not one, but which shows tqdm's widget).
    """
    return sys.stderr.isatty() or in_notebook()


def _progress_bar(total, desc):
    """
    A tqdm bar, or None when tqdm is not installed (it is an optional extra). tqdm.auto picks
    the bar: in a notebook the widget of tqdm.notebook (with ipywidgets, the `notebook` extra),
    elsewhere the text bar on stderr.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit='batch', leave=False, file=sys.stderr,
                dynamic_ncols=True)


def per_class_columns(row, count=None):
    """
    A metrics row's per-class accuracies (val_acc_per_class) as CSV columns: val_acc_class_0,
    val_acc_class_1, ... (`count` of them; empty for a class without validation examples, or
    where the row has none).
    """
    accs = row.get('val_acc_per_class') or []
    count = len(accs) if count is None else count
    return {f'val_acc_class_{i}': '' if i >= len(accs) or accs[i] is None
            or accs[i] != accs[i] else accs[i] for i in range(count)}


def write_metrics(path, metrics, config=None):
    """
    Write per-epoch metrics to `path`, atomically: a .csv file gets one row per epoch under a
    header (per-class accuracies, where there are some, in columns val_acc_class_0, ...); a
    .json file gets {"config": {...}, "metrics": [...]}.
    """
    path = os.fspath(path)
    if not path.endswith(('.csv', '.json')):
        raise ValueError(f'write_metrics: {path!r} must end in .json or .csv.')
    with atomic_write(path, 'w', newline='') as f:
        if path.endswith('.csv'):
            rows = [{**{k: v for k, v in row.items() if k != 'val_acc_per_class'},
                     **per_class_columns(row)} for row in metrics]
            fields = list(rows[0]) if rows else ['epoch', 'train_loss', 'val_loss',
                                                 'val_acc', 'seconds', 'lr']
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        else:
            cfg = dataclasses.asdict(config) if config is not None else None
            f.write(dumps_json({'config': cfg, 'metrics': metrics}, indent=2) + '\n')
