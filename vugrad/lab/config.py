"""
What a training run is: `TrainConfig` (every setting, with the course's defaults, and its
validation) and the command-line options that fill one in. Both backends (vugrad.lab.train and
vugrad.lab.torch_backend), the dispatcher (vugrad.lab.runner), `vugrad sweep` and `vugrad graph`
read their settings from here.

    from vugrad.lab.config import TrainConfig
    config = TrainConfig(data='mnist', lr=0.0001).validate()   # every problem at once, or
    #                                                          InvalidArgumentError, one line each

A data set may have its own recipe (RECIPES: `-D cifar10` is the PyTorch blitz's: model blitz,
mean loss, batch 4, lr 0.001, SGD momentum 0.9, 2 epochs, pixels in [-1, 1]; `-D mnist` the
course's lr 0.0001), and a model its own on a data set (MODEL_RECIPES: LeNet on MNIST, lr
5e-5). It fills only the settings that were not given: the defaults of TrainConfig are marked
values (an int 128 that knows it is a default, see `is_default`), so `TrainConfig(data=
'cifar10')` and `vugrad train -D cifar10` get batch 4, while `TrainConfig(data='cifar10',
batch_size=128)` and `-D cifar10 -b 128` keep 128. `config.resolved()` applies the recipe;
`validate()` returns the resolved config, which is what a run records.

    parser = add_train_arguments(argparse.ArgumentParser())   # -D -b -e -l and the rest
    config = config_from_args(parser.parse_args())

The names that --optimizer, --schedule, --loss and --model accept are the keys of one table
each (OPTIMIZERS, SCHEDULES, LOSSES, MODELS), whose rows say how each backend builds the
thing named: they live in vugrad.lab.tables (with choice and twin_in) and are named here too.
"""

import argparse
import dataclasses
import functools
import math
import numbers
import os
import types
import typing
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..nn.activation import ACTIVATIONS
from ..nn.init import SCHEMES

# -- the tables of --optimizer, --schedule, --loss and --model live in vugrad.lab.tables (its
#    __all__); they are named here too: `from vugrad.lab.config import OPTIMIZERS`
from .tables import (  # noqa: F401 - named here too (see above)
    CNN_MODELS,
    LOSSES,
    MODEL_INPUTS,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    LossRow,
    ModelInput,
    OptimizerRow,
    ScheduleRow,
    choice,
    twin_in,
)

__all__ = [
    'BACKENDS',
    'DATASETS',
    'TrainConfig',
    'add_model_arguments',
    'add_train_arguments',
    'config_from_args',
    'is_default',
    'path_problem',
]

DATASETS = ('synth', 'mnist', 'fashion-mnist', 'cifar10')
PIXELS = ('raw', 'unit', 'signed')


# ---------------------------------------------------------------------- marked defaults
#    A default of TrainConfig is a value of a subclass of its type (128 is a _DefaultInt):
#    equal to the plain value, printed and saved as it, but recognizable as "not given", so a
#    data set's recipe can replace it. Anything a user gives (a plain int) is kept.

class _DefaultInt(int):
    pass


class _DefaultFloat(float):
    pass


class _DefaultStr(str):
    pass


_MARKS = {int: _DefaultInt, float: _DefaultFloat, str: _DefaultStr}


def _default(value):
    return _MARKS[type(value)](value)


def is_default(value):
    """Whether `value` is a default of TrainConfig that was not given (a marked value)."""
    return type(value) in _MARKS.values()


