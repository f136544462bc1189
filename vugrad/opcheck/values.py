"""
The values of the gradients: each input's gradient (for a random upstream gradient) against
finite differences, the first wrong element located and a diagnosis looked for. A suspected
finding is confirmed on fresh random values before it is reported, so that a value that
happened to sit near a kink or a pole cannot make a correct op fail.
"""

import numpy as np

from . import calls, contract
from .compare import Numerical, first_wrong
from .diagnose import Problem, diagnose, misshapen, zero_text
from .findings import Finding, numbers


def _flat(gos):
    return np.concatenate([np.reshape(g, -1) for g in gos]) if gos else np.zeros(0)


def check_values(op, run, compare, wrong_shape, constants, rng, names):
    """(findings, notes) for the gradients of one run: of the right shape, and of the wrong."""
    fn = calls.flat_forward(op, constants)
    go = _flat(run.gos)
    findings, notes = [], []
    for k in sorted({**compare, **wrong_shape}):
        arrays = [a.copy() for a in run.iset.arrays]      # -- changed in place, step by step
        if not arrays[k].size:
            continue
        num = Numerical(fn, arrays, k, rng)
        if not num.full:
            notes.append(f'input {k} ({names[k]}) has {arrays[k].size} elements: compared along '
                         'random directions and at sampled elements, not element by element.')
        if k in wrong_shape:
            g = np.asarray(wrong_shape[k])
            findings.append(misshapen(Problem(op, run, k, names[k], num, go, None, constants), g))
            continue
        h = np.asarray(compare[k], dtype=np.float64)
        wrong = first_wrong(num, h, go)
        if num.unreliable:
            notes.append(f'input {k} ({names[k]}): finite differences cannot be trusted at '
                         f'{len(num.unreliable)} element(s) (a kink or a pole right there), which '
                         'were not compared.')
        if wrong is None:
            continue
        if not _confirmed(op, run.iset, constants, k, rng, names):
            notes.append(f'input {k} ({names[k]}): a difference on one draw of values did not '
                         'come back on fresh values (a kink or a pole near a value?): not '
                         'reported.')
            continue
        p = Problem(op, run, k, names[k], num, go, h, constants)
        findings.append(wrong_values(p, wrong, num, h, go))
    for f in findings:
        f.shapes = run.iset.shapes
    return findings, notes


def _confirmed(op, iset, constants, k, rng, names):
    """Whether input k's gradient is wrong on fresh random values too (True if none can be had)."""
    fresh = iset.fresh(rng)
    if fresh is None:
        return True     # -- example arrays: the test of one-sided differences was the guard
    try:
        run, _ = contract.run(op, fresh, constants, rng, names)
    except calls.OpFailure:
        return True
    _, compare, _ = contract.gradient_findings(op, run, names)
    if k not in compare:
        return True
    arrays = [a.copy() for a in fresh.arrays]
    num = Numerical(calls.flat_forward(op, constants), arrays, k, rng)
    return first_wrong(num, np.asarray(compare[k], dtype=np.float64), _flat(run.gos)) is not None


def wrong_values(p, wrong, num, h, go):
    """The wrong-values finding for a located difference, with a diagnosis where one fits."""
    b, n = wrong.backward, wrong.numerical
    rel = abs(b - n) / abs(n) if n else float('inf')
    tb, tn = numbers(b, n)
    if wrong.flat is None:
        index, seen = None, (f'Along a random direction your backward gives {tb}; finite '
                             f'differences give {tn}. No single element stands out.')
    else:
        index = tuple(int(i) for i in np.unravel_index(wrong.flat, h.shape))
        seen = (f'At element {list(index)} your backward gives {tb}; finite differences '
                f'give {tn} (relative error {rel:.3g}).')
        if num.full:
            bad = int((num.excess(h, go) > 0).sum())
            seen += f' It is wrong at {bad} of {h.size} elements.'
    found = diagnose(p)
    if found is None:
        fix = (f'Work out the derivative with respect to {p.name} again (the recipe in the guide: '
               '"Backward, op by op"), and compute this element by hand to compare.')
        return Finding('wrong-values', seen + zero_text(h), fix, input=p.k, index=index,
                       backward=b, numerical=n, rel_error=rel)
    name, sentence, fix = found
    return Finding('wrong-values', f'{seen} {sentence}', fix, input=p.k, index=index, backward=b,
                   numerical=n, rel_error=rel, diagnosis=name)
