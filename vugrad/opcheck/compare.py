"""
Comparing a gradient with finite differences (those of vugrad.gradcheck), with gradcheck's
tolerances: an element passes when |backward - numerical| <= atol + rtol |numerical|.

For an input of up to FULL elements the whole Jacobian is computed, so every element is
compared. Past that, a few random directions v cover the whole tensor at a fixed cost (the
derivative along v, from two forward passes, against v . gradient), and sampled elements, then
a bisection over the elements, find one that is wrong.

A finite difference is only trusted where the function is smooth: where the one-sided
differences disagree (a kink, a pole within a step), the element is not compared.
"""

from dataclasses import dataclass

import numpy as np

from ..gradcheck import directional_derivative, numerical_jacobian

ATOL, RTOL, EPS = 1e-5, 1e-3, 1e-6
FULL = 400                  # -- elements of one input: up to this many, the whole Jacobian
JACOBIAN_ENTRIES = 2_000_000
DIRECTIONS, SAMPLES = 4, 16
ROUNDING = 1e-6             # -- float error in a sum of many products, relative to the sum of |.|


@dataclass
class Wrong:
    """Where a gradient is wrong: a flat element index (None if not one element) and values."""
    flat: int
    backward: float
    numerical: float


class Numerical:
    """
    Finite differences of fn (a function of arrays returning a flat vector) with respect to
    input k: what any gradient of that input, for any upstream gradient go, is compared with.
    """

    def __init__(self, fn, arrays, k, rng):
        self.fn, self.arrays, self.k, self.rng = fn, arrays, k, rng
        self.shape, n = arrays[k].shape, arrays[k].size
        self.unreliable = set()     # -- positions where finite differences cannot be trusted
        self.full = n <= FULL and n * fn(*arrays).size <= JACOBIAN_ENTRIES
        if self.full:
            self.jac = numerical_jacobian(fn, arrays, k, EPS)       # -- (outputs, n)
            return
        self.elements = np.sort(rng.choice(n, min(SAMPLES, n), replace=False))
        self.directions = rng.standard_normal((DIRECTIONS, n))
        vectors = [_unit(j, n) for j in self.elements] + list(self.directions)
        self.jv = np.stack([directional_derivative(fn, arrays, k, v, EPS) for v in vectors])

    def project(self, h, absolute=False):
        """h seen along each direction compared: all elements, or samples and directions."""
        h = np.asarray(h, dtype=np.float64).reshape(-1)
        h = np.abs(h) if absolute else h
        if self.full:
            return h
        dirs = np.abs(self.directions) if absolute else self.directions
        return np.concatenate([h[self.elements], dirs @ h])

    def numerical(self, go):
        """The numerical gradient for upstream gradient go (flat), along the same directions."""
        return self.jac.T @ go if self.full else self.jv @ go

    def excess(self, h, go):
        """How far each compared direction is outside the tolerance (> 0: h is wrong there)."""
        p, q = self.project(h), self.numerical(go)
        e = np.abs(p - q) - (ATOL + RTOL * np.abs(q) + ROUNDING * self.project(h, True))
        e = np.where(np.isnan(e), np.inf, e)
        if self.unreliable:
            e[list(self.unreliable)] = -np.inf
        return e

    def agrees(self, h, go):
        return bool(h is not None and np.shape(h) == self.shape and
                    not (self.excess(h, go) > 0).any())

    def element(self, position):
        """The flat element index compared at this position (None for a random direction)."""
        if self.full:
            return position
        return int(self.elements[position]) if position < len(self.elements) else None

    def along(self, v, go, side=0):
        return float(directional_derivative(self.fn, self.arrays, self.k, v, EPS, side) @ go)


def _unit(j, n):
    e = np.zeros(n)
    e[j] = 1.0
    return e


def reliable(num, j, go):
    """Whether finite differences can be trusted at element j: the one-sided ones agree."""
    e = _unit(j, int(np.prod(num.shape, dtype=np.int64)))
    ahead, behind = num.along(e, go, +1), num.along(e, go, -1)
    scale = ATOL + RTOL * abs(ahead + behind) / 2
    return bool(np.isfinite(ahead) and np.isfinite(behind) and abs(ahead - behind) <= 10 * scale)


def _locate(num, h, go):
    """Bisect the elements along random directions to one where h is wrong (large inputs)."""
    h = np.asarray(h, dtype=np.float64).reshape(-1)
    index = np.arange(h.size)
    while index.size > 1:
        half = index[:index.size // 2]
        v = np.zeros(h.size)
        v[half] = num.rng.standard_normal(half.size)
        d = num.along(v, go)
        wrong = abs(v @ h - d) > ATOL + RTOL * abs(d) + ROUNDING * (np.abs(v) @ np.abs(h))
        index = half if wrong else index[index.size // 2:]
    return int(index[0])


def first_wrong(num, h, go, tries=32):
    """
    The first element (in the order of the array) where gradient h is wrong and finite
    differences can be trusted, as a Wrong; None where h agrees everywhere it is compared.
    """
    h = np.asarray(h, dtype=np.float64)
    flat, q = h.reshape(-1), num.numerical(go)
    excess = num.excess(h, go)
    bad = np.flatnonzero(excess > 0)
    for position in [p for p in bad if num.element(p) is not None][:tries]:
        j = num.element(position)
        if reliable(num, j, go):
            return Wrong(j, float(flat[j]), float(q[position]))
        num.unreliable.add(int(position))
    directions = [p for p in bad if num.element(p) is None]
    if not directions:
        return None
    j = _locate(num, h, go)
    if not reliable(num, j, go):
        return None             # -- led to a kink or a pole: nothing can be said for sure
    n_j = num.along(_unit(j, flat.size), go)
    if abs(flat[j] - n_j) > ATOL + RTOL * abs(n_j):
        return Wrong(j, float(flat[j]), n_j)
    p = directions[0]          # -- wrong along a direction, but no one element stands out
    return Wrong(None, float(num.project(h)[p]), float(q[p]))