# -- the recipe of a data set: the values of the settings it changes when they are not given.
#    MNIST's (and Fashion-MNIST's) is the course's learning rate for its MLP, on raw pixels with
#    the summed loss, batches of 128 (0.01, synth's, ends at 16-28% after 2 epochs)
RECIPES = {
    'cifar10': {'model': 'blitz', 'activation': 'relu', 'reduction': 'mean', 'batch_size': 4,
                'lr': 0.001,
                'momentum': 0.9, 'epochs': 2, 'pixels': 'signed'},
    'mnist': {'lr': 0.0001},
    'fashion-mnist': {'lr': 0.0001},
}
# -- the recipe of a model on a data set, over the data set's: LeNet on MNIST with the course's
#    settings (raw pixels, summed loss, SGD, batch 128) reaches 96-97% in one epoch at 5e-5
#    (measured, seeds 0-4), and dies at 2e-4 (its ReLUs stop: 12%)
MODEL_RECIPES = {
    ('mnist', 'lenet'): {'lr': 5e-5},
    ('fashion-mnist', 'lenet'): {'lr': 5e-5},
}
# -- the settings a data set's learning rates (RECIPES, MODEL_RECIPES) are tuned for: the
#    course's. With other pixels, the mean loss or another optimizer they would not train (unit
#    pixels at 0.0001: 34% after an epoch), so the general default, 0.01, stays
LR_TUNED_FOR = {data: {'pixels': 'raw', 'reduction': 'sum', 'optimizer': 'sgd'}
                for data in ('mnist', 'fashion-mnist')}
BACKENDS = ('vugrad', 'torch')


