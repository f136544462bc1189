"""Cut a data set into batches for training, in a random order that can be repeated."""

import numpy as np


def _check(x, y, batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
    if len(x) != len(y):
        raise ValueError(f'x and y must hold the same number of instances, '
                         f'got {len(x)} and {len(y)}')


def _num_batches(n, batch_size, drop_last):
    return n // batch_size if drop_last else -(-n // batch_size)


def _iterate(x, y, batch_size, order, drop_last):
    n = len(x)
    for b in range(_num_batches(n, batch_size, drop_last)):
        if order is None:
            sl = slice(b * batch_size, (b + 1) * batch_size)
            yield x[sl], y[sl]
        else:
            idx = order[b * batch_size:(b + 1) * batch_size]
            yield x[idx], y[idx]


def batches(x, y, batch_size=128, shuffle=True, seed=None, drop_last=False):
    """
    Yield ``(xb, yb)``: the instances of x and their targets y, `batch_size` at a time.

    One pass over the batches is one epoch: each instance appears exactly once (unless
    drop_last drops it).

    shuffle: visit the instances in a random order. Without shuffling the batches are views
      into x and y, in order; with it they are copies.
    seed: with a seed the order comes from `np.random.default_rng(seed)`, the same every call.
      Without one it comes from NumPy's global random state (`np.random.seed` fixes it).
    drop_last: leave out the last batch when it is smaller than batch_size, so that every
      batch has the same size.

    x and y are checked right away, not when the first batch is asked for.
    """
    _check(x, y, batch_size)
    order = None
    if shuffle:
        order = (np.random.permutation(len(x)) if seed is None
                 else np.random.default_rng(seed).permutation(len(x)))
    return _iterate(x, y, batch_size, order, drop_last)


class DataLoader:
    """
    The batches of a data set, epoch after epoch: ``for xb, yb in loader`` is one epoch.

    Each ``iter(loader)`` (each for-loop over it) starts the next epoch and counts it in
    `epoch`. With a seed, the order of epoch k comes from the seed and k together, so every
    epoch has a new order, and a run with the same seed sees the same orders again. Use
    `set_epoch` to jump to an epoch, for instance when resuming training.
    `len(loader)` is the number of batches in one epoch.
    """

    def __init__(self, x, y, batch_size=128, shuffle=True, seed=None, drop_last=False):
        _check(x, y, batch_size)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f'seed must be a non-negative int or None, got {seed!r}')
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0  # the number of the epoch the next iteration will be

    def set_epoch(self, epoch):
        """Make the next iteration epoch number `epoch` (counting from 0)."""
        self.epoch = int(epoch)

    def __len__(self):
        return _num_batches(len(self.x), self.batch_size, self.drop_last)

    def __iter__(self):
        order = None
        if self.shuffle:
            n = len(self.x)
            if self.seed is None:
                order = np.random.permutation(n)
            else:
                order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        self.epoch += 1
        return _iterate(self.x, self.y, self.batch_size, order, self.drop_last)

    def __repr__(self):
        return (f'DataLoader({len(self.x)} instances, batch_size={self.batch_size}, '
                f'shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch})')
