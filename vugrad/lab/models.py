"""
The convolutional networks of `vugrad train --model lenet|blitz` and the losses of `--loss`,
built only from vugrad.nn modules and vugrad functions, with exact layer lists that the torch
backend mirrors one for one.

    build_cnn(config, in_shape, num_classes)  -> a vugrad.nn.Sequential that outputs logits
    loss_of(config)                           -> (logits, targets, reduction) -> a loss node:
                                                 the function that tables.LOSSES names

blitz (PyTorch's 60-minute blitz CIFAR-10 net, for 3x32x32 images), with [..] only under
--batchnorm / --residual, and act the module of --activation:

    Conv2d(3, 6, 5), [BatchNorm2d(6)], act, MaxPool2d(2),
    [Residual(Sequential(Conv2d(6, 6, 3, padding=1), [BatchNorm2d(6)], act,
                         Conv2d(6, 6, 3, padding=1), [BatchNorm2d(6)]), activation=act)],
    Conv2d(6, 16, 5), [BatchNorm2d(16)], act, MaxPool2d(2),
    [Residual(... the same with 16 channels ...)],
    Flatten(), Linear(400, 120), [BatchNorm1d(120)], act, Linear(120, 84), [BatchNorm1d(84)],
    act, Linear(84, num_classes)

lenet: the same for 1x28x28 images, with the first conv Conv2d(1, 6, 5, padding=2). The convs
have PyTorch's default initialization and the Linear layers init='uniform' (PyTorch's
default for nn.Linear), so the weights are drawn as PyTorch would draw them (from NumPy's
global random state, in layer order).
"""

import sys

import numpy as np

from .. import functions as F
from ..errors import InvalidArgumentError
from ..functions import cross_entropy  # noqa: F401 - the loss of --loss cross-entropy (LOSSES)
from ..nn import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Residual,
    Sequential,
    get_activation,
)
from .tables import MODEL_INPUTS, twin_in

__all__ = ['build_cnn', 'hinge_loss', 'loss_of', 'mse_loss']


def build_cnn(config, in_shape, num_classes):
    """
    The CNN of config.model ('lenet' or 'blitz') for images of shape `in_shape` (C, H, W),
    with config.activation, config.batchnorm, config.residual and config.dtype.

    :raises InvalidArgumentError: for another model, or images of another shape.
    """
    model = config.model
    if model not in MODEL_INPUTS:
        raise InvalidArgumentError(f'build_cnn: model={model!r} is not a CNN; choose one of '
                                   f'{", ".join(MODEL_INPUTS)}.')
    shape = MODEL_INPUTS[model][0]
    got = tuple(int(s) for s in np.atleast_1d(in_shape))
    if got != shape:
        raise InvalidArgumentError(f'build_cnn: the {model} network takes images of shape '
                                   f'{shape}, got instances of shape {got}.')
    dtype = np.dtype(config.dtype)
    bn, residual = bool(config.batchnorm), bool(config.residual)

    def act():
        return get_activation(config.activation)

    def conv(cin, cout, k, padding=0):
        return [Conv2d(cin, cout, k, padding=padding, dtype=dtype)] + \
            ([BatchNorm2d(cout, dtype=dtype)] if bn else [])

    def block(channels):
        if not residual:
            return []
        inner = conv(channels, channels, 3, 1) + [act()] + conv(channels, channels, 3, 1)
        return [Residual(Sequential(*inner), activation=act())]

    def linear(cin, cout, hidden=True):
        layers = [Linear(cin, cout, init='uniform', dtype=dtype)]
        if hidden:
            layers += ([BatchNorm1d(cout, dtype=dtype)] if bn else []) + [act()]
        return layers

    first = conv(3, 6, 5) if model == 'blitz' else conv(1, 6, 5, padding=2)
    layers = (first + [act(), MaxPool2d(2)] + block(6)
              + conv(6, 16, 5) + [act(), MaxPool2d(2)] + block(16)
              + [Flatten()] + linear(16 * 5 * 5, 120) + linear(120, 84)
              + linear(84, num_classes, hidden=False))
    return Sequential(*layers)


# ---------------------------------------------------------------------- losses

def _one_hot(logits, targets):
    """An (n, C) array of the logits' dtype, 1 at each row's target class."""
    value = logits.value if hasattr(logits, 'value') else np.asarray(logits)
    targets = np.asarray(targets)
    out = np.zeros(value.shape, dtype=value.dtype)
    out[np.arange(len(targets)), targets] = 1
    return out


def _reduce(per_element, reduction, count):
    total = per_element.sum()
    if reduction == 'sum':
        return total
    if reduction == 'mean':
        return total * (1.0 / max(count, 1))
    raise InvalidArgumentError(f"reduction must be 'sum' or 'mean', got {reduction!r}.")


def mse_loss(logits, targets, reduction='sum'):
    """
    The squared error between the logits (n, C) and the one-hot targets, as PyTorch's
    MSELoss(logits, one_hot(targets)): summed over all n*C elements ('sum'), or their mean
    ('mean').
    """
    diff = logits - _one_hot(logits, targets)
    return _reduce(diff * diff, reduction, diff.value.size)


def hinge_loss(logits, targets, reduction='sum'):
    """
    The multi-class hinge loss, as PyTorch's MultiMarginLoss (p=1, margin=1): for each row,
    sum over the classes i other than the target y of max(0, 1 - x_y + x_i), divided by the
    number of classes C; then the sum ('sum') or the mean ('mean') over the rows.
    """
    onehot = _one_hot(logits, targets)
    n, classes = onehot.shape
    target_logit = (logits * onehot).sum(axis=1, keepdims=True)      # -- x_y, (n, 1)
    margins = F.relu(1.0 - target_logit + logits) * (1.0 - onehot)   # -- 0 at i = y
    return _reduce(margins * (1.0 / classes), reduction, n)


def loss_of(config):
    """
    The loss function of config.loss, (logits node, integer targets, reduction) -> node: the
    function of this module that its row of vugrad.lab.tables.LOSSES names.
    """
    return twin_in(sys.modules[__name__], 'loss', config.loss, column='vugrad')
