"""
One training step of the blitz CNN (PyTorch's 60-minute blitz CIFAR-10 net), vugrad against
PyTorch, side by side, then where vugrad's step spends its time.

    python benchmarks/bench_cnn.py               # batch 4 and batch 64, 11 rounds, and the profile
    python benchmarks/bench_cnn.py --quick       # 5 rounds, fewer steps
    python benchmarks/bench_cnn.py --threads 2   # two BLAS / PyTorch threads each
    python benchmarks/bench_cnn.py --model lenet # LeNet (1x28x28 images, MNIST's) instead

The net: Conv2d(3, 6, 5), ReLU, MaxPool2d(2), Conv2d(6, 16, 5), ReLU, MaxPool2d(2), Flatten,
Linear(400, 120), ReLU, Linear(120, 84), ReLU, Linear(84, 10); mean cross-entropy; SGD with
momentum 0.9, lr 0.001; float32; the images are constants (no gradient for them). PyTorch
runs the identical network (vugrad.lab.torch_backend.to_torch, the same weights).

Both run in this process, one thread each unless --threads says otherwise (OPENBLAS_NUM_THREADS
is set before NumPy is imported, and torch.set_num_threads), interleaved round by round
(vugrad, torch, vugrad, ...), so that a busy machine slows both alike. Figures: the median over
rounds of seconds per step (IQR in brackets) and the median of the per-round ratios
vugrad / torch (with its IQR).
This process does not call vugrad.tune_malloc(): both use the C library's default malloc.
Results go in benchmarks/RESULTS.md.
"""

# ruff: noqa: E402 - the thread settings must come before NumPy's import
import os
import sys

# -- the number of threads must be set before NumPy is imported: read --threads N here
THREADS = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == '--threads'), '1')
os.environ['OPENBLAS_NUM_THREADS'] = THREADS
os.environ['OMP_NUM_THREADS'] = THREADS
os.environ['MKL_NUM_THREADS'] = THREADS
if THREADS != '1':
    # -- PyTorch's OpenMP threads spin after each parallel region, and would take the cores from
    #    OpenBLAS's threads in the same process: they wait passively here
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import collections
import platform
import statistics
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import vugrad as vg
from vugrad import functions as F
from vugrad import ops
from vugrad.core import Op
from vugrad.lab.config import TrainConfig
from vugrad.lab.models import build_cnn
from vugrad.optim import SGD

try:
    import torch

    from vugrad.lab.torch_backend import to_torch
except ImportError:          # -- the profile still works without PyTorch
    torch = None

LR, MOMENTUM = 0.001, 0.9
TARGETS = {4: 0.70, 64: 1.3}     # -- the prototype figures, vugrad / torch


def quartiles(xs):
    q = statistics.quantiles(xs, n=4, method='inclusive')
    return q[0], q[2]


SHAPES = {'blitz': (3, 32, 32), 'lenet': (1, 28, 28)}
MODEL = 'blitz'      # -- set by --model


def blitz(batch, seed=0):
    """A fresh net (the blitz net, or LeNet with --model lenet), and a constant batch."""
    np.random.seed(seed)         # -- build_cnn draws from NumPy's global state, as PyTorch would
    vg.set_default_dtype(np.float32)
    config = TrainConfig(model=MODEL, activation='relu', dtype='float32')
    model = build_cnn(config, SHAPES[MODEL], 10)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + SHAPES[MODEL]).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return model, x, y


def vugrad_step(model, x, y):
    opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        # -- the batch goes in as a plain array: a constant, as in vugrad.lab.train
        loss = F.cross_entropy(model(x), y, reduction='mean')
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss.clear()
    return step


def torch_step(model, x, y):
    net = to_torch(model)
    assert next(net.parameters()).dtype == torch.float32
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss(reduction='mean')

    def step():
        loss = loss_fn(net(tx), ty)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return step, net


def check_same(model, net, x, y):
    """The two networks compute the same logits (same weights) before timing."""
    with torch.no_grad():
        t = net(torch.from_numpy(x)).numpy()
    v = model(x).value
    err = float(np.max(np.abs(t - v)))
    assert err < 1e-4, f'vugrad and torch disagree on the logits by {err}'
    return err


