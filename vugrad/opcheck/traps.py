"""
The traps: the op inside small graphs, through the engine (do_forward and backward), where a
gradient that is right for one call can still go wrong. Each trap's gradients are compared
with finite differences of the same small graph (the same comparison as the op's own), except
backward-twice (the two backward passes are compared with each other) and long-chain (it only
has to complete).

A trap that compares with finite differences runs only when the op's own checks found nothing:
a wrong gradient would make every trap fail as well, and tell nothing new.
"""

import numpy as np

from ..core import TensorNode
from ..modes import no_grad
from . import calls
from .compare import Numerical, first_wrong
from .findings import TRAPS, Finding, numbers

CHAIN = 1000
CHAIN_ELEMENTS = 4096      # -- the chain keeps 3,000 arrays of the input's size alive
BLOCKING = {'wrong-count', 'none-for-needed-input', 'wrong-shape', 'wrong-dtype',
            'forward-fails', 'backward-fails'}

_TEXT = {
    'same-input-twice': (
        'With one node as both inputs, op(x, x), the gradient of x is wrong.',
        'x gets the sum of the gradients of both inputs: return a separate array for each '
        'input, and change none of them (nor the saved arrays) once computed.'),
    'output-used-twice': (
        "With the op's output used twice (y * y), the gradient is wrong.",
        'backward receives as go the sum of what comes back from both uses: use go as it is '
        'given, and keep nothing from an earlier call.'),
    'diamond': (
        'With the op used twice in one graph, on different values, the gradients are wrong, '
        'although one use alone is right.',
        'Keep everything backward needs in the context dict: a class attribute or a global '
        'variable is shared by every use of the op, so the second forward overwrites what the '
        'first one saved.'),
}


def _apply(op, nodes, constants):
    values = [n.value if isinstance(n, TensorNode) else n for n in nodes]
    out = op.do_forward(*nodes, **calls.constants_for(constants, values))
    return out if isinstance(out, (list, tuple)) else [out]


def _weighted(outputs, weights):
    """A scalar from the outputs: sum of (output * a fixed random weight)."""
    total = None
    for y, w in zip(outputs, weights):
        term = (y * w).sum()
        total = term if total is None else total + term
    return total


def _graphs(op, constants):
    """trap name -> build(*inputs) -> the output nodes of a small graph around the op."""
    def same(x):
        return _apply(op, [x, x], constants)

    def twice(*xs):
        return [y * y for y in _apply(op, xs, constants)]

    def diamond(*xs):
        low = [x * 0.75 if _is_float(x) else x for x in xs]
        high = [x * 1.25 if _is_float(x) else x for x in xs]
        return [a + b for a, b in zip(_apply(op, low, constants), _apply(op, high, constants))]
    return {'same-input-twice': same, 'output-used-twice': twice, 'diamond': diamond}


def _is_float(x):
    return np.asarray(x.value if isinstance(x, TensorNode) else x).dtype.kind == 'f'


def _leaves(arrays):
    return [TensorNode(a.copy(), requires_grad=True) if a.dtype.kind == 'f' else a
            for a in arrays]


def _backward(op, name, build, leaves):
    """The loss of the graph after backward, or the failure as a Finding."""
    try:
        loss = build(*leaves)
    except MemoryError:
        raise
    except Exception as e:     # noqa: BLE001 - the learner's error, reported as a finding
        return Finding('forward-fails', f'forward raises {calls.describe(e, op)}.',
                       'Fix the line named.', trap=name)
    try:
        loss.backward()
    except MemoryError:
        raise
    except Exception as e:     # noqa: BLE001
        return Finding('backward-fails', f'backward raises {calls.describe(e, op)}.',
                       'Fix the line named.', trap=name)
    return loss


def _against_differences(op, name, build, arrays, weights, rng):
    """
    A wrong-values Finding where the graph's gradients (of the loss: the outputs weighted)
    disagree with finite differences. These are taken of the outputs, not of the loss, so that
    each step's difference is not lost in a large sum.
    """
    leaves = _leaves(arrays)
    loss = _backward(op, name, lambda *xs: _weighted(build(*xs), weights), leaves)
    if isinstance(loss, Finding):
        return loss

    def fn(*xs):
        with no_grad():
            return np.concatenate([y.value.reshape(-1) for y in build(*[x.copy() for x in xs])])
    go = np.concatenate([w.reshape(-1) for w in weights])
    for k, leaf in enumerate(leaves):
        if isinstance(leaf, TensorNode):
            num = Numerical(fn, [a.copy() for a in arrays], k, rng)
            wrong = first_wrong(num, leaf.grad, go)
            if wrong is not None:
                return _trap_values(name, k, wrong, leaf.value.shape)
    return None


def _trap_values(name, k, wrong, shape):
    seen, fix = _TEXT[name]
    index = None if wrong.flat is None else tuple(int(i) for i in np.unravel_index(wrong.flat,
                                                                                    shape))
    where = f' At element {list(index)} of input {k}' if index is not None else f' For input {k}'
    n = wrong.numerical
    b, d = numbers(wrong.backward, n)
    return Finding('wrong-values', f'{seen}{where}, backward through the graph gives {b}; '
                   f'finite differences give {d}.', fix, input=k,
                   index=index, backward=wrong.backward, numerical=n,
                   rel_error=abs(wrong.backward - n) / abs(n) if n else float('inf'), trap=name)