@dataclass
class TrainConfig:
    """Everything that defines a training run. The defaults are the course's."""

    # -- data
    data: str = 'synth'              # synth | mnist | fashion-mnist | cifar10 (its defaults are
    #                                  the blitz's recipe, RECIPES['cifar10']; see RECIPES)
    data_dir: str | None = None      # a folder whose mnist/ holds the files (None: $VUGRAD_DATA,
    #                                  else the cache folder, downloading what is missing)
    final: bool = False              # MNIST: train on all 60,000, validate on the 10,000 test set
    #                                  (CIFAR-10: on all 50,000)
    num_train: int | None = None     # use only this many training instances (None: all;
    #                                  synth makes 60,000)
    num_val: int | None = None       # ... and validation instances (None: all; synth: 10,000)
    pixels: str = _default('raw')    # image pixel values: raw 0..255, as the course's data (its
    #                                  lr 0.0001 is tuned for them) | unit: scaled to [0, 1] |
    #                                  signed: scaled to [-1, 1] (cifar10's default)
    # -- model
    model: str = _default('mlp')     # mlp | lenet (1x28x28 images) | blitz (3x32x32, cifar10's)
    hidden: int | None = None        # MLP: hidden layer width (None: 4 x the number of features)
    layers: int | None = _default(1)  # MLP: number of hidden layers (CNNs: None)
    activation: str = _default('sigmoid')  # sigmoid | relu | tanh (of every model; CNNs: relu)
    residual: bool = False           # MLP: h = h + act(Linear(h)) between hidden layers; CNN: a
    #                                  residual block after each pooling stage
    batchnorm: bool = False          # CNN: BatchNorm2d after each conv, BatchNorm1d after each
    #                                  hidden Linear, before the activation
    init: str | None = _default('glorot')  # MLP: glorot | he | normal | uniform | zeros (CNNs:
    #                                  None, as resolved() records it: PyTorch's default init)
    dropout: float = 0.0             # dropout probability after each hidden activation
    # -- optimization
    optimizer: str = 'sgd'           # sgd | adam | adamw: a name of OPTIMIZERS (above)
    lr: float = _default(0.01)       # learning rate (RECIPES: 0.0001 for MNIST, the course's)
    momentum: float = _default(0.0)  # SGD momentum
    nesterov: bool = False           # SGD: Nesterov momentum
    weight_decay: float | None = None  # None: the optimizer's default (0; AdamW 0.01)
    schedule: str = 'none'           # learning-rate schedule: none | step | cosine (SCHEDULES)
    step_size: int = 10              # step schedule: multiply lr by gamma every step_size epochs
    gamma: float = 0.1
    batch_size: int = _default(128)
    epochs: int = _default(20)
    loss: str = 'cross-entropy'      # cross-entropy | mse (on one-hot targets) | hinge
    #                                  (multi-class, as torch.nn.MultiMarginLoss) (LOSSES)
    reduction: str = _default('sum')  # the loss over a batch: sum (the course's) | mean
    shuffle: bool = True             # a new random order of the training data every epoch
    # -- the run
    seed: int | None = None          # seeds NumPy's global RNG and the data order
    dtype: str = 'float32'           # float32 | float64, of the data and the parameters
    backend: str = 'vugrad'          # vugrad | torch: the same run in PyTorch (vugrad.lab.run
    #                                  picks the backend: lab/train.py or lab/torch_backend.py)
    out: str | None = None           # write the per-epoch metrics here (.json or .csv)
    save: str | None = None          # save the trained parameters here (.npz)
    progress: bool | None = None     # a progress bar per epoch (None: if stderr is a terminal
    #                                  or in a notebook)

    def problems(self):
        """
        Every reason this config cannot work, one line each (an empty list: it can): wrong
        types, NaN and inf, values out of range, unknown choices, clashing settings, an --out or
        --save path under a file. Nothing is loaded or created. The settings checked are those
        of resolved() (a data set's recipe applied).
        """
        self = self.resolved()   # noqa: PLW0642 - the recipe's values are checked too
        typed, problems = _type_problems(self)   # -- (field, line), typed: the right types
        problems += _value_problems(self, typed)
        problems += _model_problems(self, typed)
        problems += _path_problems(self, typed)
        # -- listed in the fields' order (a field's own lines in the order found)
        order = {f.name: i for i, f in enumerate(dataclasses.fields(self))}
        return [line for _, line in sorted(problems, key=lambda p: order[p[0]])]

    def validate(self):
        """
        Raise InvalidArgumentError (a ValueError) listing every problem of problems(), one line
        each, before anything is loaded; return the config when it can work: resolved(), the
        settings a run uses and records.
        """
        problems = self.problems()
        if len(problems) == 1:
            raise InvalidArgumentError(problems[0])
        if problems:
            raise InvalidArgumentError(f'{len(problems)} settings cannot work:\n  '
                                       + '\n  '.join(problems))
        return self.resolved()

    def resolved(self):
        """
        This config with its data set's recipe (RECIPES, then its model's on it, MODEL_RECIPES)
        filling the settings that were not given (those still at a marked default, see
        is_default); the config itself when there is nothing to fill. Momentum is filled only
        for an optimizer that takes it (SGD); a CNN model's activation is ReLU unless one was
        given, and its MLP settings layers and init are None (it has its own layers and PyTorch's
        initialization), so that what a run records is a config that validates again.
        """
        recipe = RECIPES.get(self.data, {}) if isinstance(self.data, str) else {}
        model = recipe.get('model', self.model) if is_default(self.model) else self.model
        if isinstance(model, str):
            recipe = {**recipe, **MODEL_RECIPES.get((self.data, model), {})}
        tuned = LR_TUNED_FOR.get(self.data, {}) if isinstance(self.data, str) else {}
        if any(getattr(self, name) != value for name, value in tuned.items()):
            recipe = {name: value for name, value in recipe.items() if name != 'lr'}
        changes = {name: value for name, value in recipe.items()
                   if is_default(getattr(self, name))
                   and not (name == 'momentum' and not _takes(self.optimizer, 'momentum'))}
        # -- the CNNs are the blitz's network: ReLU unless an activation was given
        if model in CNN_MODELS:
            if is_default(self.activation):
                changes['activation'] = 'relu'
            changes.update({name: None for name in ('layers', 'init')
                            if is_default(getattr(self, name))})
        return dataclasses.replace(self, **changes) if changes else self


def _line(config, name, text):
    """One line of problems(): the field, its value and its option, then `text`."""
    return f'{name}={getattr(config, name)!r}{_flags(name)}: {text}'


def _type_problems(config):
    """The fields whose values have the right types, and (field, line) for the others."""
    hints = typing.get_type_hints(TrainConfig)
    typed, found = set(), []
    for field in dataclasses.fields(config):
        value, allowed = getattr(config, field.name), _field_types(hints[field.name])
        if _has_type(value, allowed):
            typed.add(field.name)
        else:
            found.append((field.name, _line(config, field.name, f'expected {_type_names(allowed)}'
                                                                f', got {type(value).__name__}.')))
    return typed, found


