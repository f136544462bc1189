"""
Side-by-side timings of a training step: vugrad against the BLAS floor and against PyTorch.

    python benchmarks/bench_step.py              # everything (a few minutes on 2 cores)
    python benchmarks/bench_step.py --quick      # fewer repetitions

Every figure is a median of ratios measured in the same process, interleaved round by round
(floor, vugrad, PyTorch, floor, vugrad, ...), so that a busy machine slows all contenders alike.
Results go in benchmarks/RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vugrad as vg  # noqa: E402
from _models import MLP, chain  # noqa: E402

vg.tune_malloc()     # -- a benchmark owns its process: big arrays reuse freed memory

try:
    import torch

    from _torch_worker import torch_step     # -- the same PyTorch step as the worker process
except ImportError:          # -- the vugrad-only figures still work without PyTorch
    torch = None


def timed(fn, steps):
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def interleaved(contenders, rounds, steps):
    """
    Time each contender `steps` steps per round, `rounds` rounds; per-round seconds/step.
    A contender is a step function, or a TorchProcess (which times itself in its process).
    """
    def run(fn, n):
        return fn.run(n) if isinstance(fn, TorchProcess) else timed(fn, n)

    for fn in contenders.values():     # warm up (allocator, BLAS threads, caches)
        run(fn, max(1, steps // 2))
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(run(fn, steps))
    return times


class TorchProcess:
    """The PyTorch step in a process of its own (benchmarks/_torch_worker.py), timed there."""

    def __init__(self, dtype, n_in, hidden, n_out, batch, lr, threads):
        worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_torch_worker.py')
        self.proc = subprocess.Popen([sys.executable, worker], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self._ask(f'setup {np.dtype(dtype).name} {n_in} {hidden} {n_out} {batch} {lr} {threads}')

    def _ask(self, line):
        self.proc.stdin.write(line + '\n')
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def run(self, steps):
        return float(self._ask(f'run {steps}'))

    def close(self):
        self.proc.stdin.write('quit\n')
        self.proc.stdin.close()
        self.proc.wait()


def ratio(times, a, b):
    """Median over rounds of time(a) / time(b), measured in the same round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def vugrad_text_step(dtype, n_in, hidden, n_out, batch, lr):
    """A step written as the course text writes it, with the batch passed as a plain array."""
    rng = np.random.default_rng(0)
    vg.set_default_dtype(dtype)
    mlp = MLP(n_in, hidden, n_out)
    x = rng.random((batch, n_in)).astype(dtype)
    y = rng.integers(0, n_out, batch)
    params = mlp.parameters()

    def step():
        loss = vg.logceloss(mlp(x), y)
        loss.backward()
        for p in params:
            p.value -= lr * p.grad
        loss.zero_grad()
        loss.clear()
    return step


