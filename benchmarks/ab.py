"""
A/B timings of two versions of vugrad: is a change (or a speed trick) worth its lines?

    python benchmarks/ab.py --a db1ec15 --b WORKTREE            # a git revision against the tree
    python benchmarks/ab.py --a WORKTREE --b WORKTREE --patch-b benchmarks/tricks/gc_pause.patch
    python benchmarks/ab.py ... --bench mnist,synth --rounds 10

Each version is a copy of the `vugrad/` package: a git revision (`git archive`), the working
tree (WORKTREE), or either with a patch applied. Every round runs each benchmark once per
version, each in a fresh process, alternating A and B, so that a machine that gets busier
slows both alike. It prints, per benchmark and version, the median time per step and the
interquartile range (IQR) over the rounds, and the median of the per-round ratios B/A.

Benchmarks (one process measures one figure, after a warm-up):
    mnist   the course's step, 784 -> 3136 sigmoid -> 10, batch 128, float32, plain SGD
    synth   the same step on the synthetic data's sizes, 2 -> 8 -> 2, one BLAS thread
    chain   `y = y * 1.0` 100,000 times, then backward and clear (seconds for the whole)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKER = os.path.join(HERE, '_ab_worker.py')


def make_tree(version, patch, folder):
    """Copy vugrad/ of `version` (a git revision or WORKTREE) into folder; apply patch."""
    os.makedirs(folder)
    if version == 'WORKTREE':
        shutil.copytree(os.path.join(ROOT, 'vugrad'), os.path.join(folder, 'vugrad'),
                        ignore=shutil.ignore_patterns('__pycache__', 'lab'))
    else:
        archive = subprocess.run(['git', '-C', ROOT, 'archive', version, 'vugrad'],
                                 check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', folder], input=archive, check=True)
    if patch:
        subprocess.run(['patch', '-s', '-p1', '-d', folder, '-i', os.path.abspath(patch)],
                       check=True)
    return folder


def measure(tree, bench):
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1' if bench == 'synth' else
               os.environ.get('OPENBLAS_NUM_THREADS', str(os.cpu_count() or 1)))
    out = subprocess.run([sys.executable, WORKER, tree, bench], capture_output=True, text=True,
                         env=env, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f'{bench} failed in {tree}:\n{out.stderr}')
    return float(out.stdout.split()[-1])


def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--a', default='HEAD', help='git revision or WORKTREE (default HEAD)')
    parser.add_argument('--b', default='WORKTREE', help='git revision or WORKTREE')
    parser.add_argument('--patch-a', help='a patch to apply to A (-p1, relative to the root)')
    parser.add_argument('--patch-b', help='a patch to apply to B')
    parser.add_argument('--bench', default='mnist,synth', help='comma-separated: mnist,synth,chain')
    parser.add_argument('--rounds', type=int, default=10)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error('--rounds must be at least 2 (the spread needs two figures)')
    benches = args.bench.split(',')
    with tempfile.TemporaryDirectory() as tmp:
        a = make_tree(args.a, args.patch_a, os.path.join(tmp, 'a'))
        b = make_tree(args.b, args.patch_b, os.path.join(tmp, 'b'))
        times = {(v, bench): [] for v in 'ab' for bench in benches}
        for r in range(args.rounds):
            for bench in benches:
                # -- alternate which version goes first, so that neither always runs second
                order = (('a', a), ('b', b)) if r % 2 == 0 else (('b', b), ('a', a))
                for v, tree in order:
                    times[v, bench].append(measure(tree, bench))
        label = {'a': f'A {args.a}{" + " + args.patch_a if args.patch_a else ""}',
                 'b': f'B {args.b}{" + " + args.patch_b if args.patch_b else ""}'}
        print(f'# {args.rounds} rounds, each version in its own process, alternating')
        for bench in benches:
            unit, scale = ('s', 1) if bench == 'chain' else ('ms', 1e3)
            print(f'{bench}:')
            for v in 'ab':
                xs = times[v, bench]
                lo, hi = quartiles(xs)
                print(f'  {label[v]}: median {statistics.median(xs) * scale:.3f} {unit}, '
                      f'IQR {(hi - lo) * scale:.3f} {unit} ({lo * scale:.3f} .. {hi * scale:.3f})')
            ratios = [y / x for x, y in zip(times['a', bench], times['b', bench])]
            print(f'  B/A: median {statistics.median(ratios):.3f} '
                  f'(IQR {quartiles(ratios)[0]:.3f} .. {quartiles(ratios)[1]:.3f})')


if __name__ == '__main__':
    main()
