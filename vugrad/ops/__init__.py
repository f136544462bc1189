"""
The ops of vugrad, one family per module. Each op is a small class with a forward and a
backward side by side; the comment under each backward states what it computes.

Add, Sub, Multiply and MatrixMultiply live in `vugrad.core` (they are the ones the course text
reads first); they are re-exported here so that every op can be found in one place.
"""

from ..core import Add, MatrixMultiply, Multiply, Sub
from .elementwise import (Divide, Exp, Id, Log, Negate, Pow, Power, ReLU, Sigmoid, Sqrt, Tanh)
from .reduce import Max, Mean, Normalize, RowMax, RowSum, Sum
from .shape import (Concatenate, Expand, GetItem, Reshape, Select, Squeeze, Stack, Transpose,
                    Unsqueeze)
from .linalg import BatchMM, Linear
from .loss import CrossEntropy, LogSoftmax, NLLLoss, Softmax
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .norm import BatchNorm

__all__ = [
    'Add', 'Sub', 'Multiply', 'MatrixMultiply',
    'Id', 'Negate', 'Divide', 'Power', 'Pow', 'Exp', 'Log', 'Sqrt', 'Sigmoid', 'Tanh', 'ReLU',
    'Sum', 'Mean', 'Max', 'RowMax', 'RowSum', 'Normalize',
    'Expand', 'Squeeze', 'Unsqueeze', 'Reshape', 'Transpose', 'GetItem', 'Select',
    'Concatenate', 'Stack',
    'BatchMM', 'Linear',
    'LogSoftmax', 'Softmax', 'NLLLoss', 'CrossEntropy',
    'Conv2d', 'MaxPool2d', 'AvgPool2d', 'BatchNorm',
]