def vugrad_optim_step(dtype, n_in, hidden, n_out, batch, lr):
    """The same step through vugrad.optim.SGD (None when the optim package is absent)."""
    try:
        from vugrad.optim import SGD
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    vg.set_default_dtype(dtype)
    mlp = MLP(n_in, hidden, n_out)
    x = rng.random((batch, n_in)).astype(dtype)
    y = rng.integers(0, n_out, batch)
    opt = SGD(mlp.parameters(), lr=lr)

    def step():
        loss = vg.logceloss(mlp(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss.clear()
    return step


def floor_step(dtype, n_in, hidden, batch):
    """The two large matrix products one step cannot avoid: x W1^T forward, g^T x backward."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, n_in)).astype(dtype)
    w = rng.random((hidden, n_in)).astype(dtype)
    g = rng.random((batch, hidden)).astype(dtype)

    def step():
        x @ w.T
        g.T @ x
    return step


def mnist_step(rounds, steps):
    print('\n## MNIST step: 784 -> 3136 sigmoid -> 10, batch 128, plain SGD')
    print('   ("torch" runs in its own process, as users run it; "torch (in this process)" shares')
    print('    the malloc settings of vugrad.tune_malloc(), which this benchmark calls)')
    rows = []
    for dtype in (np.float32, np.float64):
        contenders = {'floor': floor_step(dtype, 784, 3136, 128),
                      'vugrad': vugrad_text_step(dtype, 784, 3136, 10, 128, 1e-4)}
        opt = vugrad_optim_step(dtype, 784, 3136, 10, 128, 1e-4)
        if opt is not None:
            contenders['vugrad.optim'] = opt
        procs = []
        if torch is not None:
            procs.append(TorchProcess(dtype, 784, 3136, 10, 128, 1e-4, os.cpu_count() or 1))
            contenders['torch'] = procs[-1]
            contenders['torch (in this process)'] = torch_step(dtype, 784, 3136, 10, 128, 1e-4)
        times = interleaved(contenders, rounds, steps)
        for proc in procs:
            proc.close()
        name = np.dtype(dtype).name
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        print(f'{name}: ' + ', '.join(f'{k} {v:.2f} ms' for k, v in med.items()))
        for k in contenders:
            if k == 'floor':
                continue
            line = f'  {name} {k}: {ratio(times, k, "floor"):.3f}x floor'
            if torch is not None and not k.startswith('torch'):
                line += f', {ratio(times, k, "torch"):.3f}x torch'
            print(line)
            rows.append((name, k, ratio(times, k, 'floor'),
                         ratio(times, k, 'torch') if torch is not None else None))
    vg.set_default_dtype(np.float32)
    return rows


def synth_step(rounds, steps):
    print('\n## Synthetic step (overhead-bound): 2 -> 8 sigmoid -> 2, batch 128, one thread')
    if torch is not None:
        torch.set_num_threads(1)
    contenders = {'vugrad': vugrad_text_step(np.float32, 2, 8, 2, 128, 1e-2)}
    opt = vugrad_optim_step(np.float32, 2, 8, 2, 128, 1e-2)
    if opt is not None:
        contenders['vugrad.optim'] = opt
    procs = []
    if torch is not None:
        procs.append(TorchProcess(np.float32, 2, 8, 2, 128, 1e-2, 1))
        contenders['torch'] = procs[-1]
        contenders['torch (in this process)'] = torch_step(np.float32, 2, 8, 2, 128, 1e-2)
    times = interleaved(contenders, rounds, steps)
    for proc in procs:
        proc.close()
    for k, v in times.items():
        print(f'  {k}: {statistics.median(v) * 1e6:.1f} us/step')
    if torch is not None:
        for k in contenders:
            if not k.startswith('torch'):
                print(f'  {k}: {ratio(times, k, "torch"):.3f}x torch, '
                      f'{ratio(times, k, "torch (in this process)"):.3f}x torch in this process')
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)


def torch_chain(n):
    """The same chain in PyTorch (float64 scalars, as vugrad's): seconds."""
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    t = time.perf_counter()
    y = x
    for _ in range(n):
        y = y * 1.0
    y.backward()
    del y
    assert x.grad.item() == 1.0
    return time.perf_counter() - t


def chains(rounds):
    print('\n## Chains of ops (`y = y * 1.0` in a loop): forward + backward + clear, one thread')
    if torch is not None:
        torch.set_num_threads(1)
    contenders = {'vugrad': chain}
    if torch is not None:
        contenders['torch'] = torch_chain
    times = {(name, n): [] for name in contenders for n in (10_000, 100_000)}
    for _ in range(rounds):
        for n in (10_000, 100_000):
            for name, fn in contenders.items():
                times[name, n].append(fn(n))
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in contenders:
        growth = statistics.median(b / a for a, b in zip(times[name, 10_000],
                                                         times[name, 100_000]))
        print(f'  {name}: 10,000 ops {med[name, 10_000]:.3f} s, 100,000 ops '
              f'{med[name, 100_000]:.3f} s; growth {growth:.2f}x for 10x the ops')
    if torch is not None:
        for n in (10_000, 100_000):
            r = statistics.median(a / b for a, b in zip(times['vugrad', n], times['torch', n]))
            print(f'  {n:,} ops: vugrad / torch {r:.3f}')
        g = [(b / a) / (d / c) for a, b, c, d in zip(times['vugrad', 10_000],
                                                     times['vugrad', 100_000],
                                                     times['torch', 10_000],
                                                     times['torch', 100_000])]
        print(f'  growth, vugrad / torch: {statistics.median(g):.3f}')
        torch.set_num_threads(os.cpu_count() or 1)
    import gc
    x = vg.TensorNode(np.array(1.0))
    gc.collect()
    before = len(gc.get_objects())
    y = x
    for _ in range(1000):
        y = y * 1.0
    gc.collect()
    print(f'  objects tracked by the cyclic collector per op: '
          f'{(len(gc.get_objects()) - before) / 1000:.1f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer repetitions')
    parser.add_argument('--only', choices=['mnist', 'synth', 'chain'], default=None)
    args = parser.parse_args()
    rounds = 5 if args.quick else 11
    print(f'# vugrad {vg.__version__}, NumPy {np.__version__}, '
          f'PyTorch {torch.__version__ if torch else "absent"}, '
          f'Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores')
    if args.only in (None, 'mnist'):
        mnist_step(rounds, 5 if args.quick else 10)
    if args.only in (None, 'synth'):
        synth_step(rounds, 300 if args.quick else 1000)
    if args.only in (None, 'chain'):
        chains(3 if args.quick else 7)


if __name__ == '__main__':
    main()
