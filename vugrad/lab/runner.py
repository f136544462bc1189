"""
The one place where the training kit picks a backend: `run(config)` trains with vugrad
(vugrad.lab.train) or with PyTorch (vugrad.lab.torch_backend), as `config.backend` says.
`vugrad train` (train_command, below) and every run of `vugrad sweep` go through it.

    from vugrad.lab import run
    from vugrad.lab.config import TrainConfig
    metrics = run(TrainConfig(data='mnist', lr=0.0001, backend='torch'))

The backends know nothing of each other, nor of this module: each trains with its own library
and shares the config and the epoch loop (vugrad.lab.config, vugrad.lab.loop). The torch
backend is imported only when it is asked for, since PyTorch is an optional dependency.
"""

import dataclasses
import sys

from ..errors import DivergedError, InvalidArgumentError
from .config import BACKENDS, TrainConfig, add_train_arguments, config_from_args
from .loop import make_folders

__all__ = [
    'add_train_arguments',
    'backend_train',
    'run',
    'train_command',
]


def backend_train(backend):
    """The train function of `backend` ('vugrad' or 'torch'), importing its module now."""
    if backend == 'vugrad':
        from .train import train
    elif backend == 'torch':
        from .torch_backend import train   # -- PyTorch is optional: imported only when asked
    else:
        raise InvalidArgumentError(f'backend={backend!r}: choose one of {", ".join(BACKENDS)}.')
    return train


def run(config=None, *, model=None, callback=None, progress=None, log=print, **overrides):
    """
    Train as `config` says (a TrainConfig; keyword overrides change fields of it), with the
    library of `config.backend`, and return the per-epoch metrics. The arguments and the
    metrics are those of vugrad.lab.train.train; with backend='torch', `model` and the model
    handed to `callback` are torch modules.
    """
    config = dataclasses.replace(config or TrainConfig(), **overrides).validate()
    return backend_train(config.backend)(config, model=model, callback=callback,
                                         progress=progress, log=log)


def train_command(args):
    """
    Run `vugrad train`: train with the backend of --backend. Exit status 0; 2 for settings that
    cannot work (all of them named, before any data is loaded, and also where the folder of
    --out or --save cannot be made or written to); 1 when the run diverged (its training loss
    became NaN or inf, or exploded: the message says where, and what to try).
    """
    try:
        config = config_from_args(args).validate()
        make_folders(config)
    except ValueError as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 2
    try:
        run(config)
    except DivergedError as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 1
    return 0
