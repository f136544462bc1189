"""Convolution, pooling and flattening layers, named and initialized as in torch.nn."""

import numpy as np

from .. import functions as F
from ..core import Module, TensorNode
from ..errors import InvalidArgumentError, ShapeError
from ..ops.conv import as_pair
from ._base import ModuleRepr, count, float_dtype


class Conv2d(ModuleRepr, Module):
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
        self.in_channels = count('Conv2d', 'in_channels', in_channels)
        self.out_channels = count('Conv2d', 'out_channels', out_channels)
        self.kernel_size = kh, kw = as_pair('Conv2d', 'kernel_size', kernel_size, 1)
        self.stride = as_pair('Conv2d', 'stride', stride, 1)
        self.padding = as_pair('Conv2d', 'padding', padding, 0)
        dtype = float_dtype('Conv2d', dtype)
        shape = (self.out_channels, self.in_channels, kh, kw)
        bound = 1.0 / np.sqrt(self.in_channels * kh * kw)
        if init == 'default':
            w = np.random.uniform(-bound, bound, size=shape)
            b = np.random.uniform(-bound, bound, size=self.out_channels)
        elif callable(init):
            w, b = init(shape, dtype), np.zeros(self.out_channels)
        else:
            raise InvalidArgumentError(f"Conv2d: init must be 'default' or a function (shape, "
                                       f'dtype) -> array, got {init!r}.')
        self.w = TensorNode(np.asarray(w, dtype=dtype), name='w')
        self.b = TensorNode(np.asarray(b, dtype=dtype), name='b') if bias else None

    def forward(self, x):
        return F.conv2d(x, self.w, self.b, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        text = (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, '
                f'stride={self.stride}')
        text += f', padding={self.padding}' if self.padding != (0, 0) else ''
        return text + (', bias=False' if self.b is None else '')
        # -- as torch.nn.Conv2d: the padding only when there is some, the bias only when not


class _Pool2d(ModuleRepr, Module):
    """What the pooling layers share: kernel_size and stride, checked and printed as PyTorch's."""

    function = None     # -- F.max_pool2d or F.avg_pool2d, as a staticmethod

    def __init__(self, kernel_size, stride=None):
        super().__init__()

        def size(name, value):
            pair = as_pair(type(self).__name__, name, value, 1)
            return pair if isinstance(value, (tuple, list)) else pair[0]
            # -- as torch.nn's pools keep them: an int stays an int, a pair a tuple
        self.kernel_size = size('kernel_size', kernel_size)
        self.stride = None if stride is None else size('stride', stride)

    def forward(self, x):
        return self.function(x, self.kernel_size, self.stride)

    def extra_repr(self):
        stride = self.kernel_size if self.stride is None else self.stride
        return f'kernel_size={self.kernel_size}, stride={stride}, padding=0'
        # -- stride None is the kernel size, which PyTorch prints


class MaxPool2d(_Pool2d):
    """Max pooling over kernel_size windows, as torch.nn.MaxPool2d (stride: the kernel size)."""

    function = staticmethod(F.max_pool2d)


class AvgPool2d(_Pool2d):
    """Average pooling over kernel_size windows, as torch.nn.AvgPool2d."""

    function = staticmethod(F.avg_pool2d)


class Flatten(ModuleRepr, Module):
    """(N, ...) -> (N, everything else), as torch.nn.Flatten: from feature maps to a layer."""

    def forward(self, x):
        x = x if isinstance(x, TensorNode) else TensorNode(x, requires_grad=False)
        shape = x.value.shape
        if not shape:
            raise ShapeError('Flatten: expects a batch (N, ...), got a single number (shape ()); '
                             'pass an array whose first axis is the batch.')
        return x.reshape(shape[0], int(np.prod(shape[1:])))
        # -- the size of the rest, not -1: NumPy cannot infer -1 for an empty batch (N = 0)
