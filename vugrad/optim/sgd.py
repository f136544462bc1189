"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

import numpy as np

from ..errors import InvalidArgumentError
from .optimizer import Optimizer


class SGD(Optimizer):
    """
    Stochastic gradient descent, with PyTorch's update rule (torch.optim.SGD). Per step, for
    a parameter p with gradient g:

        g = g + weight_decay * p                     (if weight_decay != 0: L2 regularization)
        if momentum != 0:
            buf = g                                  (the first step)
            buf = momentum * buf + (1 - dampening) * g   (later steps)
            g = g + momentum * buf  if nesterov  else  buf
        p = p - lr * g

    With momentum 0 this is the course's update, p.value -= lr * p.grad.

    -- Momentum keeps a running sum of past gradients, so steps grow in directions the gradient
       keeps pointing at and oscillations across a ravine cancel out (lecture 4). Nesterov looks
       ahead: it applies the momentum step to the gradient before using it.
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, lr)
        if momentum < 0:
            raise InvalidArgumentError(f'SGD: invalid momentum {momentum}.')
        if weight_decay < 0:
            raise InvalidArgumentError(f'SGD: invalid weight_decay {weight_decay}.')
        if nesterov and (momentum <= 0 or dampening != 0):
            raise InvalidArgumentError(
                'SGD: Nesterov momentum requires a momentum and zero dampening.')
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    def _update(self, p, g, state):
        # -- `d` is a scratch array of our own: every step below writes into it or into the
        #    momentum buffer, never into g (gradients may be shared) and makes no temporaries.
        d = self._buffer(state, 'scratch', p)
        if self.weight_decay != 0:
            np.multiply(p, self.weight_decay, out=d)
            d += g
            g = d
        if self.momentum != 0:
            buf = state.get('momentum_buffer')
            if buf is None:
                buf = state['momentum_buffer'] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= self.momentum
                if self.dampening == 0:
                    buf += g
                else:
                    np.multiply(g, 1 - self.dampening, out=d)
                    buf += d
            if self.nesterov:
                if g is d:     # -- weight decay put g in d: a second scratch array holds m * buf
                    e = self._buffer(state, 'scratch2', p)
                    np.multiply(buf, self.momentum, out=e)
                    d += e
                else:
                    np.multiply(buf, self.momentum, out=d)
                    d += g
                g = d
            else:
                g = buf
        np.multiply(g, self.lr, out=d)
        p -= d
