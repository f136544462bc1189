"""Batch normalization layers, with PyTorch's rules."""

import numpy as np

from ..core import Module, TensorNode
from ..errors import ShapeError
from ..ops.norm import BatchNorm, batch_axes
from ._base import ModuleRepr, count, float_dtype, fraction, positive_number


class _BatchNorm(ModuleRepr, Module):
    """
    Batch normalization of each channel (feature), as torch.nn.BatchNorm1d/2d.

    In training mode (`model.train()`, the default) each channel is normalized with the mean and
    the biased variance of the batch, and the running statistics move towards the batch's:
    running = (1 - momentum) running + momentum batch, with the unbiased variance. With
    momentum=None they are the plain average over all batches seen so far (the factor is
    1 / num_batches_tracked), as in PyTorch. In evaluation mode (`model.eval()`) the running
    statistics are used instead.

    :ivar w: the scale, a (num_features,) TensorNode of ones.
    :ivar b: the shift, a (num_features,) TensorNode of zeros.
    :ivar running_mean, running_var: buffers (NumPy arrays, saved with the parameters, never
        given to an optimizer).
    :ivar num_batches_tracked: the number of training batches seen; a buffer (saved with the
        state) only with momentum=None, which needs it: the state of a batch norm with a
        momentum, and so its files, stay as they were.
    """

    shapes = {}     # -- ndim -> the input shape, as the error message writes it

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = count(name, 'num_features', num_features)
        self.eps = positive_number(name, 'eps', eps)
        self.momentum = None if momentum is None else fraction(
            name, 'momentum', momentum, ', or None for the average over all batches')
        dtype = float_dtype(name, dtype)
        c = self.num_features
        self.w = TensorNode(np.ones(c, dtype=dtype), name='w')
        self.b = TensorNode(np.zeros(c, dtype=dtype), name='b')
        self.register_buffer('running_mean', np.zeros(c, dtype=dtype))
        self.register_buffer('running_var', np.ones(c, dtype=dtype))
        if momentum is None:
            self.register_buffer('num_batches_tracked', np.array(0, dtype=np.int64))
        else:
            self.num_batches_tracked = np.array(0, dtype=np.int64)

    def forward(self, x):
        x = x if isinstance(x, TensorNode) else TensorNode(x, requires_grad=False)
        name = type(self).__name__
        if x.value.ndim not in self.shapes or x.value.shape[1] != self.num_features:
            raise ShapeError(f'{name}({self.num_features}): expects input of shape '
                             f'{" or ".join(self.shapes.values())} with C = '
                             f'{self.num_features}, got {x.value.shape}.')
        shape = (1, -1) + (1,) * (x.value.ndim - 2)
        if not self.training:
            scale = self.w * (1.0 / np.sqrt(self.running_var + self.eps)).reshape(-1)
            return (x - self.running_mean.reshape(shape)) * scale.reshape(shape) \
                + self.b.reshape(shape)
        axes = batch_axes(x.value, name)
        per_channel = x.value.size // self.num_features
        if per_channel < 2:
            raise ShapeError(f'{name}: training mode needs more than one value per channel to '
                             f'estimate a variance, got input of shape {x.value.shape}; use a '
                             'larger batch, or model.eval().')
        mean = x.value.mean(axis=axes)
        var = x.value.var(axis=axes)
        self.num_batches_tracked = np.asarray(self.num_batches_tracked + 1)
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        # -- momentum=None: the n-th batch gets weight 1/n, so the running statistics are the
        #    mean of the batches' statistics so far
        self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(self.running_mean.dtype)
        unbiased = var * per_channel / (per_channel - 1)
        self.running_var = ((1 - m) * self.running_var + m * unbiased).astype(
            self.running_var.dtype)
        return BatchNorm.do_forward(x, self.w, self.b, mean=mean, var=var, eps=self.eps)

    def extra_repr(self):
        return f'{self.num_features}, eps={self.eps}, momentum={self.momentum}'


class BatchNorm1d(_BatchNorm):
    """
    Batch normalization of a batch of feature vectors (N, C), or of sequences (N, C, L) over
    the batch and the positions, per channel; see _BatchNorm.
    """
    shapes = {2: '(N, C)', 3: '(N, C, L)'}


class BatchNorm2d(_BatchNorm):
    """Batch normalization of a batch of images, shape (N, C, H, W), per channel."""
    shapes = {4: '(N, C, H, W)'}
