"""What the benchmarks time: the course's MLP (ending in log-probabilities, for the fused loss),
and a long chain of ops built in a user's loop."""

import time

import numpy as np

import vugrad as vg


class MLP(vg.Module):
    """Linear, sigmoid, Linear, log-softmax: the course's network (experiments/train_mlp.py) with
    the numerically stable pair logsoftmax + logceloss in place of softmax + celoss."""

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.layer1 = vg.Linear(n_in, hidden)
        self.layer2 = vg.Linear(hidden, n_out)

    def forward(self, x):
        return vg.logsoftmax(self.layer2(vg.sigmoid(self.layer1(x))))


def chain(n):
    """`y = y * 1.0` n times in a user's loop, then backward and clear: seconds."""
    x = vg.TensorNode(np.array(1.0))
    t = time.perf_counter()
    y = x
    for _ in range(n):
        y = y * 1.0
    y.backward()
    y.clear()
    if x.grad != 1.0:
        raise AssertionError(f'chain: gradient {x.grad}, expected 1.0')
    return time.perf_counter() - t
