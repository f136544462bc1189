"""
How long `vugrad check` takes on a file of five ops, as a learner runs it (a benchmark, not a
test; the issue asks for under 2 s on this machine).

    python benchmarks/bench_check.py              # five rounds: the median and the spread
    python benchmarks/bench_check.py --rounds 9

Each round is one `vugrad check ops.py` process, from start to exit: Python, NumPy and vugrad
start, the file is imported, and each of the five ops is checked in a child process of its
own. Three ops are right and two are wrong (a sign, a forgotten constant), so the report has
findings to diagnose and confirm. Then, for where the time goes, check_op on each op in this
process.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

OPS = '''
import numpy as np
import vugrad as vg


class MyDivide(vg.Op):                   # -- wrong: the sign of b's gradient
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a / b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go / b, go * a / b ** 2


class MyTanh(vg.Op):
    @staticmethod
    def forward(context, x):
        y = np.tanh(x)
        context['y'] = y
        return y

    @staticmethod
    def backward(context, go):
        return go * (1 - context['y'] ** 2)


class MyMatMul(vg.Op):
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a @ b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go @ b.T, a.T @ go


class Softplus(vg.Op):
    @staticmethod
    def forward(context, x, *, beta=1.0):
        context['x'], context['beta'] = x, beta
        return np.logaddexp(0, beta * x) / beta

    @staticmethod
    def backward(context, go):
        x, beta = context['x'], context['beta']
        return go / (1 + np.exp(-beta * x))


class ScaledAdd(vg.Op):                  # -- wrong: forgets alpha
    @staticmethod
    def forward(context, a, b, *, alpha=2.0):
        context['alpha'] = alpha
        return a + alpha * b

    @staticmethod
    def backward(context, go):
        return go, go
'''


def command_seconds(path):
    env = dict(os.environ, PYTHONPATH=REPO)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, '-m', 'vugrad.lab.cli', 'check', path],
                          capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 1 or done.stdout.count('FAIL') != 2:
        sys.exit(f'unexpected result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}')
    return seconds


def startup_seconds():
    env = dict(os.environ, PYTHONPATH=REPO)
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'import vugrad.lab.check'], env=env, check=True)
    return time.perf_counter() - start


def in_process(path):
    """check_op on each op of the file, here: seconds per op."""
    sys.path.insert(0, REPO)
    import importlib.util
    import vugrad as vg
    spec = importlib.util.spec_from_file_location('bench_ops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = {}
    for name in ['MyDivide', 'MyTanh', 'MyMatMul', 'Softplus', 'ScaledAdd']:
        start = time.perf_counter()
        vg.check_op(getattr(module, name))
        out[name] = time.perf_counter() - start
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'ops.py')
        with open(path, 'w') as f:
            f.write(OPS)
        times = [command_seconds(path) for _ in range(args.rounds)]
        starts = [startup_seconds() for _ in range(args.rounds)]
        per_op = in_process(path)
    print(f'vugrad check ops.py (five ops), {args.rounds} rounds: median '
          f'{statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s')
    print(f'of which starting Python and importing vugrad.lab.check: median '
          f'{statistics.median(starts):.2f} s')
    print('check_op in one process: ' +
          ', '.join(f'{name} {s * 1000:.0f} ms' for name, s in per_op.items()))


if __name__ == '__main__':
    main()
