"""Containers: modules made of other modules."""

from ..core import Module
from ..errors import InputTypeError
from ._base import ModuleRepr


class Sequential(ModuleRepr, Module):
    """
    Modules applied one after the other: Sequential(a, b, c)(x) = c(b(a(x))).

        model = Sequential(Linear(784, 300), ReLU(), Linear(300, 10))

    The modules are kept in the list `self.layers` (their parameters are named 'layers.0.w',
    ...); `model[i]` and `len(model)` index into it.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for m in modules:
            if not isinstance(m, Module):
                raise InputTypeError(f'Sequential: expected Modules, got {type(m).__name__}.')
        self.layers = list(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def append(self, module):
        """Add a module at the end."""
        self.layers.append(module)
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def repr_children(self):
        return list(enumerate(self.layers))
        # -- (0): ..., (1): ..., as PyTorch numbers the modules of a Sequential


class Residual(ModuleRepr, Module):
    """
    A residual connection around a block: y = activation(block(x) + x), as in ResNet's basic
    block (the block must keep the shape of its input).

        Residual(Sequential(Conv2d(16, 16, 3, padding=1), ReLU(), Conv2d(16, 16, 3, padding=1)),
                 activation=ReLU())

    :ivar block: the module the skip connection goes around.
    :ivar activation: a module applied after the sum, or None.
    """

    def __init__(self, block, activation=None):
        super().__init__()
        for m in (block, activation):
            if m is not None and not isinstance(m, Module):
                raise InputTypeError(f'Residual: expected Modules, got {type(m).__name__}.')
        self.block, self.activation = block, activation

    def forward(self, x):
        y = self.block(x) + x
        return y if self.activation is None else self.activation(y)
