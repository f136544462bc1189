"""Convolution, pooling and flattening layers, named and initialized as in torch.nn."""

import numpy as np

from .. import functions as F
from ..core import Module, TensorNode, get_default_dtype
from ..errors import InvalidArgumentError
from ..ops.conv import as_pair


class Conv2d(Module):
    """
    A 2D convolution layer, as torch.nn.Conv2d: input (N, in_channels, H, W), output
    (N, out_channels, OH, OW).

    :param init: 'default' is PyTorch's default: weights and bias uniform in
        +-1/sqrt(fan_in), fan_in = in_channels * kh * kw; or a function (shape, dtype) -> array
        for the weights (the bias then starts at zero).
    :ivar w: the kernels, an (out_channels, in_channels, kh, kw) TensorNode.
    :ivar b: the bias, an (out_channels,) TensorNode, or None when bias=False.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 init='default', dtype=None):
        super().__init__()
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels)):
            if not (isinstance(value, (int, np.integer)) and value > 0):
                raise InvalidArgumentError(f'Conv2d: {name} must be a positive integer, got '
                                           f'{value!r}.')
        kh, kw = as_pair('Conv2d', 'kernel_size', kernel_size, 1)
        self.stride = as_pair('Conv2d', 'stride', stride, 1)
        self.padding = as_pair('Conv2d', 'padding', padding, 0)
        dtype = dtype or get_default_dtype()
        shape = (out_channels, in_channels, kh, kw)
        bound = 1.0 / np.sqrt(in_channels * kh * kw)
        if init == 'default':
            w = np.random.uniform(-bound, bound, size=shape)
            b = np.random.uniform(-bound, bound, size=out_channels)
        elif callable(init):
            w, b = init(shape, dtype), np.zeros(out_channels)
        else:
            raise InvalidArgumentError(f"Conv2d: init must be 'default' or a function (shape, "
                                       f'dtype) -> array, got {init!r}.')
        self.w = TensorNode(np.asarray(w, dtype=dtype), name='w')
        self.b = TensorNode(np.asarray(b, dtype=dtype), name='b') if bias else None

    def forward(self, x):
        return F.conv2d(x, self.w, self.b, stride=self.stride, padding=self.padding)


class MaxPool2d(Module):
    """Max pooling over kernel_size windows, as torch.nn.MaxPool2d (stride: the kernel size)."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride)


class AvgPool2d(Module):
    """Average pooling over kernel_size windows, as torch.nn.AvgPool2d."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride)


class Flatten(Module):
    """(N, ...) -> (N, everything else), as torch.nn.Flatten: from feature maps to a layer."""

    def forward(self, x):
        x = x if isinstance(x, TensorNode) else TensorNode(x, requires_grad=False)
        return x.reshape(x.value.shape[0], -1)
