"""Adam and AdamW: per-parameter step sizes from running averages of the gradient."""

import math

import numpy as np

from ..errors import InvalidArgumentError
from .optimizer import Optimizer


class Adam(Optimizer):
    """
    Adam (Kingma & Ba, 2015), with PyTorch's update rule (torch.optim.Adam). Per step t = 1, 2,
    ... for a parameter p with gradient g:

        g = g + weight_decay * p                  (if weight_decay != 0: L2, added to g)
        m = beta1 * m + (1 - beta1) * g           (a running mean of the gradients)
        v = beta2 * v + (1 - beta2) * g^2         (a running mean of their squares)
        m_hat = m / (1 - beta1^t)                 (the bias corrections: m and v start at 0)
        v_hat = v / (1 - beta2^t)                 (amsgrad: v_hat uses the maximum v so far)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    -- Each parameter gets a step of about lr in the direction of its gradient's sign, whatever
       the gradient's scale: multiplying the loss by a constant (summing instead of averaging
       over the batch) leaves Adam's steps (almost) unchanged, unlike SGD's.
    """

    decoupled = False    # AdamW sets this: weight decay shrinks p directly instead

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise InvalidArgumentError(
                f'{type(self).__name__}: invalid betas {betas}: each must lie in '
                             '[0, 1).')
        if eps < 0 or weight_decay < 0:
            raise InvalidArgumentError(f'{type(self).__name__}: eps and weight_decay must be >= 0, '
                             f'got {eps} and {weight_decay}.')
        self.betas = (float(beta1), float(beta2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.amsgrad = bool(amsgrad)

    def _update(self, p, g, state):
        beta1, beta2 = self.betas
        lr, wd = self.lr, self.weight_decay
        state['step'] = t = state.get('step', 0) + 1
        m = self._buffer(state, 'exp_avg', p)
        v = self._buffer(state, 'exp_avg_sq', p)
        d = self._buffer(state, 'scratch', p)    # never write into g: it may be shared

        if wd != 0:
            if self.decoupled:
                p *= 1 - lr * wd                 # AdamW: decay the weights themselves
            else:
                gw = self._buffer(state, 'scratch_grad', p)
                np.multiply(p, wd, out=gw)       # Adam: L2, g = g + wd * p
                gw += g
                g = gw

        np.subtract(g, m, out=d)                 # m = m + (1 - beta1) (g - m), as torch's lerp_
        d *= 1 - beta1
        m += d
        v *= beta2                               # v = beta2 v + (1 - beta2) g^2
        np.multiply(g, g, out=d)
        d *= 1 - beta2
        v += d

        if self.amsgrad:
            vmax = self._buffer(state, 'max_exp_avg_sq', p)
            np.maximum(vmax, v, out=vmax)
            v = vmax
        step_size = lr / (1 - beta1 ** t)
        np.sqrt(v, out=d)                        # denominator: sqrt(v_hat) + eps
        d /= math.sqrt(1 - beta2 ** t)
        d += self.eps
        np.divide(m, d, out=d)
        d *= step_size
        p -= d


class AdamW(Adam):
    """
    AdamW (Loshchilov & Hutter, 2019), as torch.optim.AdamW: Adam with decoupled weight decay.
    Before the Adam step the weights shrink, p = p * (1 - lr * weight_decay), instead of
    weight_decay * p being added to the gradient (which Adam would then rescale away).
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
