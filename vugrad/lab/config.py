"""
What a training run is: `TrainConfig` (every setting, with the course's defaults, and its
validation) and the command-line options that fill one in. Both backends (vugrad.lab.train and
vugrad.lab.torch_backend), the dispatcher (vugrad.lab.runner), `vugrad sweep` and `vugrad graph`
read their settings from here.

    from vugrad.lab.config import TrainConfig
    config = TrainConfig(data='mnist', lr=0.0001).validate()

    parser = add_train_arguments(argparse.ArgumentParser())   # -D -b -e -l and the rest
    config = config_from_args(parser.parse_args())
"""

import argparse
import dataclasses
from dataclasses import dataclass

from ..nn.activation import ACTIVATIONS
from ..nn.init import SCHEMES

__all__ = [
    'BACKENDS',
    'DATASETS',
    'OPTIMIZERS',
    'SCHEDULES',
    'TrainConfig',
    'add_model_arguments',
    'add_train_arguments',
    'config_from_args',
]

DATASETS = ('synth', 'mnist', 'fashion-mnist')
OPTIMIZERS = ('sgd', 'adam', 'adamw')
SCHEDULES = ('none', 'step', 'cosine')
BACKENDS = ('vugrad', 'torch')


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
    backend: str = 'vugrad'          # vugrad | torch: the same run in PyTorch (vugrad.lab.run
    #                                  picks the backend: lab/train.py or lab/torch_backend.py)
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
        choose('backend', BACKENDS)
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
    add('--backend', default=d.backend, choices=BACKENDS,
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
