"""
Where the time of the course's MNIST step goes: each op's forward and backward timed inside
the step, and the update, zero_grad and clear.

    python benchmarks/profile_step.py            # float32
    python benchmarks/profile_step.py float64
"""

import collections
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vugrad as vg  # noqa: E402
from _models import MLP  # noqa: E402

vg.tune_malloc()     # -- a benchmark owns its process: big arrays reuse freed memory
from vugrad import ops  # noqa: E402


def main(dtype=np.float32, steps=30):
    vg.set_default_dtype(dtype)
    rng = np.random.default_rng(0)
    mlp = MLP(784, 3136, 10)
    x = rng.random((128, 784)).astype(dtype)
    y = rng.integers(0, 10, 128)
    params = mlp.parameters()
    times = collections.defaultdict(float)
    for name in ['Linear', 'Sigmoid', 'LogSoftmax', 'NLLLoss']:
        op = getattr(ops, name)
        for kind in ['forward', 'backward']:
            original = getattr(op, kind)

            def timed(*a, _original=original, _name=f'{name}.{kind}', **k):
                t = time.perf_counter()
                result = _original(*a, **k)
                times[_name] += time.perf_counter() - t
                return result
            setattr(op, kind, staticmethod(timed))
    for i in range(steps + 5):
        if i == 5:
            times.clear()
        t0 = time.perf_counter()
        loss = vg.logceloss(mlp(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        for p in params:
            p.value -= 1e-4 * p.grad
        t3 = time.perf_counter()
        loss.zero_grad()
        loss.clear()
        t4 = time.perf_counter()
        for k, a, b in [('step: forward', t0, t1), ('step: backward', t1, t2),
                        ('step: update', t2, t3), ('step: zero_grad + clear', t3, t4)]:
            times[k] += b - a
    print(f'# {np.dtype(dtype).name}, ms per step (mean of {steps})')
    for k, v in sorted(times.items()):
        print(f'{k:28s} {v / steps * 1e3:8.2f}')


if __name__ == '__main__':
    main(np.float64 if sys.argv[1:] == ['float64'] else np.float32)
