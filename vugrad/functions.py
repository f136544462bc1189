"""
Functions over nodes: short names for the ops (`vg.sigmoid(x)` rather than
`Sigmoid.do_forward(x)`), as in torch.nn.functional, and the losses the course uses.

Each takes TensorNodes (or arrays and numbers, as constants) and returns a TensorNode.
"""

from .core import MatrixMultiply
from .ops import (AvgPool2d, Concatenate, Conv2d, CrossEntropy, Exp, Log, LogSoftmax, Max,
                  MaxPool2d, Mean, NLLLoss, ReLU, Sigmoid, Softmax, Sqrt, Stack, Sum, Tanh)


def exp(x):
    """Element-wise e^x."""
    return Exp.do_forward(x)


def log(x):
    """Element-wise natural logarithm (log(0) = -inf, as in NumPy)."""
    return Log.do_forward(x)


def sqrt(x):
    """Element-wise square root."""
    return Sqrt.do_forward(x)


def sigmoid(x):
    """Element-wise sigmoid 1 / (1 + e^-x)."""
    return Sigmoid.do_forward(x)


def relu(x):
    """Element-wise max(0, x)."""
    return ReLU.do_forward(x)


def tanh(x):
    """Element-wise hyperbolic tangent."""
    return Tanh.do_forward(x)


def softmax(x, axis=-1):
    """
    Softmax over the last axis (for a matrix: each row becomes a probability distribution).

    NB: to compute a loss, start from the logits with logsoftmax (or cross_entropy): taking the
    log of softmax's output underflows to -inf for very unlikely classes.
    """
    return Softmax.do_forward(x, axis=axis)


def logsoftmax(x, axis=-1):
    """
    The logarithm of the softmax over the last axis, computed stably with the log-sum-exp
    trick: log softmax(x) = x - max(x) - log(sum(exp(x - max(x)))).
    """
    return LogSoftmax.do_forward(x, axis=axis)


def logceloss(logprobs, targets, reduction='sum'):
    """
    The cross-entropy loss from log-probabilities (the output of logsoftmax) and integer
    class targets: minus the sum over the batch of the log-probability of the true class.

    :param logprobs: A (n, classes) node of log-probabilities.
    :param targets: n integer class indices (a NumPy array).
    :param reduction: 'sum' (the course's choice, the default) or 'mean'.
    """
    return NLLLoss.do_forward(logprobs, targets=targets, reduction=reduction)


def celoss(outputs, targets, reduction='sum'):
    """
    The cross-entropy loss from probabilities (the output of softmax) and integer targets:
    logceloss(log(outputs), targets).

    NB: numerically unstable where a probability underflows to 0 (log gives -inf); prefer
    logsoftmax with logceloss, or cross_entropy on the logits.
    """
    return logceloss(Log.do_forward(outputs), targets, reduction=reduction)


def cross_entropy(logits, targets, reduction='sum'):
    """
    The cross-entropy loss straight from logits: log-softmax and negative log-likelihood fused
    into one stable op (finite for logits of +-1000).
    """
    return CrossEntropy.do_forward(logits, targets=targets, reduction=reduction)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors np.sum
    """Sum of elements, of all or along axis."""
    return Sum.do_forward(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean of elements, of all or along axis."""
    return Mean.do_forward(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors np.max
    """Maximum of elements, of all or along axis (ties share the gradient)."""
    return Max.do_forward(x, axis=axis, keepdims=keepdims)


def matmul(a, b):
    """Matrix product, as np.matmul."""
    return MatrixMultiply.do_forward(a, b)


def concatenate(nodes, axis=0):
    """Join nodes along an existing axis."""
    return Concatenate.do_forward(*nodes, axis=axis)


def stack(nodes, axis=0):
    """Join nodes of the same shape along a new axis."""
    return Stack.do_forward(*nodes, axis=axis)


def conv2d(x, w, b=None, stride=1, padding=0):
    """
    2D convolution (cross-correlation) of images x (N, C, H, W) with kernels w (O, C, kh, kw),
    plus a bias b (O,) if given; stride and padding are an int or a pair (height, width).
    Returns (N, O, OH, OW), as torch.nn.functional.conv2d.
    """
    if b is None:
        return Conv2d.do_forward(x, w, stride=stride, padding=padding)
    return Conv2d.do_forward(x, w, b, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None):
    """
    The maximum of each kernel_size window of images x (N, C, H, W), windows every `stride`
    pixels (default: kernel_size); the gradient goes to the first maximum of each window.
    """
    return MaxPool2d.do_forward(x, kernel_size=kernel_size, stride=stride)


def avg_pool2d(x, kernel_size, stride=None):
    """The mean of each kernel_size window of images x (N, C, H, W), windows every `stride`."""
    return AvgPool2d.do_forward(x, kernel_size=kernel_size, stride=stride)
