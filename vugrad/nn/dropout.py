"""Dropout: a regularizer that zeroes random units during training."""

import numpy as np

from ..core import Module
from ._base import ModuleRepr, fraction


class Dropout(ModuleRepr, Module):
    """
    Inverted dropout. In training mode each element of the input is zeroed with probability p
    and the survivors are scaled by 1 / (1 - p), so the expected value of every element stays
    the same; in evaluation mode (`model.eval()`) the input passes through unchanged, with no
    rescaling needed.

    The mask is drawn from NumPy's global random state (`np.random.seed` makes it repeatable)
    and enters the graph as a constant: y = x * mask, so dy/dx = mask.
    """

    def __init__(self, p=0.5):
        super().__init__()
        self.p = fraction('Dropout', 'p', p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        shape = x.value.shape if hasattr(x, 'value') else np.shape(x)
        dtype = x.value.dtype if hasattr(x, 'value') else np.result_type(x, np.float32)
        if self.p == 1.0:
            mask = np.zeros(shape, dtype=dtype)
        else:
            mask = np.random.random_sample(shape) >= self.p
            mask = mask.astype(dtype) * dtype.type(1.0 / (1.0 - self.p))
        return x * mask

    def extra_repr(self):
        return f'p={self.p}'
