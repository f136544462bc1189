"""The linear (fully connected) layer."""

import numpy as np

from ..core import Module, TensorNode, get_default_dtype
from ..ops import Linear as LinearOp


class Linear(Module):
    """
    A linear layer: y = x W^T + b, for a batch x of shape (n, input_size).

    :param input_size: features per input.
    :param output_size: features per output.
    :ivar w: the weights, a (output_size, input_size) TensorNode, Glorot-initialized:
        normal with std sqrt(2 / (input_size + output_size)).
    :ivar b: the bias, a (1, output_size) TensorNode, zeros.
    """

    def __init__(self, input_size, output_size, dtype=None):
        super().__init__()
        dtype = dtype or get_default_dtype()
        glorot_std = np.sqrt(2.0 / (input_size + output_size))
        w = np.random.randn(output_size, input_size) * glorot_std
        self.w = TensorNode(w.astype(dtype), name='w')
        self.b = TensorNode(np.zeros((1, output_size), dtype=dtype), name='b')
        # -- Biases start at zero: a common choice. With ReLU units a little noise can help
        #    avoid dead neurons.

    def forward(self, input):
        # -- one fused op computes input @ w.T + b (see vugrad.ops.linalg.Linear)
        return LinearOp.do_forward(input, self.w, self.b)

    def parameters(self):
        return [self.w, self.b]
