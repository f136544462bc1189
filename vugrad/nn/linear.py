"""The linear (fully connected) layer."""

import numpy as np

from ..core import Module, TensorNode
from ..ops import BatchMM
from ..ops import Linear as LinearOp
from . import init as initializers
from ._base import ModuleRepr, count, float_dtype


class Linear(ModuleRepr, Module):
    """
    A linear layer: y = x W^T + b, for a batch x of shape (n, input_size).

    :param input_size: features per input.
    :param output_size: features per output.
    :param init: how to draw the weights: 'glorot' (the default, as in the course), 'he',
        'normal', 'uniform' or 'zeros' (see vugrad.nn.init), or a function
        (shape, dtype) -> array.
    :param bias: whether to add a bias.
    :param dtype: the float dtype of the parameters; None means `vugrad.get_default_dtype()`.
    :ivar w: the weights, a (output_size, input_size) TensorNode.
    :ivar b: the bias, a (1, output_size) TensorNode of zeros (drawn like the weights for
        init='uniform', as PyTorch does), or None when bias=False.
    """

    def __init__(self, input_size, output_size, init='glorot', bias=True, dtype=None):
        super().__init__()
        input_size = count('Linear', 'input_size', input_size)
        output_size = count('Linear', 'output_size', output_size)
        dtype = float_dtype('Linear', dtype)
        scheme = initializers.get_scheme(init)
        self.input_size, self.output_size = input_size, output_size
        self.w = TensorNode(scheme((output_size, input_size), dtype=dtype), name='w')
        self.b = None
        if bias:
            b = np.zeros((1, output_size), dtype=dtype)
            if scheme is initializers.uniform:
                k = 1.0 / np.sqrt(input_size)
                b = np.random.uniform(-k, k, size=(1, output_size)).astype(dtype)
            self.b = TensorNode(b, name='b')
        # -- Biases start at zero: a common choice. With ReLU units a little noise can help
        #    avoid dead neurons.

    def forward(self, input):
        if self.b is None:
            return BatchMM.do_forward(self.w, input)    # input @ w.T
        # -- one fused op computes input @ w.T + b (see vugrad.ops.linalg.Linear)
        return LinearOp.do_forward(input, self.w, self.b)

    def extra_repr(self):
        return (f'in_features={self.input_size}, out_features={self.output_size}, '
                f'bias={self.b is not None}')
        # -- PyTorch's names for input_size and output_size, as torch.nn.Linear prints
