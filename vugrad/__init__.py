"""
vugrad: a small, readable, tensor-valued automatic differentiation library on NumPy.

    import vugrad as vg
    a = vg.TensorNode(np.random.randn(2, 2))
    b = vg.TensorNode(np.random.randn(2, 2))
    c = a + b                    # builds the graph: c.source is the OpNode of the addition
    c.sum().backward()           # fills in a.grad and b.grad

Where things live:
    vugrad.core        TensorNode, OpNode, Op, Module, the backward pass, the four main ops
    vugrad.checks      the checks the core makes (bad input, saved arrays, anomalies)
    vugrad.modes       no_grad, enable_grad, detect_anomaly (per thread), the default dtype
    vugrad.fileio      atomic writes, .npz checkpoints
    vugrad.malloc      tune_malloc(): an opt-in for training processes
    vugrad.ops         the ops, one module per family
    vugrad.functions   sigmoid, softmax, logsoftmax, the losses, ...
    vugrad.nn          Linear, MLP, Sequential, Dropout and the other modules
    vugrad.optim       SGD, Adam, AdamW, learning-rate schedules
    vugrad.data        load_synth, load_mnist, load_cifar10, batches
    vugrad.gradcheck   finite-difference gradient checking
    vugrad.opcheck     check_op: what is wrong with a learner's own Op, and where
    vugrad.trace       trace_backward(loss): backward step by step (text, notebook, a web page)
    vugrad.viz         drawings of the computation graph (to_dot, draw)
    vugrad.errors      the exceptions vugrad raises
    vugrad.lab         the training kit, on top of all the above (not imported by `import vugrad`):
                       train, torch_backend, sweep, report, graph, cli (the `vugrad` command)
"""

from . import core, data, errors, functions, nn, ops, optim
from .core import Module, Op, OpNode, TensorNode
from .modes import (detect_anomaly, enable_grad, get_default_dtype, is_grad_enabled, no_grad,
                    set_default_dtype)
from .errors import VugradError
from .functions import (avg_pool2d, celoss, concatenate, conv2d, cross_entropy, exp, log,
                        logceloss, logsoftmax, matmul, max, max_pool2d, mean, relu, sigmoid,
                        softmax, sqrt, stack, sum, tanh)
from .gradcheck import gradcheck
from .opcheck import OpReport, check_op
from .trace import trace_backward
from .malloc import tune_malloc
from .nn import Linear
from .viz import draw
from .data import load_synth, load_mnist, load_fashion_mnist, load_cifar10
# -- every op as vugrad.Name too, as the course's code uses them (vugrad.Linear is the module;
#    the fused op of the same name is vugrad.ops.Linear)
from .ops import (Add, AvgPool2d, BatchMM, Concatenate, Conv2d, CrossEntropy, Divide, Exp, Expand,
                  GetItem, Id, Log, LogSoftmax, MatrixMultiply, Max, MaxPool2d, Mean, Multiply,
                  Negate, NLLLoss, Normalize, Pow, Power, ReLU, Reshape, RowMax, RowSum, Select,
                  Sigmoid, Softmax, Sqrt, Squeeze, Stack, Sub, Sum, Tanh, Transpose, Unsqueeze)

__version__ = '0.2.0'

__all__ = [
    # modules
    'core', 'data', 'errors', 'functions', 'nn', 'ops', 'optim',
    # the graph
    'TensorNode', 'OpNode', 'Op', 'Module', 'no_grad', 'enable_grad', 'is_grad_enabled',
    'detect_anomaly', 'get_default_dtype', 'set_default_dtype', 'VugradError',
    # functions
    'celoss', 'concatenate', 'cross_entropy', 'exp', 'log', 'logceloss', 'logsoftmax', 'matmul',
    'max', 'mean', 'relu', 'sigmoid', 'softmax', 'sqrt', 'stack', 'sum', 'tanh',
    'conv2d', 'max_pool2d', 'avg_pool2d',
    'gradcheck', 'check_op', 'OpReport', 'trace_backward', 'tune_malloc', 'Linear', 'draw',
    'load_synth', 'load_mnist', 'load_fashion_mnist', 'load_cifar10',
    # ops
    'Add', 'BatchMM', 'Concatenate', 'CrossEntropy', 'Divide', 'Exp', 'Expand', 'GetItem', 'Id',
    'Log', 'LogSoftmax', 'MatrixMultiply', 'Max', 'Mean', 'Multiply', 'Negate', 'NLLLoss',
    'Normalize', 'Pow', 'Power', 'ReLU', 'Reshape', 'RowMax', 'RowSum', 'Select', 'Sigmoid',
    'Softmax', 'Sqrt', 'Squeeze', 'Stack', 'Sub', 'Sum', 'Tanh', 'Transpose', 'Unsqueeze',
    'Conv2d', 'MaxPool2d', 'AvgPool2d',
]
