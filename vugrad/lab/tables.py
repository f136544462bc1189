"""
The names that --optimizer, --schedule, --loss and --model accept, one table each (OPTIMIZERS,
SCHEDULES, LOSSES, MODELS), whose rows say how each backend builds the thing named:
`OPTIMIZERS['sgd']` is `OptimizerRow(SGD, 'SGD', settings=('momentum', 'nesterov'))`,
vugrad's class and its twin's name in torch.optim.

    from vugrad.lab.tables import OPTIMIZERS, choice
    choice('optimizer', 'adam')          # -> its row, or InvalidArgumentError listing the choices

The command line's choices are the tables' keys (vugrad.lab.config), and both backends build
from the rows (vugrad.lab.train and .models from the vugrad column, vugrad.lab.torch_backend
from the torch column), so a new optimizer is one row here and its class in vugrad.optim. A
name that a backend cannot build is an InvalidArgumentError (choice, twin_in), never another
choice. vugrad.lab.config names them all too.
"""

import dataclasses
import typing
from dataclasses import dataclass

from ..errors import InvalidArgumentError
from ..optim import SGD, Adam, AdamW, CosineAnnealingLR, StepLR

__all__ = [
    'CNN_MODELS',
    'LOSSES',
    'MODELS',
    'MODEL_INPUTS',
    'OPTIMIZERS',
    'SCHEDULES',
    'LossRow',
    'ModelInput',
    'OptimizerRow',
    'ScheduleRow',
    'choice',
    'twin_in',
]


@dataclass(frozen=True)
class OptimizerRow:
    """
    How both backends build one optimizer: `vugrad`, the class in vugrad.optim; `torch`, its
    twin's name in torch.optim; `settings`, the config's fields it takes as keyword arguments
    of the same names, besides lr and weight_decay, which every optimizer takes (weight_decay
    only where given: None keeps the optimizer's default).
    """

    vugrad: type
    torch: str
    settings: tuple = ()

    def keywords(self, config):
        """The keyword arguments of this optimizer for `config`, the same in both backends."""
        decay = {} if config.weight_decay is None else {'weight_decay': config.weight_decay}
        return {'lr': config.lr, **{name: getattr(config, name) for name in self.settings},
                **decay}


@dataclass(frozen=True)
class ScheduleRow:
    """
    How both backends build one learning-rate schedule: `vugrad`, the class in vugrad.optim;
    `torch`, its twin's name in torch.optim.lr_scheduler; `keywords`, config -> the keyword
    arguments both take after the optimizer.
    """

    vugrad: type
    torch: str
    keywords: typing.Callable


@dataclass(frozen=True)
class LossRow:
    """
    How both backends compute one loss, (logits, targets, reduction) -> the loss: `vugrad`,
    the function's name in vugrad.lab.models; `torch`, its twin's name in torch.nn.functional,
    which gets the targets one-hot (in the logits' dtype) where `one_hot` is set, and
    `torch_keywords` besides the reduction.
    """

    vugrad: str
    torch: str
    one_hot: bool = False
    torch_keywords: dict = dataclasses.field(default_factory=dict)


class ModelInput(typing.NamedTuple):
    """What a CNN of --model takes: the shape of one image, and the data sets that have it."""

    shape: tuple
    datasets: tuple


OPTIMIZERS = {
    'sgd': OptimizerRow(SGD, 'SGD', settings=('momentum', 'nesterov')),
    'adam': OptimizerRow(Adam, 'Adam'),
    'adamw': OptimizerRow(AdamW, 'AdamW'),
}
SCHEDULES = {
    'none': None,      # -- no schedule: the learning rate stays as it is
    'step': ScheduleRow(StepLR, 'StepLR',
                        lambda config: {'step_size': config.step_size, 'gamma': config.gamma}),
    'cosine': ScheduleRow(CosineAnnealingLR, 'CosineAnnealingLR',
                          lambda config: {'T_max': max(config.epochs, 1)}),
}
LOSSES = {
    'cross-entropy': LossRow('cross_entropy', 'cross_entropy'),
    'mse': LossRow('mse_loss', 'mse_loss', one_hot=True),
    'hinge': LossRow('hinge_loss', 'multi_margin_loss', torch_keywords={'p': 1, 'margin': 1.0}),
}
# -- the models: what each CNN takes (None: the MLP, which takes feature vectors of any length,
#    and images flattened); vugrad.lab.models.build_cnn has the CNNs' layers
MODELS = {
    'mlp': None,
    'lenet': ModelInput((1, 28, 28), ('mnist', 'fashion-mnist')),
    'blitz': ModelInput((3, 32, 32), ('cifar10',)),
}
CNN_MODELS = tuple(name for name, takes in MODELS.items() if takes is not None)
MODEL_INPUTS = {name: MODELS[name] for name in CNN_MODELS}
_TABLES = {'optimizer': OPTIMIZERS, 'schedule': SCHEDULES, 'loss': LOSSES, 'model': MODELS}


def choice(setting, value):
    """
    The row of `value` in the table of `setting` ('optimizer', 'schedule', 'loss' or 'model'):
    InvalidArgumentError, naming the option and its choices, for a value not in the table.
    """
    table = _TABLES[setting]
    # -- each table's option is --{setting}: --optimizer, --schedule, --loss, --model
    if not isinstance(value, str) or value not in table:
        raise InvalidArgumentError(f'{setting}={value!r} (--{setting}): choose one of '
                                   f'{", ".join(table)}.')
    return table[value]


def twin_in(module, setting, value, column='torch'):
    """
    What the row of `value` in the table of `setting` names in its column `column` ('torch' or
    'vugrad'), looked up in `module` (torch.optim, ...): InvalidArgumentError where the module
    has nothing of that name, so that a row one backend cannot build fails there, loudly.
    """
    name = getattr(choice(setting, value), column, None)     # -- (SCHEDULES['none']: None)
    found = getattr(module, name, None) if isinstance(name, str) else None
    if found is None:
        raise InvalidArgumentError(
            f'{setting}={value!r} (--{setting}): the {column} backend cannot build it: its '
            f'row in vugrad.lab.tables names {module.__name__}.{name}, which does not exist.')
    return found