def _value_problems(config, typed):
    """
    (field, line) for the values of the right type that cannot work: not among the choices,
    out of range, NaN or inf (such a field leaves `typed`: one line for it is enough), or
    clashing with the optimizer.
    """
    found = []

    def check(name, ok, text):
        value = getattr(config, name)
        if name in typed and value is not None and not ok(value):
            found.append((name, _line(config, name, text)))

    for name, options in CHOICES.items():
        check(name, lambda v, options=options: v in options,
              f'choose one of {", ".join(options)}.')
    for name in ('batch_size', 'hidden', 'num_train', 'num_val', 'step_size'):
        check(name, lambda v: v >= 1, 'must be at least 1.')
    for name in ('epochs', 'layers'):
        check(name, lambda v: v >= 0, 'must be 0 or more.')
    check('seed', lambda v: 0 <= v < 2 ** 32, f'must lie in 0 .. {2 ** 32 - 1} (or none).')
    for name in ('lr', 'momentum', 'weight_decay', 'gamma', 'dropout'):
        value = getattr(config, name)
        if name in typed and value is not None and not math.isfinite(value):
            found.append((name, _line(config, name, 'must be a finite number, not nan or inf.')))
            typed.discard(name)      # -- one line for it is enough
    check('lr', lambda v: v > 0, 'the learning rate must be above 0 (e.g. 0.01; 0.0001 '
          'for MNIST with the summed loss).')
    check('momentum', lambda v: 0 <= v < 1, 'must lie in [0, 1) (e.g. 0.9).')
    check('weight_decay', lambda v: v >= 0, 'must be 0 or more (e.g. 0.0001).')
    check('gamma', lambda v: v > 0, 'the step schedule multiplies the learning rate by '
          'gamma: it must be above 0 (e.g. 0.1).')
    check('dropout', lambda v: 0 <= v < 1, 'must lie in [0, 1).')
    return found + _optimizer_problems(config, typed)


def _takes(optimizer, setting):
    """Whether the optimizer named `optimizer` (a row of OPTIMIZERS) takes the setting."""
    row = OPTIMIZERS.get(optimizer) if isinstance(optimizer, str) else None
    return row is not None and setting in row.settings


def _optimizer_problems(config, typed):
    """(field, line) for momentum and Nesterov where they cannot work."""
    found = []
    if {'nesterov', 'momentum'} <= typed and config.nesterov and not config.momentum > 0:
        found.append(('nesterov', _line(config, 'nesterov', 'Nesterov momentum needs a '
                                        'momentum above 0 (e.g. --momentum 0.9).')))
    if {'optimizer', 'momentum', 'nesterov'} <= typed and config.optimizer in OPTIMIZERS and \
            any(getattr(config, name) and not _takes(config.optimizer, name)
                for name in ('momentum', 'nesterov')):
        found.append(('optimizer', _line(config, 'optimizer', 'momentum and nesterov are SGD '
                                         f'settings; {config.optimizer} has its own (betas): '
                                         'leave them out, or use --optimizer sgd.')))
    return found


