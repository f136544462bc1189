"""
Learning-rate schedules: they set `optimizer.lr` once per epoch, by PyTorch's closed-form rules.

    opt = SGD(model.parameters(), lr=0.1)
    schedule = CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        train_one_epoch(model, opt)
        schedule.step()              # after the epoch, as in PyTorch
"""

import math

from ..errors import InvalidArgumentError


class LRScheduler:
    """
    The base class: `get_lr()` gives the learning rate of epoch `last_epoch` from the base
    learning rate (the optimizer's lr when the schedule was made). Creating a schedule sets the
    lr of epoch 0; each `step()` moves to the next epoch.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.get_lr()

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        """Move to the next epoch and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self.optimizer.lr = self.get_lr()

    def get_last_lr(self):
        """The learning rate set last."""
        return self.optimizer.lr


class StepLR(LRScheduler):
    """
    Multiply the learning rate by gamma every step_size epochs:

        lr = base_lr * gamma ** (epoch // step_size)
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size < 1:
            raise InvalidArgumentError(
                f'StepLR: step_size must be a positive int, got {step_size}.')
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def get_lr(self):
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """
    Anneal the learning rate from base_lr down to eta_min along half a cosine over T_max epochs:

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    (PyTorch's closed form; after T_max epochs it rises again along the same cosine.)
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        if T_max < 1:
            raise InvalidArgumentError(
                f'CosineAnnealingLR: T_max must be a positive int, got {T_max}.')
        self.T_max, self.eta_min = int(T_max), float(eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        cos = math.cos(math.pi * self.last_epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + cos) / 2
