"""Batch normalization layers, with PyTorch's rules."""

import numpy as np

from ..core import Module, TensorNode, get_default_dtype
from ..errors import InvalidArgumentError, ShapeError
from ..ops.norm import BatchNorm, batch_axes


class _BatchNorm(Module):
    """
    Batch normalization of each channel (feature), as torch.nn.BatchNorm1d/2d.

    In training mode (`model.train()`, the default) each channel is normalized with the mean and
    the biased variance of the batch, and the running statistics move towards the batch's:
    running = (1 - momentum) running + momentum batch, with the unbiased variance. In evaluation
    mode (`model.eval()`) the running statistics are used instead.

    :ivar w: the scale, a (num_features,) TensorNode of ones.
    :ivar b: the shift, a (num_features,) TensorNode of zeros.
    :ivar running_mean, running_var: buffers (NumPy arrays, saved with the parameters, never
        given to an optimizer).
    """

    ndim = None    # -- 2 for BatchNorm1d, 4 for BatchNorm2d

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=None):
        super().__init__()
        if not (isinstance(num_features, (int, np.integer)) and num_features > 0):
            raise InvalidArgumentError(f'{type(self).__name__}: num_features must be a positive '
                                       f'integer, got {num_features!r}.')
        if not 0.0 <= momentum <= 1.0 or not eps > 0:
            raise InvalidArgumentError(f'{type(self).__name__}: momentum must lie in [0, 1] and '
                                       f'eps be positive, got momentum={momentum}, eps={eps}.')
        dtype = dtype or get_default_dtype()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.w = TensorNode(np.ones(num_features, dtype=dtype), name='w')
        self.b = TensorNode(np.zeros(num_features, dtype=dtype), name='b')
        self.register_buffer('running_mean', np.zeros(num_features, dtype=dtype))
        self.register_buffer('running_var', np.ones(num_features, dtype=dtype))

    def forward(self, x):
        x = x if isinstance(x, TensorNode) else TensorNode(x, requires_grad=False)
        name = type(self).__name__
        if x.value.ndim != self.ndim or x.value.shape[1] != self.num_features:
            raise ShapeError(f'{name}({self.num_features}): expects input of shape '
                             f'{"(N, C)" if self.ndim == 2 else "(N, C, H, W)"} with C = '
                             f'{self.num_features}, got {x.value.shape}.')
        shape = (1, -1) + (1,) * (self.ndim - 2)
        if not self.training:
            scale = self.w * (1.0 / np.sqrt(self.running_var + self.eps)).reshape(-1)
            return (x - self.running_mean.reshape(shape)) * scale.reshape(shape) \
                + self.b.reshape(shape)
        axes = batch_axes(x.value, name)
        count = x.value.size // self.num_features
        if count < 2:
            raise ShapeError(f'{name}: training mode needs more than one value per channel to '
                             f'estimate a variance, got input of shape {x.value.shape}; use a '
                             'larger batch, or model.eval().')
        mean = x.value.mean(axis=axes)
        var = x.value.var(axis=axes)
        m = self.momentum
        self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(self.running_mean.dtype)
        self.running_var = ((1 - m) * self.running_var + m * var * count / (count - 1)).astype(
            self.running_var.dtype)
        return BatchNorm.do_forward(x, self.w, self.b, mean=mean, var=var, eps=self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of a batch of feature vectors, shape (N, C); see _BatchNorm."""
    ndim = 2


class BatchNorm2d(_BatchNorm):
    """Batch normalization of a batch of images, shape (N, C, H, W), per channel."""
    ndim = 4
