"""
Modules: parameters bundled with the function that uses them.

    Module       the base class (defined in vugrad.core; finds parameters by itself)
    Linear       a fully connected layer, y = x W^T + b
    MLP          the course's multilayer perceptron: depth, width, activation, residual, init
    Sequential   modules applied in turn
    Residual     a skip connection around a block: activation(block(x) + x)
    Dropout      inverted dropout (identity in eval mode)
    BatchNorm1d, BatchNorm2d    batch normalization with running statistics (buffers)
    Conv2d, MaxPool2d, AvgPool2d, Flatten    convolutional layers, as torch.nn's
    Sigmoid, ReLU, Tanh, LogSoftmax, Identity    activations as modules
    init         the weight initialization schemes
"""

from ..core import Module
from . import init
from .activation import ACTIVATIONS, Identity, LogSoftmax, ReLU, Sigmoid, Tanh, get_activation
from .container import Residual, Sequential
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dropout import Dropout
from .linear import Linear
from .mlp import MLP
from .norm import BatchNorm1d, BatchNorm2d

__all__ = ['ACTIVATIONS', 'MLP', 'AvgPool2d', 'BatchNorm1d', 'BatchNorm2d', 'Conv2d', 'Dropout',
           'Flatten', 'MaxPool2d', 'Identity', 'Linear', 'LogSoftmax', 'Module', 'ReLU', 'Residual',
           'Sequential', 'Sigmoid', 'Tanh', 'get_activation', 'init']
