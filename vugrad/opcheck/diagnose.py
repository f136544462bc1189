"""
Diagnoses: the likely mistake behind a wrong gradient, each a hypothesis tested against the
finite differences with the same tolerance as the gradient itself. A diagnosis is only given
when its hypothesis fits every element compared; otherwise there is none.

- sign: the negative of the gradient is right.
- scale: the gradient divided by one constant k (least squares, |k| > 0.001, not +-1) is right.
- transposed: for a square matrix input, the gradient's transpose is right; for a gradient of
  the wrong shape, its transpose has the input's shape (and maybe the right values).
- not-summed-over-broadcast: a gradient of the broadcast shape (wrong-shape) that summed over
  the broadcast axes is right; or a gradient of the right shape that, for each element of the
  input, equals the contribution of ONE of the several outputs that element reaches (a slice
  of go where the sum over the copies was meant). The second needs the whole Jacobian.
- ignores-upstream-gradient: backward with go all ones gives the right gradient (for go = 1).
- uses-output-as-input: for a one-input op that keeps its input's shape, the gradient is the
  right one at the point x = forward(x), i.e. the derivative was taken at the output.
"""

from dataclasses import dataclass

import numpy as np

from .compare import ATOL, RTOL, Numerical
from .contract import _sums_to
from .findings import Finding
from .inputs import forward_problem


@dataclass
class Problem:
    """A wrong gradient h of input k, with what is needed to test hypotheses about it."""
    op: type
    run: object         # -- the contract.Run the gradient came from
    k: int
    name: str
    num: Numerical
    go: np.ndarray      # -- the upstream gradients, flat
    h: np.ndarray
    constants: object

    def gradient_for(self, gos):
        """backward's gradient of input k for other upstream gradients (as compared)."""
        g = self.run.backward_with(self.op, gos)
        g = g[self.k] if len(g) > self.k else None
        if g is None or np.asarray(g).dtype == object:
            return None
        g = np.asarray(g, dtype=np.float64)
        x_shape = self.run.iset.arrays[self.k].shape
        return g if g.shape == x_shape else _sums_to(g, x_shape) if self.op.broadcasting else None


def diagnose(p):
    """(diagnosis, sentence, fix) for a wrong gradient of the right shape, or None."""
    for test in (_sign, _scale, _transposed, _not_summed, _ignores_go, _uses_output):
        found = test(p)
        if found is not None:
            return found
    return None


def _sign(p):
    if p.num.agrees(-p.h, p.go):
        return ('sign', 'Every element of this gradient has the wrong sign.',
                f'Check the sign of your derivative with respect to {p.name}.')


def _scale(p):
    a, q = p.num.project(p.h), p.num.numerical(p.go)
    if not q @ q > 0:
        return None
    k = float(a @ q / (q @ q))
    if not np.isfinite(k) or abs(k) < 1e-3 or min(abs(k - 1), abs(k + 1)) < 1e-4:
        return None
    if p.num.agrees(p.h / k, p.go):
        return ('scale', f'Every element of this gradient is {k:.4g} times the right value.',
                'Look for a constant factor that is missing from your derivative, or one too many.')


def _transposed(p):
    if p.h.ndim == 2 and p.h.shape[0] == p.h.shape[1] and p.num.agrees(p.h.T, p.go):
        return ('transposed', 'Your gradient is the transpose of the right one.',
                'Check which factor is transposed, and the order of the factors in your product.')


def _not_summed(p):
    """For each input element, h equals one output's contribution instead of their sum."""
    if not p.num.full:
        return None
    jac = p.num.jac
    feeds = np.abs(jac) > 1e-8 * max(np.abs(jac).max(), 1e-300)
    if feeds.sum(axis=0).max(initial=0) <= 1:
        return None         # -- no input element reaches several outputs: nothing to sum
    terms = jac * p.go[:, None]
    h = p.h.reshape(-1)
    close = (np.abs(terms - h) <= ATOL + RTOL * np.abs(terms)) & feeds
    if np.all(close.any(axis=0) | (~feeds.any(axis=0) & (np.abs(h) <= ATOL))):
        return ('not-summed-over-broadcast',
                'Each element of this input reaches several outputs (it was broadcast or '
                'repeated), and your gradient takes what comes back from one of them only, '
                'instead of adding up all of them.',
                'Add up the gradient over the axes along which the input was broadcast or '
                'repeated (np.sum(..., axis=...)), rather than taking one slice.')