def _backward_twice(op, arrays, constants, weights):
    name = 'backward-twice'
    leaves = _leaves(arrays)
    loss = _backward(op, name, lambda *xs: _weighted(_apply(op, xs, constants), weights), leaves)
    if isinstance(loss, Finding):
        return loss
    first = [leaf.grad.copy() if isinstance(leaf, TensorNode) else None for leaf in leaves]
    loss.zero_grad()
    again = _backward(op, name, lambda *xs: loss, leaves)
    if isinstance(again, Finding):
        return again
    for k, (leaf, g) in enumerate(zip(leaves, first)):
        if g is not None and not np.allclose(leaf.grad, g, rtol=1e-10, atol=1e-12,
                                             equal_nan=True):
            j = int(np.flatnonzero(~np.isclose(leaf.grad, g, rtol=1e-10, atol=1e-12,
                                               equal_nan=True))[0])
            index = tuple(int(i) for i in np.unravel_index(j, g.shape))
            second, first = numbers(leaf.grad.reshape(-1)[j], g.reshape(-1)[j])
            return Finding(
                'wrong-values', f'A second backward over the same graph (after zero_grad) '
                f'gives other gradients than the first: at element {list(index)} of input {k}, '
                f'{second} instead of {first}.',
                'Leave the context as forward left it: backward must not change the arrays in '
                'it, or take them out.', input=k, index=index,
                backward=float(leaf.grad.reshape(-1)[j]), trap=name)
    return None


def _long_chain(op, arrays, constants, rng):
    """1,000 applications, the values mapped back into [0.5, 2] after each: backward completes."""
    x = TensorNode(arrays[0].copy(), requires_grad=True)

    def chain(x):
        y = x
        for _ in range(CHAIN):
            out = _apply(op, [y], constants)[0]
            finite = out.value[np.isfinite(out.value)]
            lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
            c = float(1.5 / (hi - lo)) if hi > lo else 0.0
            y = out * c + (float(0.5 - lo * c) if c else 1.25)
        return (y * rng.standard_normal(y.shape)).sum()
    return _backward(op, 'long-chain', chain, [x])


def _setting(name, runs):
    """(the run a trap starts from, its arrays), or why the trap does not apply to the op."""
    if name == 'same-input-twice':
        for r in runs:
            a = r.iset.arrays
            if len(a) == 2 and a[0].shape == a[1].shape and _is_float(a[0]) and _is_float(a[1]):
                return r, [a[0]]
        if len(runs[0].iset.arrays) != 2:
            return 'the op does not have two inputs'
        return 'it was never given two float inputs of one shape'
    r = runs[0]
    if name == 'long-chain' and len(r.iset.arrays) != 1:
        return 'the op has more than one input'
    if name == 'long-chain' and not (len(r.outputs) == 1 and
                                     r.outputs[0].shape == r.iset.arrays[0].shape):
        return "the op does not keep its input's shape"
    if name == 'long-chain' and r.iset.arrays[0].size > CHAIN_ELEMENTS:
        return f'more than {CHAIN_ELEMENTS} elements: give a smaller shape to run it'

    return r, r.iset.arrays


def _spring(op, name, run, arrays, constants, rng):
    """Run one trap: None when it passes, else a Finding."""
    weights = [rng.standard_normal(np.shape(o)) for o in run.outputs]
    if name == 'backward-twice':
        return _backward_twice(op, arrays, constants, weights)
    if name == 'long-chain':
        loss = _long_chain(op, arrays, constants, rng)
        return loss if isinstance(loss, Finding) else None
    build = _graphs(op, constants)[name]
    found = _against_differences(op, name, build, arrays, weights, rng)
    if found is not None and found.kind == 'wrong-values':
        fresh = run.iset.fresh(rng)        # -- confirmed on fresh values, as the op's own checks
        if fresh is not None:
            again = fresh.arrays[:len(arrays)]
            if _against_differences(op, name, build, again, weights, rng) is None:
                return None
    return found


def run_traps(op, runs, constants, rng, report):
    """Run every trap that applies, and record in the report how each went."""
    kinds = {f.kind for f in report.findings}
    for name in TRAPS:
        setting = _setting(name, runs)
        if kinds & BLOCKING:
            setting = 'fix the findings above first'
        elif kinds and name in _TEXT:
            setting = 'it compares with finite differences: fix the findings above first'
        elif 'not-deterministic' in kinds and name == 'backward-twice':
            setting = 'backward is not deterministic (above)'
        elif not any(_is_float(a) for a in runs[0].iset.arrays):
            setting = 'no input needs a gradient'
        if isinstance(setting, str):
            report.traps[name] = f'not run: {setting}'
            continue
        found = _spring(op, name, *setting, constants, rng)
        if found is None:
            report.traps[name] = 'passed'
        else:
            found.trap, found.shapes = name, setting[0].iset.shapes
            report.add(found)
