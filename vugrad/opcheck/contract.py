"""
The rules of an op, checked on one forward and backward called directly (as the learner wrote
them, with a fresh context and a random upstream gradient): one gradient per input, an array
for each input that needs one, of its shape and dtype; go, the inputs and the saved arrays
left unchanged; the same gradients from a second backward on a copy of the same context.
"""

from dataclasses import dataclass

import numpy as np

from ..checks import unbroadcast
from ..errors import OpDefinitionError
from . import calls
from .findings import Finding


@dataclass
class Run:
    """One forward and backward of the op: what the value checks and the traps start from."""
    iset: object
    context: dict       # -- a copy of the context as forward left it
    outputs: tuple
    gos: list           # -- the upstream gradients given to backward
    grads: tuple        # -- what backward returned, as the engine reads it

    def backward_with(self, op, gos):
        """backward's result for other upstream gradients, on a copy of the same context."""
        return calls.backward(op, calls.copy_context(self.context), [g.copy() for g in gos])


def upstream(outputs, rng):
    """A random upstream gradient for each output: not all ones, so that using go matters."""
    return [rng.standard_normal(np.shape(o)) for o in outputs]


def run(op, iset, constants, rng, names):
    """(Run, findings): forward, then backward twice, watching what they change."""
    given = [a.copy() for a in iset.arrays]
    context, outputs = calls.forward(op, given, constants)
    findings = [_changed_by(names, k, 'forward') for k, (a, b) in
                enumerate(zip(iset.arrays, given)) if not calls.same(a, b)]
    snapshot = calls.copy_context(context)
    gos = upstream(outputs, rng)
    passed = [g.copy() for g in gos]
    grads = calls.backward(op, context, passed)
    findings += [_changed_go(i, len(gos)) for i, (g, p) in enumerate(zip(gos, passed))
                 if not calls.same(g, p)][:1]
    findings += _saved_changes(names, iset.arrays, given, snapshot, context, findings)
    again = calls.backward(op, calls.copy_context(snapshot), [g.copy() for g in gos])
    if len(again) != len(grads) or not all(calls.same(a, b, rtol=1e-10)
                                           for a, b in zip(grads, again)):
        findings.append(Finding(
            'not-deterministic',
            'Two calls of backward with the same context and the same go give different '
            'gradients.',
            'backward must depend only on the context and go: no random numbers, and nothing '
            'kept from one call to the next (a class attribute, a global variable).'))
    return Run(iset, snapshot, outputs, gos, grads), findings


def _changed_by(names, k, phase):
    return Finding(
        'modifies-input',
        f'{phase} changes input {k} ({names[k]}) in place: after it ran, the array passed in '
        "holds other values. The caller's array (a parameter, the data) changes under its feet.",
        'Compute new arrays (x = x * 2) instead of changing the inputs (x *= 2, x[...] = ...).',
        input=k)


def _changed_go(i, count):
    which = f'the gradient of output {i}' if count > 1 else 'go'
    return Finding(
        'modifies-upstream-gradient',
        f'backward changes {which} in place. When the output is used by several ops, vugrad '
        'hands the same array on, and the other branches would get the changed values.',
        'Compute a new array (g = go * ...) instead of changing go (go *= ..., go[...] = ...).')


def _saved_changes(names, inputs, given, snapshot, context, found):
    """modifies-input findings for arrays backward changed: saved arrays, and inputs."""
    out = []
    for k, (a, b) in enumerate(zip(inputs, given)):
        if not calls.same(a, b) and not any(f.input == k for f in found):
            out.append(_changed_by(names, k, 'backward'))
    if out:
        return out
    before = dict(calls.saved_arrays(snapshot))
    for name, array in calls.saved_arrays(context):
        if name in before and not calls.same(before[name], array):
            return [Finding(
                'modifies-input',
                f'backward changes the array it saved as {name} in place. A second backward '
                '(the same graph run again) would use the changed values.',
                'Leave the saved arrays as forward left them: compute new arrays in backward.')]
    return []


def gradient_findings(op, run_, names):
    """
    (findings, {input: gradient to compare}, {input: gradient of the wrong shape}) for the
    gradients backward returned: their count, None, type, dtype and shape.
    """
    arrays, grads = run_.iset.arrays, run_.grads
    if len(grads) != len(arrays):
        return [_wrong_count(len(grads), len(arrays))], {}, {}
    findings, compare, misshapen = [], {}, {}
    for k, (x, g) in enumerate(zip(arrays, grads)):
        if x.dtype.kind != 'f':
            continue        # -- an integer input needs no gradient: whatever came back is unused
        if g is None:
            findings.append(_none(k, names))
            continue
        if isinstance(g, calls.TensorNode) or np.asarray(g).dtype == object:
            findings.append(_not_an_array(k, names, g))
            continue
        g = np.asarray(g)
        if g.dtype != x.dtype:
            findings.append(_wrong_dtype(k, names, g, x))
        if g.shape == x.shape:
            compare[k] = g
        elif op.broadcasting and _sums_to(g, x.shape) is not None:
            compare[k] = _sums_to(g, x.shape)     # -- the engine sums it: not a mistake
        else:
            misshapen[k] = g
    return findings, compare, misshapen


def _sums_to(g, shape):
    """g summed back over broadcast axes to `shape`, as the engine does; None if it cannot be."""
    try:
        return unbroadcast(g, shape)
    except (OpDefinitionError, ValueError, IndexError):
        return None


def _wrong_count(got, wanted):
    return Finding(
        'wrong-count',
        f'backward returns {got} gradient{"s" if got != 1 else ""}, but the op has {wanted} '
        f'input{"s" if wanted != 1 else ""}.',
        "Return one gradient per input, in the order of forward's inputs (a tuple: "
        'return ga, gb), with None for an input that needs no gradient.')


def _none(k, names):
    return Finding(
        'none-for-needed-input',
        f'backward returns None for input {k} ({names[k]}), which needs a gradient '
        f"(context['needs_input_grad'][{k}] is True).",
        f'Compute the gradient for {names[k]}; return None only where needs_input_grad is '
        'False.', input=k)


def _not_an_array(k, names, g):
    return Finding(
        'wrong-dtype',
        f'backward returns a {type(g).__name__} for input {k} ({names[k]}), not a NumPy array.',
        'backward works on plain NumPy arrays: compute the gradient from go and the arrays '
        'saved in the context (use .value of a node).', input=k)


def _wrong_dtype(k, names, g, x):
    return Finding(
        'wrong-dtype',
        f'Your gradient for input {k} ({names[k]}) has dtype {g.dtype}, but the input has dtype '
        f'{x.dtype}. vugrad casts it to {x.dtype} without a word, and the precision (or the '
        'fraction, for integers) lost on the way is gone.',
        'Compute the gradient in the dtype of the input: make new arrays with np.zeros_like(x) '
        'or from go and the saved arrays, not with a fixed dtype=.', input=k)
