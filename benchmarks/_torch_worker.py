"""
A PyTorch training step in a process of its own, timed on request (used by bench_step.py).

It imports no vugrad: PyTorch runs as its users run it, with the C library's default malloc
settings (vugrad.tune_malloc(), which bench_step.py calls, changes them for its whole process).
Protocol, one line each way: `setup DTYPE N_IN HIDDEN N_OUT BATCH LR THREADS` -> `ok`, then
`run STEPS` -> seconds per step, `quit`.
"""

import sys
import time

import numpy as np
import torch


def torch_step(dtype, n_in, hidden, n_out, batch, lr):
    """The course's MLP step in PyTorch, written as the text's loop is."""
    dtype = np.dtype(dtype).name
    tdtype = {'float32': torch.float32, 'float64': torch.float64}[dtype]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.Sigmoid(),
                                torch.nn.Linear(hidden, n_out), torch.nn.LogSoftmax(dim=1))
    model = model.to(tdtype)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((batch, n_in)).astype(dtype))
    y = torch.from_numpy(rng.integers(0, n_out, batch))
    params = list(model.parameters())

    def step():
        loss = torch.nn.functional.nll_loss(model(x), y, reduction='sum')
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    return step


def main():
    step = None
    for line in sys.stdin:
        words = line.split()
        if words[0] == 'setup':
            dtype, n_in, hidden, n_out, batch, lr, threads = words[1:]
            torch.set_num_threads(int(threads))
            step = torch_step(dtype, int(n_in), int(hidden), int(n_out), int(batch), float(lr))
            print('ok', flush=True)
        elif words[0] == 'run':
            steps = int(words[1])
            t = time.perf_counter()
            for _ in range(steps):
                step()
            print((time.perf_counter() - t) / steps, flush=True)
        else:
            return


if __name__ == '__main__':
    main()
