"""The multilayer perceptron of the course, with depth, width, activation and init as arguments."""

import itertools

from ..core import Module
from ..errors import InvalidArgumentError
from ._base import ModuleRepr, count, fraction
from .activation import get_activation
from .dropout import Dropout
from .linear import Linear


class MLP(ModuleRepr, Module):
    """
    A multilayer perceptron: `layers` hidden layers, each a Linear layer and an activation,
    then a Linear output layer.

        MLP(784, 10)                        # the course's: 784 -> 3136 -> sigmoid -> 10
        MLP(784, 10, hidden=300, layers=3, activation='relu', residual=True, init='he')

    The output is **logits** (unnormalized scores), one row per instance: use
    `vg.cross_entropy(logits, targets)` for the loss (log-softmax and the negative
    log-likelihood fused into one stable op), `vg.logsoftmax(logits)` for log-probabilities,
    and `logits.value.argmax(axis=1)` for predictions. (The course's script ends its MLP with a
    logsoftmax and uses logceloss; that computes the same loss in two ops.)

    :param input_size: features per instance.
    :param output_size: the number of classes.
    :param hidden: the width of the hidden layers: an int (None: 4 * input_size, as in the
        course), or a list of widths, one per hidden layer (then `layers` may be left None).
    :param layers: the number of hidden layers (1 in the course; 0 gives a linear model).
    :param activation: 'sigmoid' (the course's), 'relu' or 'tanh'.
    :param residual: add a skip connection around every hidden layer after the first whose
        input and output have the same width: h = h + act(Linear(h)). (The first hidden layer
        changes the width from input_size, so it has none.)
    :param init: the weight initialization of every Linear layer (see vugrad.nn.init).
    :param dropout: if above 0, a Dropout(p=dropout) after every hidden activation.
    :param dtype: the float dtype of the parameters; None means `vugrad.get_default_dtype()`.
    """

    def __init__(self, input_size, output_size, hidden=None, layers=1, activation='sigmoid',
                 residual=False, init='glorot', dropout=0.0, dtype=None):
        super().__init__()
        input_size = count('MLP', 'input_size', input_size)
        output_size = count('MLP', 'output_size', output_size)
        if isinstance(hidden, (list, tuple)):
            widths = [count('MLP', 'hidden', h) for h in hidden]
            if layers is not None and layers != len(widths):
                raise InvalidArgumentError(
                    f'MLP: hidden lists {len(widths)} widths but layers={layers}.')
        else:
            layers = 1 if layers is None else count('MLP', 'layers', layers, smallest=0)
            widths = [4 * input_size if hidden is None else count('MLP', 'hidden', hidden)] * layers
        dropout = fraction('MLP', 'dropout', dropout)

        self.residual = bool(residual)
        sizes = [input_size] + widths
        self.hidden = [Linear(a, b, init=init, dtype=dtype) for a, b in itertools.pairwise(sizes)]
        self.activations = [get_activation(activation) for _ in widths]
        self.dropouts = [Dropout(dropout) for _ in widths] if dropout > 0 else []
        self.output = Linear(sizes[-1], output_size, init=init, dtype=dtype)

    def forward(self, x):
        h = x
        for i, (layer, act) in enumerate(zip(self.hidden, self.activations)):
            a = act(layer(h))
            if self.dropouts:
                a = self.dropouts[i](a)
            # -- a residual connection adds the layer's input to its output, so the layer only
            #    has to learn a change to h, and gradients flow back through the + unchanged
            skip = self.residual and layer.input_size == layer.output_size
            h = h + a if skip else a
        return self.output(h)

    def extra_repr(self):
        return f'residual={self.residual}'

    def repr_children(self):
        """The layers in the order forward() applies them, under their parameters' names."""
        out = []
        for i, (layer, act) in enumerate(zip(self.hidden, self.activations)):
            out += [(f'hidden.{i}', layer), (f'activations.{i}', act)]
            out += [(f'dropouts.{i}', self.dropouts[i])] if self.dropouts else []
        return out + [('output', self.output)]