def _ignores_go(p):
    ones = [np.ones(np.shape(g)) for g in p.run.gos]
    h1 = p.gradient_for(ones)
    if h1 is not None and p.num.agrees(h1, np.ones_like(p.go)):
        return ('ignores-upstream-gradient',
                'Your gradient is right when the upstream gradient go is all ones, and wrong '
                'otherwise: it does not use go.',
                'Multiply by the upstream gradient go (the chain rule): backward returns the '
                'gradient of the loss, not the local derivative alone.')


def _uses_output(p):
    arrays, outputs = p.run.iset.arrays, p.run.outputs
    if len(arrays) != 1 or len(outputs) != 1 or outputs[0].shape != arrays[0].shape or \
            not p.num.full:
        return None
    y = np.array(outputs[0], dtype=np.float64)
    if forward_problem(p.op, [y], p.constants) is not None:
        return None
    at_output = Numerical(p.num.fn, [y], 0, p.num.rng)
    if at_output.agrees(p.h, p.go):
        return ('uses-output-as-input',
                "Your gradient is what the right one would be at the op's output instead of at "
                'its input: the derivative is taken at the wrong point.',
                'Check which saved array you use in backward: use the input where your '
                'derivation has the input, and the output only where it has the output.')


# ------------------------------------------------------------- gradients of the wrong shape

def _axes_text(axes):
    return f'axis {axes[0]}' if len(axes) == 1 else 'axes ' + ' and '.join(map(str, axes))


def _sum_text(gshape, shape):
    """'sum over axis 0', '... keeping it (keepdims=True)': how g's shape goes back to shape."""
    extra = len(gshape) - len(shape)
    lead = list(range(extra))
    kept = [extra + i for i, n in enumerate(shape) if n == 1 and gshape[extra + i] != 1]
    parts = [f'sum over {_axes_text(lead)}'] if lead else []
    if kept:
        parts.append(f'sum over {_axes_text(kept)} keeping {"it" if len(kept) == 1 else "them"}'
                     ' as size 1 (keepdims=True)')
    return ', then '.join(parts)


def _capital(text):
    return text[:1].upper() + text[1:]


def misshapen(p, g):
    """The wrong-shape finding for gradient g (of the wrong shape) of input k."""
    x = p.run.iset.arrays[p.k]
    where = (f'Your gradient for input {p.k} ({p.name}) has shape {g.shape}; the input has shape '
             f'{x.shape}')
    summed = _sums_to(np.asarray(g, dtype=np.float64), x.shape)
    if summed is not None:
        right = p.num.agrees(summed, p.go)
        return Finding(
            'wrong-shape', f'{where}: {_sum_text(g.shape, x.shape)}. Forward broadcast this '
            'input, and its gradient must add up what comes back from every copy. ' +
            ('Summed that way your gradient is right.' if right else
             'Summed that way it has the right shape, but the values are still not right.'),
            f'{_capital(_sum_text(g.shape, x.shape))} (np.sum), or set broadcasting = True on '
            'the op, and vugrad sums it for you.', input=p.k,
            diagnosis='not-summed-over-broadcast' if right else None)
    if g.ndim >= 2 and g.T.shape == x.shape:
        right = p.num.agrees(np.asarray(g, dtype=np.float64).T, p.go)
        return Finding(
            'wrong-shape', f'{where}. Its transpose has the right shape' +
            (', and the right values.' if right else ', but not the right values either.'),
            'Transpose it.' if right else 'Check the order of the factors in your product, and '
            'which of them is transposed: the shapes must fit without a final transpose.',
            input=p.k, diagnosis='transposed' if right else None)
    return Finding('wrong-shape', f'{where}. A gradient always has the shape of its input.',
                   f'Return an array of shape {x.shape} for {p.name}.', input=p.k)


def zero_text(h):
    """A sentence for a gradient that is zero everywhere (no diagnosis: many mistakes do it)."""
    return ' Your gradient is zero at every element.' if not np.any(h) else ''

