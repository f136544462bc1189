"""
Peak memory of one MNIST-sized training epoch: vugrad against PyTorch.

    python benchmarks/bench_memory.py            # 430 steps of batch 128, float32
    python benchmarks/bench_memory.py --steps 50

Each library runs in a fresh process. The resident set is read once the model and the data
exist; after one step the peak (VmHWM) is reset (Linux: `echo 5 > /proc/self/clear_refs`);
the peak during the epoch minus the resident set with model and data is what training needed
(activations, gradients, temporaries), whatever the library itself weighs. The data are
random arrays of MNIST's shape (55,000 x 784), so no download is needed.
"""

import argparse
import json
import os
import subprocess
import sys


def _status(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def _reset_peak():
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def child(library, steps):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((55_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 55_000)
    lr, b = 1e-4, 128
    if library == 'vugrad':
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
        import vugrad as vg
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        vg.tune_malloc()

        from _models import MLP
        mlp = MLP(784, 3136, 10)
        params = mlp.parameters()

        def step(i):
            fr = (i * b) % (55_000 - b)
            loss = vg.logceloss(mlp(x[fr:fr + b]), y[fr:fr + b])
            loss.backward()
            for p in params:
                p.value -= lr * p.grad
            loss.zero_grad()
            loss.clear()
    else:
        import torch
        model = torch.nn.Sequential(torch.nn.Linear(784, 3136), torch.nn.Sigmoid(),
                                    torch.nn.Linear(3136, 10), torch.nn.LogSoftmax(dim=1))
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        params = list(model.parameters())

        def step(i):
            fr = (i * b) % (55_000 - b)
            loss = torch.nn.functional.nll_loss(model(xt[fr:fr + b]), yt[fr:fr + b],
                                                reduction='sum')
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None

    setup = _status('VmRSS')      # -- the library, the model and the data
    step(0)                       # -- one step first: lazily created buffers exist in both
    before = _status('VmRSS')
    _reset_peak()
    for i in range(steps):
        step(i)
    peak = _status('VmHWM')
    print(json.dumps({'library': library, 'rss_setup': setup, 'rss_before': before, 'peak': peak,
                      'epoch_extra': peak - before, 'training_extra': peak - setup}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=430, help='training steps (430 = an epoch)')
    parser.add_argument('--child', choices=['vugrad', 'torch'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps)
        return
    results = {}
    for library in ('vugrad', 'torch'):
        out = subprocess.run([sys.executable, __file__, '--child', library, '--steps',
                              str(args.steps)], capture_output=True, text=True, check=True)
        results[library] = json.loads(out.stdout.strip().splitlines()[-1])
    mib = 1024 * 1024
    for lib, r in results.items():
        print(f'{lib:7s} resident with model and data {r["rss_setup"] / mib:7.1f} MiB, after one '
              f'step {r["rss_before"] / mib:7.1f} MiB, peak in the epoch {r["peak"] / mib:7.1f} '
              f'MiB: training needed {r["training_extra"] / mib:6.1f} MiB')
    v, t = results['vugrad'], results['torch']
    print(f'peak of the process, vugrad / torch: {v["peak"] / t["peak"]:.3f}; memory training '
          f'needed beyond model and data, vugrad / torch: '
          f'{v["training_extra"] / max(t["training_extra"], 1):.3f}')


if __name__ == '__main__':
    main()
