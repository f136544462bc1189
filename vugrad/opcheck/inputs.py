"""
The inputs an op is checked with. Without shapes from the user the checker tries, in order:

- the same shape, (3, 4), for every input;
- for a two-input op, the shapes of a matrix product, (3, 4) and (4, 2);
- for an op that sets `broadcasting = True`, the broadcasting pairs (3, 4) & (4,) and
  (3, 4) & (3, 1);

and keeps those its forward runs on. The values are random, float64, with |x| in [0.5, 2] and
random signs: away from 0, where a ReLU-like op has its kink and a division its pole. Where
forward fails or gives NaN or inf on those (a log, a square root), positive values in
[0.5, 2] are used instead.
"""

import inspect
from dataclasses import dataclass

import numpy as np

from . import calls

SAME_SHAPE = (3, 4)
MATMUL_SHAPES = ((3, 4), (4, 2))
BROADCAST_SHAPES = (((3, 4), (4,)), ((3, 4), (3, 1)))
LOW, HIGH = 0.5, 2.0

#: The values the checker draws, by the name it gives them in the report.
DOMAINS = {'mixed': f'random values with |x| in [{LOW}, {HIGH}] and random signs',
           'positive': f'random positive values in [{LOW}, {HIGH}]'}


@dataclass
class InputSet:
    """
    The inputs of one try: their shapes, the float64 arrays (a float input is always float64,
    so that finite differences are exact enough), the domain the values were drawn from, and
    which inputs were drawn here (the others are the user's example arrays).
    """
    shapes: tuple
    arrays: list
    domain: str
    drawn: tuple

    def fresh(self, rng):
        """The same try with new random values; None when every input was given as an array."""
        if not any(self.drawn):
            return None
        arrays = [_values(a.shape, self.domain, rng) if d else a.copy()
                  for a, d in zip(self.arrays, self.drawn)]
        return InputSet(self.shapes, arrays, self.domain, self.drawn)


def _parameters(op):
    """(names of forward's positional inputs, how many have no default, the *args name)."""
    try:
        params = list(inspect.signature(op.forward).parameters.values())[1:]   # -- not context
    except (TypeError, ValueError):
        return [], 1, None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    variadic = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
    return [p.name for p in positional], required, variadic


def default_arity(op):
    """How many inputs to give the op: its positional inputs without a default (two for *xs)."""
    _, required, variadic = _parameters(op)
    return required if required or variadic is None else 2


def input_names(op, arity):
    """A name for each input, from forward's signature: ('a', 'b'), ('xs[0]', 'xs[1]')."""
    names, _, variadic = _parameters(op)
    out = names[:arity]
    while len(out) < arity:
        out.append(f'{variadic}[{len(out) - len(names)}]' if variadic else f'input {len(out)}')
    return tuple(out)


def default_candidates(op, arity):
    """The shapes to try, as tuples of shapes, for an op with `arity` inputs."""
    candidates = [(SAME_SHAPE,) * arity]
    if arity == 2:
        candidates.append(MATMUL_SHAPES)
        if op.broadcasting:
            candidates.extend(BROADCAST_SHAPES)
    return candidates


def _values(shape, domain, rng):
    magnitude = rng.uniform(LOW, HIGH, shape)
    if domain != 'positive':
        magnitude = rng.choice([-1.0, 1.0], size=shape) * magnitude
    return np.array(magnitude, dtype=np.float64)      # -- an array also for shape ()


def _arrays(spec, domain, rng):
    """The arrays for one try: shapes drawn from the domain, example arrays as given."""
    return [_values(s, domain, rng) if isinstance(s, tuple)
            else np.array(s, dtype=np.float64 if s.dtype.kind == 'f' else s.dtype)
            for s in spec]


def forward_problem(op, arrays, constants):
    """None when forward runs on the arrays and gives finite outputs, else what went wrong."""
    try:
        _, outputs = calls.forward(op, [a.copy() for a in arrays], constants)
    except calls.OpFailure as e:
        return e.text
    if any(o.dtype.kind in 'fc' and not np.all(np.isfinite(o)) for o in outputs):
        return 'forward gives NaN or inf'
    return None


def plan(op, candidates, constants, rng):
    """
    (the InputSets forward runs on, [(shapes, what went wrong)] for the tries it does not):
    each try first with values of both signs, then with positive values.
    """
    sets, failures = [], []
    for spec in candidates:
        drawn = tuple(isinstance(s, tuple) for s in spec)
        shapes = tuple(s if isinstance(s, tuple) else s.shape for s in spec)
        problem = None
        for domain in ('mixed', 'positive') if any(drawn) else ('given',):
            arrays = _arrays(spec, domain, rng)
            problem = forward_problem(op, arrays, constants)
            if problem is None:
                sets.append(InputSet(shapes, arrays, domain, drawn))
                break
        if problem is not None:
            failures.append((shapes, problem))
    return sets, failures
