"""
Activation functions as modules, so they can sit in a Sequential or be chosen by name. Each
one calls the function of the same name in vugrad.functions; they have no parameters.
"""

from .. import functions as F
from ..core import Module
from ..errors import InvalidArgumentError
from ._base import ModuleRepr


class Sigmoid(ModuleRepr, Module):
    """Element-wise sigmoid 1 / (1 + e^-x): the course's hidden-layer nonlinearity."""

    def forward(self, x):
        return F.sigmoid(x)


class ReLU(ModuleRepr, Module):
    """Element-wise rectified linear unit, max(0, x)."""

    def forward(self, x):
        return F.relu(x)


class Tanh(ModuleRepr, Module):
    """Element-wise hyperbolic tangent."""

    def forward(self, x):
        return F.tanh(x)


class LogSoftmax(ModuleRepr, Module):
    """Log-probabilities from logits, over the last axis."""

    def forward(self, x):
        return F.logsoftmax(x)

    def extra_repr(self):
        return 'dim=-1'


class Identity(ModuleRepr, Module):
    """Passes its input through unchanged."""

    def forward(self, x):
        return x


# -- name -> module class, for `MLP(..., activation='relu')` and the --activation flag
ACTIVATIONS = {'sigmoid': Sigmoid, 'relu': ReLU, 'tanh': Tanh}


def get_activation(activation):
    """A new activation module for a name in ACTIVATIONS (a Module instance is returned as is)."""
    if isinstance(activation, Module):
        return activation
    try:
        return ACTIVATIONS[activation]()
    except (KeyError, TypeError):
        raise InvalidArgumentError(f'unknown activation {activation!r}; choose one of '
                         f'{sorted(ACTIVATIONS)}.') from None