def _model_problems(config, typed):
    """(field, line) for settings that do not fit the model or the data set."""
    out = []
    model, data = config.model, config.data
    if not {'model', 'data'} <= typed or model not in MODELS or data not in DATASETS:
        return out
    if model in CNN_MODELS:
        shape, datasets = MODEL_INPUTS[model]
        if data not in datasets:
            # -- the model that takes this data set's instances (the MLP: flat vectors)
            other = next((name for name in CNN_MODELS if data in MODELS[name].datasets), 'mlp')
            have = ('flat feature vectors' if other == 'mlp' else
                    f'{_shape_text(MODELS[other].shape)} images')
            out.append(('model', _line(config, 'model', f'{model} takes {_shape_text(shape)} '
                                       f'images ({" or ".join(datasets)}), but data={data!r} '
                                       f'has {have}: use -D {datasets[0]}, or --model {other}.')))
        for name, given in (('hidden', config.hidden is not None),
                            ('layers', config.layers is not None and not is_default(config.layers)),
                            ('init', config.init is not None and not is_default(config.init)),
                            ('dropout', 'dropout' in typed and config.dropout != 0)):
            if given:
                out.append((name, _line(config, name, f'a setting of the MLP; the {model} '
                                        "network has its own layers (and PyTorch's default "
                                        'initialization): leave it out, or use --model mlp.')))
    else:
        # -- None is a CNN's (resolved() records it): the MLP needs a value
        for name, what in (('layers', 'a number of hidden layers (e.g. 1)'),
                           ('init', f'an initialization: choose one of {", ".join(SCHEMES)}')):
            if name in typed and getattr(config, name) is None:
                out.append((name, _line(config, name, f'the MLP needs {what}.')))
    if model not in CNN_MODELS and 'batchnorm' in typed and config.batchnorm:
        out.append(('batchnorm', (f'batchnorm=True{_flags("batchnorm")}: batch normalization '
                                  f'is part of the CNNs (--model {" or ".join(CNN_MODELS)}), '
                                  'not of the MLP.')))
    return out


def _shape_text(shape):
    return 'x'.join(map(str, shape))


def _path_problems(config, typed):
    """(field, line) for an --out or --save path that no file can be made at."""
    found = []
    for name, ends in (('out', ('.json', '.csv')), ('save', ('.npz',))):
        path = getattr(config, name)
        if name not in typed or path is None:
            continue
        if not path.endswith(ends):
            found.append((name, _line(config, name, f'the file name must end in '
                                                    f'{" or ".join(ends)}.')))
        elif problem := path_problem(path):
            found.append((name, _line(config, name, problem)))
    return found


CHOICES = {
    'data': DATASETS, 'activation': tuple(ACTIVATIONS), 'init': tuple(SCHEMES),
    'optimizer': OPTIMIZERS, 'schedule': SCHEDULES, 'reduction': ('sum', 'mean'),
    'dtype': ('float32', 'float64'), 'pixels': PIXELS, 'backend': BACKENDS,
    'model': MODELS, 'loss': LOSSES,
}


