"""
Time per training epoch of the CNNs, vugrad against PyTorch, through the `vugrad train` command.

    python benchmarks/bench_epochs.py              # CIFAR-sized data, and MNIST if it is here
    python benchmarks/bench_epochs.py --threads 2
    python benchmarks/bench_epochs.py --runs mlp   # only the course's MLP on MNIST

CIFAR-10 itself is not on this machine, so the CIFAR-sized runs read random images written
in the data set's official binary format (50,000 training and 10,000 test images of 3x32x32):
the time of an epoch does not depend on what the pixels show. They run the blitz recipe
(`vugrad train -D cifar10 -e 1`: batch 4, 45,000 training images). The MNIST runs are the
issue's LeNet command (`-D mnist --model lenet --pixels unit --optimizer adam -l 0.001 -e 1`)
and the course's MLP (`-D mnist -e 1`: sigmoid, raw pixels, summed loss, SGD at 0.0001) on the
real files, when $VUGRAD_DATA/mnist holds them.

Each run is its own process, the two backends alternating, with the same number of threads
(OPENBLAS_NUM_THREADS for vugrad, OMP_NUM_THREADS for PyTorch). The figure is the training
time of the epoch that the command prints (evaluation not included).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write_cifar_sized(folder, seed=0):
    """Random images in CIFAR-10's binary format: five training batches and a test batch."""
    out = os.path.join(folder, 'cifar10', 'cifar-10-batches-bin')
    os.makedirs(out)
    rng = np.random.default_rng(seed)
    for name in [f'data_batch_{i}.bin' for i in range(1, 6)] + ['test_batch.bin']:
        records = rng.integers(0, 256, (10_000, 1 + 3 * 32 * 32), dtype=np.uint8)
        records[:, 0] %= 10      # -- the first byte of a record is its label
        with open(os.path.join(out, name), 'wb') as f:
            f.write(records.tobytes())


def epoch_seconds(args, data_dir, threads):
    env = dict(os.environ, VUGRAD_DATA=data_dir, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if threads > 1:
        env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    done = subprocess.run([sys.executable, '-m', 'vugrad.lab.cli', 'train', *args,
                           '--no-progress', '--seed', '0'],
                          capture_output=True, text=True, env=env, timeout=3600)
    found = re.findall(r'^epoch 001 .*\((\d+\.\d+) s\)$', done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise SystemExit(f'vugrad train {" ".join(args)} failed:\n{done.stdout}\n{done.stderr}')
    accuracy = re.findall(r'val acc (\d\.\d+)', done.stdout)[-1]
    return float(found[0]), accuracy


def compare(title, args, data_dir, threads, rounds):
    times = {'vugrad': [], 'torch': []}
    for r in range(rounds):
        for backend in (['vugrad', 'torch'] if r % 2 == 0 else ['torch', 'vugrad']):
            seconds, acc = epoch_seconds(args + ['--backend', backend], data_dir, threads)
            times[backend].append(seconds)
            print(f'  {title}, {backend}: {seconds:.1f} s (val acc {acc})', flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = statistics.median(a / b for a, b in zip(times['vugrad'], times['torch']))
    print(f'## {title}, {threads} thread(s): vugrad {med["vugrad"]:.1f} s, torch '
          f'{med["torch"]:.1f} s per epoch; vugrad / torch {ratio:.2f}\n', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--runs', default='cifar,lenet,mlp',
                        help='which runs, comma-separated: cifar, lenet, mlp (default: all)')
    args = parser.parse_args()
    runs = args.runs.split(',')
    if 'cifar' in runs:
        with tempfile.TemporaryDirectory() as tmp:
            write_cifar_sized(tmp)
            compare('CIFAR-sized data, blitz recipe (batch 4)', ['-D', 'cifar10', '-e', '1'],
                    tmp, args.threads, args.rounds)
    mnist = os.environ.get('VUGRAD_DATA')
    if not (mnist and os.path.isdir(os.path.join(mnist, 'mnist'))):
        print('## MNIST: skipped ($VUGRAD_DATA/mnist is not here)')
        return
    if 'lenet' in runs:
        compare('MNIST, LeNet, Adam, batch 128',
                ['-D', 'mnist', '--model', 'lenet', '--pixels', 'unit', '--optimizer', 'adam',
                 '-l', '0.001', '-e', '1'], mnist, args.threads, args.rounds)
    if 'mlp' in runs:
        compare("MNIST, the course's MLP (sigmoid, raw pixels, SGD), batch 128",
                ['-D', 'mnist', '-e', '1'], mnist, args.threads, args.rounds)


if __name__ == '__main__':
    main()
