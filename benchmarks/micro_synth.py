"""
The synthetic step's ops one at a time (microseconds per call, best of 7 repeats of timeit),
for comparing two versions of the core op by op:

    python benchmarks/micro_synth.py                      # this tree's vugrad
    git archive db1ec15 vugrad | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python benchmarks/micro_synth.py  # 0.1.0's, in the same way

The MLP is the synthetic step's (2 -> 8 sigmoid -> 2, batch 128, float32, one BLAS thread).
"""

import os

os.environ['OPENBLAS_NUM_THREADS'] = '1'     # -- before NumPy is imported

import timeit  # noqa: E402

import numpy as np  # noqa: E402

import vugrad as vg  # noqa: E402


def main():
    print(f'# {vg.__file__}')
    rng = np.random.default_rng(0)
    vg.set_default_dtype(np.float32)
    x, y = rng.random((128, 2)).astype(np.float32), rng.integers(0, 2, 128)
    l1, l2 = vg.Linear(2, 8), vg.Linear(8, 2)
    params = l1.parameters() + l2.parameters()

    def forward():
        return vg.logsoftmax(l2(vg.sigmoid(l1(x))))

    def backward_and_clear():
        loss = vg.logceloss(forward(), y)
        loss.backward()
        loss.clear()

    def step():
        loss = vg.logceloss(forward(), y)
        loss.backward()
        for p in params:
            p.value -= 0.01 * p.grad
        loss.zero_grad()
        loss.clear()

    h = l1(x)
    s = vg.sigmoid(h)
    o = l2(s)
    lp = vg.logsoftmax(o)
    for name, fn in [('Linear 2->8', lambda: l1(x)), ('sigmoid', lambda: vg.sigmoid(h)),
                     ('Linear 8->2', lambda: l2(s)), ('logsoftmax', lambda: vg.logsoftmax(o)),
                     ('logceloss', lambda: vg.logceloss(lp, y)), ('forward', forward),
                     ('forward, loss, backward, clear', backward_and_clear), ('step', step)]:
        us = min(timeit.repeat(fn, number=5000, repeat=7)) / 5000 * 1e6
        print(f'{us:8.2f} us  {name}')


if __name__ == '__main__':
    main()
