"""
One measurement for benchmarks/ab.py: `python _ab_worker.py TREE BENCH` imports vugrad from
TREE, warms up, times the benchmark, and prints seconds (per step, or for the whole chain).
"""

import sys
import time

sys.path.insert(0, sys.argv[1])

import numpy as np  # noqa: E402

import vugrad as vg  # noqa: E402
from _models import MLP, chain  # noqa: E402

if hasattr(vg, 'tune_malloc'):
    vg.tune_malloc()     # -- older versions tuned malloc on import: compare like with like


def step_time(n_in, hidden, n_out, batch, lr, steps):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    mlp = MLP(n_in, hidden, n_out)
    x = rng.random((batch, n_in)).astype(np.float32)
    y = rng.integers(0, n_out, batch)
    params = mlp.parameters()

    def step():
        loss = vg.logceloss(mlp(vg.TensorNode(x)), y)
        loss.backward()
        for p in params:
            p.value -= lr * p.grad
        loss.zero_grad()
        loss.clear()

    for _ in range(max(3, steps // 5)):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


if __name__ == '__main__':
    bench = sys.argv[2]
    if bench == 'mnist':
        print(step_time(784, 3136, 10, 128, 1e-4, 30))
    elif bench == 'synth':
        print(step_time(2, 8, 2, 128, 1e-2, 2000))
    elif bench == 'chain':
        chain(10_000)
        print(chain(100_000))
    else:
        raise SystemExit(f'unknown benchmark {bench}')