def _field_types(hint):
    """The types a field may hold: int | None -> (int, NoneType)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _has_type(value, allowed):
    for kind in allowed:
        if value is None and kind is type(None):
            return True
        if kind is bool and isinstance(value, (bool, np.bool_)):
            return True
        if isinstance(value, (bool, np.bool_)):
            continue     # -- True is an int to Python, but not a number of epochs
        if kind is int and isinstance(value, numbers.Integral):
            return True
        if kind is float and isinstance(value, numbers.Real):
            return True
        if kind is str and isinstance(value, str):
            return True
    return False


def _type_names(allowed):
    words = {str: 'text', bool: 'true or false', int: 'a whole number', float: 'a number',
             type(None): 'none'}
    return ' or '.join(words[k] for k in allowed)


def path_problem(path, folder=False):
    """
    Why no file (or with folder=True, no folder) can be made at `path`, or None. Missing
    folders on the way are fine (the run makes them); a file where a folder should be is not.
    Nothing is created.
    """
    path = os.path.abspath(os.fspath(path))
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            return f'{path} is a file, not a folder: choose another path.'
    elif os.path.isdir(path):
        return 'that is a folder: give a file name.'
    parent = os.path.dirname(path)
    while not os.path.exists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    if os.path.exists(parent) and not os.path.isdir(parent):
        return f'{parent} is a file, not a folder: choose another path.'
    return None


@functools.lru_cache(maxsize=None)
def _option_strings():
    """field -> its command-line options ('-l/--learning-rate'), from add_train_arguments."""
    parser = add_train_arguments(argparse.ArgumentParser(add_help=False))
    options = {}
    for action in parser._actions:
        if action.option_strings and action.dest not in options:
            options[action.dest] = '/'.join(action.option_strings)
    return options


def _flags(name):
    option = _option_strings().get(name)
    return f' ({option})' if option else ''


# ---------------------------------------------------------------------- command-line options

def add_model_arguments(parser):
    """The options that shape the model (shared by `vugrad train` and `vugrad graph`)."""
    d = TrainConfig()
    add = parser.add_argument
    add('--model', default=d.model, choices=MODELS,
        help='the network: mlp, lenet (a CNN for 1x28x28 images: MNIST, Fashion-MNIST) or '
             "blitz (PyTorch's 60-minute blitz CNN for 3x32x32 images) (default: %(default)s; "
             'cifar10: blitz)')
    add('--activation', default=d.activation, choices=tuple(ACTIVATIONS),
        help='the hidden nonlinearity (default: %(default)s; lenet and blitz: relu)')
    add('--hidden', default=d.hidden, type=int, metavar='N',
        help='MLP: the width of the hidden layers (default: 4 x the number of features)')
    add('--layers', default=d.layers, type=int, metavar='N',
        help='MLP: the number of hidden layers (default: %(default)s)')
    add('--residual', action='store_true', default=d.residual,
        help='MLP: residual connections h = h + act(Linear(h)) between hidden layers; CNN: a '
             'residual block (conv 3x3, conv 3x3, plus its input) after each pooling stage')
    add('--batchnorm', action='store_true', default=d.batchnorm,
        help='CNN: batch normalization after each conv and hidden Linear layer')
    add('--init', default=d.init, choices=tuple(SCHEMES),
        help="MLP: the weight initialization (default: %(default)s; CNNs: PyTorch's, recorded "
             'as none)')
    add('--dropout', default=d.dropout, type=float, metavar='P',
        help='MLP: dropout probability after each hidden layer (default: %(default)s)')


def add_train_arguments(parser):
    """
    Add the training options to an argparse parser: the course's -D -b -e -l and the rest. The
    defaults come from TrainConfig, and each option's dest is the name of its field.
    """
    add, d, c = parser.add_argument, TrainConfig(), RECIPES['cifar10']
    # -- in this order (the order of --help): d holds the defaults, c cifar10's recipe
    _add_course_arguments(add, d, c)
    add_model_arguments(parser)
    _add_optimization_arguments(add, d, c)
    _add_run_arguments(add, d, c)
    return parser


def _add_course_arguments(add, d, c):
    """The course's options: -D -b -e -l."""
    add('-D', '--dataset', dest='data', default=d.data, choices=DATASETS,
        help='the data set (default: %(default)s); cifar10 defaults to the recipe of '
             "PyTorch's 60-minute blitz: " + ', '.join(f'{k}={v}' for k, v in c.items())
             + ' (SGD momentum only with --optimizer sgd), for the settings not given')
    add('-b', '--batch-size', dest='batch_size', default=d.batch_size, type=int,
        help=f'instances per forward/backward pass (default: %(default)s; cifar10: '
             f'{c["batch_size"]})')
    add('-e', '--epochs', dest='epochs', default=d.epochs, type=int,
        help=f'complete passes over the training data (default: %(default)s; cifar10: '
             f'{c["epochs"]})')
    add('-l', '--learning-rate', dest='lr', default=d.lr, type=float,
        help=f'the learning rate (default: %(default)s; {_recipe_lrs()})')


def _recipe_lrs():
    """
    The learning rates of the recipes, for -l's help: 'mnist, fashion-mnist: 0.0001, with
    --model lenet 5e-05; cifar10: 0.001' (RECIPES, MODEL_RECIPES).
    """
    found = {}
    for data in DATASETS:
        if 'lr' in RECIPES.get(data, {}):
            models = tuple((model, recipe['lr']) for (of, model), recipe in MODEL_RECIPES.items()
                           if of == data and 'lr' in recipe)
            found.setdefault((RECIPES[data]['lr'], models), []).append(data)
    return '; '.join(f'{", ".join(names)}: {lr:g}'
                     + ''.join(f', with --model {model} {value:g}' for model, value in models)
                     + (' (raw pixels, summed loss, sgd; else 0.01)' if names[0] in LR_TUNED_FOR
                        else '')
                     for (lr, models), names in found.items())