def timed(fn, steps):
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def side_by_side(batch, rounds, steps):
    model, x, y = blitz(batch)
    contenders = {'vugrad': vugrad_step(model, x, y)}
    if torch is not None:
        tstep, net = torch_step(model, x, y)
        err = check_same(model, net, x, y)
        contenders['torch'] = tstep
    for fn in contenders.values():     # -- warm up (allocator, caches, momentum buffers)
        timed(fn, max(2, steps // 2))
    times = {k: [] for k in contenders}
    for r in range(rounds):
        order = list(contenders) if r % 2 == 0 else list(reversed(contenders))
        for k in order:
            times[k].append(timed(contenders[k], steps))
    print(f'\n## {MODEL}, batch {batch}: {rounds} rounds of {steps} steps, {THREADS} thread(s) '
          'each')
    for k, v in times.items():
        lo, hi = quartiles(v)
        print(f'  {k}: {statistics.median(v) * 1e3:.3f} ms/step '
              f'(IQR {lo * 1e3:.3f} to {hi * 1e3:.3f})')
    if torch is not None:
        rs = [a / b for a, b in zip(times['vugrad'], times['torch'])]
        lo, hi = quartiles(rs)
        med = statistics.median(rs)
        target = TARGETS.get(batch) if MODEL == 'blitz' and THREADS == '1' else None
        line = f'  vugrad / torch: {med:.3f} (IQR {lo:.3f} to {hi:.3f})'
        if target is not None:
            line += (f'; prototype {target}x: '
                     f'{"met" if med <= target else "NOT met"}')
        print(line)
        print(f'  (logits agreed to {err:.1e} before timing)')


def profile(batch, steps):
    """Each op's forward and backward timed inside vugrad's step; the rest is bookkeeping."""
    model, x, y = blitz(batch)
    opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    times = collections.defaultdict(float)
    originals = []
    classes = [c for c in vars(ops).values()
               if isinstance(c, type) and issubclass(c, Op) and c is not Op]
    for op in classes:
        for kind in ['forward', 'backward']:
            original = op.__dict__.get(kind)
            if original is None:
                continue
            originals.append((op, kind, original))
            fn = original.__func__ if isinstance(original, staticmethod) else original

            def wrapped(*a, _fn=fn, _op=op.__name__, _kind=kind, **k):
                t = time.perf_counter()
                result = _fn(*a, **k)
                dt = time.perf_counter() - t
                name = _op
                if _op == 'Conv2d':
                    context = a[0]
                    shape = context['geometry'][1]
                    name = f'Conv2d {shape[1]}->{shape[0]}'
                    if _kind == 'backward' and context['cols'] is not None:
                        # -- dW again, alone, on the same arrays; dx + db is the rest
                        g = a[1].reshape(a[1].shape[0], shape[0], -1)
                        t2 = time.perf_counter()
                        np.matmul(g, context['cols'].transpose(0, 2, 1)).sum(axis=0)
                        dw = time.perf_counter() - t2
                        times[f'{name}.backward: dW'] += dw
                        rest = 'dx + db' if context['w'] is not None else 'db (x constant)'
                        times[f'{name}.backward: {rest}'] += dt - dw
                        times['(dW recomputed for the split, not in the step)'] += dw
                        return result
                times[f'{name}.{_kind}'] += dt
                return result
            setattr(op, kind, staticmethod(wrapped))
    try:
        for i in range(steps + 3):
            if i == 3:
                times.clear()
            t0 = time.perf_counter()
            loss = F.cross_entropy(model(x), y, reduction='mean')
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            opt.zero_grad()
            loss.clear()
            t4 = time.perf_counter()
            for k, a, b in [('step: forward', t0, t1), ('step: backward', t1, t2),
                            ('step: update (SGD momentum)', t2, t3),
                            ('step: zero_grad + clear', t3, t4)]:
                times[k] += b - a
    finally:
        for op, kind, original in originals:
            setattr(op, kind, original)
    extra = times.pop('(dW recomputed for the split, not in the step)', 0.0)
    ms = {k: v / steps * 1e3 for k, v in times.items()}
    extra_ms = extra / steps * 1e3
    fwd_ops = sum(v for k, v in ms.items() if k.endswith('.forward'))
    bwd_ops = sum(v for k, v in ms.items() if '.backward' in k)
    total = sum(v for k, v in ms.items() if k.startswith('step:')) - extra_ms
    print(f'\n## where vugrad\'s step goes, {MODEL}, batch {batch} (ms per step, mean of '
          f'{steps} steps, timers on)')
    rows = sorted(((v, k) for k, v in ms.items() if not k.startswith('step:')), reverse=True)
    for v, k in rows:
        print(f'  {k:48s} {v:8.3f}  {100 * v / total:5.1f}%')
    book_f = ms['step: forward'] - fwd_ops
    book_b = ms['step: backward'] - extra_ms - bwd_ops
    for k, v in [('graph bookkeeping, forward', book_f), ('graph bookkeeping, backward', book_b),
                 ('update (SGD momentum)', ms['step: update (SGD momentum)']),
                 ('zero_grad + clear', ms['step: zero_grad + clear'])]:
        print(f'  {k:48s} {v:8.3f}  {100 * v / total:5.1f}%')
    print(f'  {"step total":48s} {total:8.3f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer rounds and steps')
    parser.add_argument('--threads', type=int, default=1, help='BLAS and PyTorch threads')
    parser.add_argument('--model', choices=sorted(SHAPES), default='blitz')
    parser.add_argument('--no-profile', action='store_true', help='the side by side only')
    args = parser.parse_args()
    global MODEL
    MODEL = args.model
    if torch is not None:
        torch.set_num_threads(args.threads)
    rounds = 5 if args.quick else 11
    print(f'# vugrad {vg.__version__}, NumPy {np.__version__}, '
          f'PyTorch {torch.__version__ if torch else "absent"}, '
          f'Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, '
          f'OPENBLAS_NUM_THREADS={os.environ["OPENBLAS_NUM_THREADS"]}, '
          f'torch threads {torch.get_num_threads() if torch else "-"}')
    side_by_side(4, rounds, 40 if args.quick else 100)
    side_by_side(64, rounds, 5 if args.quick else 15)
    for batch in () if args.no_profile else (4, 64):
        profile(batch, 40 if batch == 4 and not args.quick else 20)


if __name__ == '__main__':
    main()
