"""
Optimizers: they update a model's parameters in place from their gradients, building no graph.

    SGD                   gradient descent, with momentum, Nesterov and weight decay
    Adam, AdamW           adaptive per-parameter steps (AdamW: decoupled weight decay)
    StepLR, CosineAnnealingLR   learning-rate schedules

Each follows PyTorch's update rule exactly (torch.optim.SGD, Adam, AdamW, and the closed forms
of torch.optim.lr_scheduler.StepLR and CosineAnnealingLR).
"""

from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ['SGD', 'Adam', 'AdamW', 'CosineAnnealingLR', 'LRScheduler', 'Optimizer', 'StepLR']