def _add_optimization_arguments(add, d, c):
    """The optimizer, its schedule, the loss and the batches."""
    add('--optimizer', default=d.optimizer, choices=OPTIMIZERS,
        help='the optimizer (default: %(default)s)')
    add('--momentum', default=d.momentum, type=float, metavar='F',
        help=f'SGD momentum (default: %(default)s; cifar10: {c["momentum"]})')
    add('--nesterov', action='store_true', default=d.nesterov, help='SGD: Nesterov momentum')
    add('--weight-decay', dest='weight_decay', default=d.weight_decay, type=float, metavar='F',
        help="weight decay (default: the optimizer's: 0, AdamW 0.01)")
    add('--schedule', default=d.schedule, choices=SCHEDULES,
        help='learning-rate schedule, stepped every epoch (default: %(default)s)')
    add('--step-size', dest='step_size', default=d.step_size, type=int, metavar='N',
        help='--schedule step: epochs between decays (default: %(default)s)')
    add('--gamma', default=d.gamma, type=float, metavar='F',
        help='--schedule step: the decay factor (default: %(default)s)')
    add('--loss', default=d.loss, choices=LOSSES,
        help='the loss of the logits: cross-entropy, mse (mean squared error to one-hot '
             'targets, as torch.nn.MSELoss) or hinge (multi-class margin loss, as '
             'torch.nn.MultiMarginLoss) (default: %(default)s)')
    add('--reduction', default=d.reduction, choices=('sum', 'mean'),
        help=f'the loss over a batch (default: %(default)s, as in the course; cifar10: '
             f'{c["reduction"]})')
    add('--no-shuffle', dest='shuffle', action='store_false', default=d.shuffle,
        help='visit the training data in the same order every epoch')


def _add_run_arguments(add, d, c):
    """The run's randomness, precision, backend, data files and sizes, and outputs."""
    add('--seed', default=d.seed, type=int, metavar='N',
        help='random seed, for a reproducible run (default: none)')
    add('--dtype', default=d.dtype, choices=('float32', 'float64'),
        help='float precision of data and parameters (default: %(default)s)')
    add('--backend', default=d.backend, choices=BACKENDS,
        help='the library that trains: vugrad, or torch (PyTorch, with the same model, initial '
             'weights, batches and optimizer) (default: %(default)s)')
    add('--data-dir', dest='data_dir', default=d.data_dir, metavar='DIR',
        help='a folder whose mnist/ (cifar10/) holds the data files (default: $VUGRAD_DATA, '
             'else the cache)')
    add('--final', action='store_true', default=d.final,
        help='MNIST: train on all 60,000 (CIFAR-10: 50,000) and validate on the test set')
    add('--pixels', default=d.pixels, choices=PIXELS,
        help='image pixel values: raw 0..255 as in the course (its lr 0.0001 is tuned for '
             'them), unit: scaled to [0, 1], or signed: scaled to [-1, 1] (default: '
             f'%(default)s; cifar10: {c["pixels"]})')
    add('--num-train', dest='num_train', default=d.num_train, type=int, metavar='N',
        help='use only N training instances')
    add('--num-val', dest='num_val', default=d.num_val, type=int, metavar='N',
        help='use only N validation instances')
    add('--out', default=d.out, metavar='FILE',
        help='write the per-epoch metrics to FILE (.json or .csv)')
    add('--save', default=d.save, metavar='FILE', help='save the trained parameters (.npz)')
    add('--progress', action=argparse.BooleanOptionalAction, default=d.progress,
        help='show a progress bar per epoch (default: when stderr is a terminal or in a notebook)')


def config_from_args(args):
    """The TrainConfig for parsed arguments from a parser that add_train_arguments filled."""
    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                          if hasattr(args, f.name)})
