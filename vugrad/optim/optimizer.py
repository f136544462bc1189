"""The base class of the optimizers: the parameters, their gradients, and a state per parameter."""

import numpy as np

from ..core import Module, TensorNode
from ..errors import InputTypeError, InvalidArgumentError


class Optimizer:
    """
    Updates a list of parameters from their gradients, in place.

        opt = vugrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for x, y in batches:
            loss = vg.cross_entropy(model(x), y)
            loss.backward()
            opt.step()          # p.value -= ... for every parameter with a gradient
            opt.zero_grad()     # forget the gradients, ready for the next batch
            loss.clear()

    A subclass says how one parameter changes in `_update(value, grad, state)`, with NumPy
    arrays only: no graph is built, and the update writes into `value` (the parameter's own
    array). Gradients may be shared between nodes, so an update must never write into `grad`;
    it keeps arrays of its own in `state` (a dict per parameter), in the parameter's dtype.

    Parameters whose gradient never arrived (`p._grad is None`, e.g. after zero_grad() and a
    loss that does not use them) are skipped, as PyTorch skips parameters whose .grad is None.

    :ivar params: the list of parameters.
    :ivar lr: the learning rate; a schedule (vugrad.optim.StepLR, ...) changes it between
        epochs, and so may you.
    :ivar state: one dict per parameter (momentum buffers, moment estimates, step counts).
    """

    def __init__(self, params, lr):
        if isinstance(params, Module):
            params = params.parameters()
        params = list(params)
        if not params:
            raise InvalidArgumentError(f'{type(self).__name__}: got an empty list of parameters.')
        for p in params:
            if not isinstance(p, TensorNode):
                raise InputTypeError(f'{type(self).__name__}: parameters must be TensorNodes, got '
                                f'{type(p).__name__}.')
            if p.source is not None or not p.requires_grad:
                raise InvalidArgumentError(
                    f'{type(self).__name__}: {p!r} is not a parameter (a leaf node '
                                 'that requires a gradient).')
        if len({id(p) for p in params}) != len(params):
            raise InvalidArgumentError(
                f'{type(self).__name__}: a parameter appears more than once.')
        if lr < 0:
            raise InvalidArgumentError(f'{type(self).__name__}: invalid learning rate {lr}.')
        self.params = params
        self.lr = float(lr)
        self.state = [{} for _ in params]

    def zero_grad(self):
        """Forget the gradients of all parameters (they read as zeros again)."""
        for p in self.params:
            p._grad = None

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for p, state in zip(self.params, self.state):
            grad = p._grad
            if grad is None:
                continue
            value = p.value
            self._update(value, grad, state)
            # -- tell the node its array changed in place (see TensorNode.value): a graph that
            #    saved the old values can then refuse to backpropagate through stale arrays
            p.value = value

    def _update(self, value, grad, state):
        raise NotImplementedError

    @staticmethod
    def _buffer(state, name, like):
        """A scratch or state array of `like`'s shape and dtype, kept in `state` between steps."""
        buf = state.get(name)
        if buf is None:
            buf = state[name] = np.zeros_like(like)
        return buf

    def __repr__(self):
        hyper = ', '.join(f'{k}={v}' for k, v in vars(self).items()
                          if k not in ('params', 'state'))
        return f'{type(self).__name__}({len(self.params)} parameters, {hyper})'
