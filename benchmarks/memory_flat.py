"""
Resident memory over 1,000 training steps of the course's MLP: it should stay flat.

    python benchmarks/memory_flat.py                      # 1,000 steps, MNIST-shaped data
    python benchmarks/memory_flat.py --steps 200 --hidden 256
    python benchmarks/memory_flat.py --no-clear           # drop the loss instead of clear()
    python benchmarks/memory_flat.py --max-ratio 1.05     # exit 1 if memory grew more

The network is the course's: Linear(784, 4 * 784), sigmoid, Linear(., 10), log-softmax, the
summed log-likelihood loss, plain SGD written as in the text (backward, `p.value -= lr * p.grad`,
zero_grad, clear). The data are random arrays of MNIST's shape (no download). The resident set
(the second field of /proc/self/statm, in pages) is printed every --every steps, with the ratio
of the last reading to the first: a graph that is not freed, or a leak per step, shows as a
ratio that keeps growing with the number of steps. (Linux only; no psutil needed.)
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import vugrad as vg  # noqa: E402
from _models import MLP  # noqa: E402

vg.tune_malloc()     # -- a benchmark owns its process: big arrays reuse freed memory

PAGE = os.sysconf('SC_PAGE_SIZE')


def resident_bytes():
    """The resident set size of this process, from /proc/self/statm."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * PAGE


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=1000, help='training steps (default 1000)')
    parser.add_argument('--every', type=int, default=100, help='print every this many steps')
    parser.add_argument('-b', '--batch-size', type=int, default=128)
    parser.add_argument('--hidden', type=int, default=4 * 784,
                        help='hidden units (default 3136, the course: 4 x the input size)')
    parser.add_argument('--instances', type=int, default=55_000, help='training instances')
    parser.add_argument('-l', '--learning-rate', type=float, default=1e-4)
    parser.add_argument('--no-clear', action='store_true',
                        help='do not call loss.clear(): the graph must go when the loss does')
    parser.add_argument('--max-ratio', type=float, default=None,
                        help='exit with status 1 if last/first resident memory exceeds this')
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    dtype = vg.get_default_dtype()
    x = rng.random((args.instances, 784), dtype=np.float32).astype(dtype)
    y = rng.integers(0, 10, args.instances)
    np.random.seed(0)
    mlp = MLP(784, args.hidden, 10)
    b, n = args.batch_size, args.instances
    print(f'## memory_flat: {args.steps} steps, batch {b}, MLP 784-{args.hidden}-10, '
          f'{np.dtype(dtype).name}, lr {args.learning_rate}, '
          f'{"no clear()" if args.no_clear else "clear() after each step"}')

    readings = []
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        fr = ((step - 1) * b) % (n - b + 1)
        batch, targets = x[fr:fr + b], y[fr:fr + b]
        loss = vg.logceloss(mlp(batch), targets)
        loss.backward()
        for parm in mlp.parameters():
            parm.value -= args.learning_rate * parm.grad
        loss.zero_grad()
        if not args.no_clear:
            loss.clear()
        del loss
        if step == 1 or step % args.every == 0 or step == args.steps:
            rss = resident_bytes()
            readings.append(rss)
            print(f'step {step:6d}   resident {rss / 2**20:9.1f} MiB   '
                  f'{time.perf_counter() - start:7.1f} s')

    ratio = readings[-1] / readings[0]
    print(f'resident memory, last / first reading: {ratio:.4f}')
    if args.max_ratio is not None and ratio > args.max_ratio:
        print(f'FAIL: memory grew by more than --max-ratio {args.max_ratio}')
        sys.exit(1)


if __name__ == '__main__':
    main()
