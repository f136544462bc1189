"""
check_op: the checks of one op, in order. The inputs are chosen (or taken from the caller);
on each set of inputs forward and backward are called directly (the rules of an op, then the
values of the gradients); then the op is put in the small graphs of the traps.
"""

import inspect
import numbers
import signal
import threading
import warnings
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np

from ..core import Op, TensorNode
from ..errors import InputTypeError, InvalidArgumentError
from . import calls, contract
from .findings import Finding, OpReport, shapes_text
from .inputs import DOMAINS, default_arity, default_candidates, input_names, plan
from .traps import run_traps
from .values import check_values


class TimedOut(BaseException):
    """Raised in the op's code when the time given to check_op is up (not an Exception: an
    op's `except Exception:` must not swallow it)."""


def check_op(op, *inputs, constants=None, seed=0, timeout=None):
    """
    Check an Op: its backward against finite differences, the rules an op keeps, and the op
    inside small graphs (the traps). Nothing is printed; `print(report)` shows the text report.

        report = vugrad.check_op(MyOp)                  # inputs chosen by the checker
        report = vugrad.check_op(MyOp, (3, 4), (4, 2))  # random values of these shapes
        report.ok, report.findings

    :param op: The Op subclass itself (not an instance, not a node).
    :param inputs: One per input of the op: a shape (a tuple; random values are drawn) or an
        example array (used as given; float arrays are checked in float64, integer ones are
        passed as they are and get no gradient). None at all: the checker chooses (see
        vugrad.opcheck.inputs).
    :param constants: The keyword constants of forward: a dict, or a function of the input
        arrays that returns one (for constants computed from the inputs, such as a batch's
        statistics).
    :param seed: Seeds the random values: the same seed gives the same report.
    :param timeout: Seconds the whole check may take; past them the report says `timed-out`.
        Enforced in the main thread on Unix only (the `vugrad check` command runs each op in a
        process of its own instead). None: no limit.
    :return: An OpReport.
    """
    op = _checked_op(op)
    spec = [_checked_input(i, x) for i, x in enumerate(inputs)]
    _check_options(constants, seed, timeout)
    report = OpReport(op.__name__)
    with np.errstate(all='ignore'), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            with _time_limit(timeout):
                _check(op, spec, constants, np.random.default_rng(seed), report)
        except TimedOut:
            report.add(timed_out(timeout))
        except MemoryError:
            report.add(crashed('The op ran out of memory (MemoryError)'))
    return report


def _checked_op(op):
    if inspect.isclass(op) and issubclass(op, Op) and op is not Op:
        return op
    if isinstance(op, Op):
        raise InputTypeError(f'check_op: got an instance of {type(op).__name__}; pass the class '
                             f'itself: check_op({type(op).__name__}).')
    raise InputTypeError(f'check_op: op must be a subclass of vugrad.Op (the class itself, as in '
                         f'check_op(MyOp)), got {type(op).__name__}.')


def _checked_input(i, x):
    """A shape tuple, or the example array."""
    if isinstance(x, tuple):
        if not all(isinstance(n, numbers.Integral) and n >= 0 for n in x):
            raise InvalidArgumentError(
                f'check_op: input {i} is the tuple {x!r}; a shape is a tuple of non-negative ints. '
                'Pass example values as a NumPy array.')
        return tuple(int(n) for n in x)
    array = np.asarray(x.value if isinstance(x, TensorNode) else x)
    if array.dtype.kind not in 'biuf':
        raise InputTypeError(f'check_op: input {i} has dtype {array.dtype}; give a shape tuple or '
                             'an array of numbers.')
    return array


def _check_options(constants, seed, timeout):
    if constants is not None and not isinstance(constants, Mapping) and not callable(constants):
        raise InputTypeError(f'check_op: constants must be a dict (or a function of the inputs '
                             f'that returns one), got {type(constants).__name__}.')
    if not isinstance(seed, numbers.Integral):
        raise InvalidArgumentError(f'check_op: seed must be an int, got {seed!r}.')
    if timeout is not None and not (isinstance(timeout, numbers.Real) and timeout > 0):
        raise InvalidArgumentError(f'check_op: timeout must be a positive number of seconds or '
                                   f'None, got {timeout!r}.')


@contextmanager
def _time_limit(seconds):
    """Raise TimedOut in this thread after `seconds` (main thread, Unix); else no limit."""
    if seconds is None or not hasattr(signal, 'setitimer') or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise TimedOut()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed_out(seconds):
    return Finding('timed-out', f'Checking the op took longer than {seconds:g} s, the time limit: '
                   'forward or backward may never finish.',
                   'Look for a loop that never ends (a while loop whose condition never changes), '
                   'or work that grows much faster than the size of the input.')


def crashed(what):
    """The crashed finding: `what` says how (a MemoryError, a signal, an exit)."""
    if 'MemoryError' in what:
        return Finding('crashed', f'{what}: it asks for far more memory than inputs of these '
                       'shapes need.', 'Look for an array much larger than the inputs: a shape '
                       'computed wrongly, or np.zeros((n, n, n)) where n values were meant.')
    return Finding('crashed', f'{what}.', 'Look for code that ends the process (sys.exit, '
                   'os._exit) or crashes it, or for an allocation far larger than the inputs.')


def _check(op, spec, constants, rng, report):
    arity = len(spec) if spec else default_arity(op)
    names = report.input_names = input_names(op, arity)
    if not arity:
        report.add(Finding('forward-fails', 'forward takes no inputs: the inputs of an op are '
                           "forward's positional arguments after the context.",
                           'Give forward its inputs: def forward(context, x): ...'))
        return
    sets, failures = plan(op, [spec] if spec else default_candidates(op, arity), constants, rng)
    if not sets:
        report.add(_forward_fails(op, failures, bool(spec)))
        return
    _note_inputs(report, sets, failures)
    runs = []
    for iset in sets:
        report.inputs.append(iset.shapes)
        try:
            run, found = contract.run(op, iset, constants, rng, names)
        except calls.OpFailure as e:
            report.add(Finding(f'{e.phase}-fails', f'{e.phase} raises {e.text}.',
                               _fix_for(e, iset, names), shapes=iset.shapes))
            continue
        more, compare, wrong_shape = contract.gradient_findings(op, run, names)
        found += more
        if len(run.grads) == len(iset.arrays):
            values, notes = check_values(op, run, compare, wrong_shape, constants, rng, names)
            found += values
            report.notes += [n for n in notes if n not in report.notes]
        for f in found:
            f.shapes = f.shapes or iset.shapes
            report.add(f)
        runs.append(run)
    if runs:
        run_traps(op, runs, constants, rng, report)


def _fix_for(failure, iset, names):
    """The fix for an error in forward or backward: the line; for shapes, the shapes to fit."""
    if failure.shapes_of_go is None:
        return 'Fix the line named.'
    gos = ' & '.join(str(tuple(s)) for s in failure.shapes_of_go)
    inputs = ', '.join(f'{n} {tuple(a.shape)}' for n, a in zip(names, iset.arrays))
    return (f'The shapes on that line do not fit together. In this call go has shape {gos}, '
            f'and the inputs are {inputs}: the gradient for each input must have that '
            "input's shape. Print the shapes of the arrays on that line (x.shape) to see "
            'which product or sum does not fit.')


def _forward_fails(op, failures, given):
    tried = '; '.join(f'{shapes_text(s)}: {why}' for s, why in failures)
    if given:
        return Finding('forward-fails', f'forward fails on the inputs given ({tried}).',
                       'Fix the line named, or give inputs forward can take.')
    name = op.__name__
    return Finding('forward-fails', f'forward fails on every input tried ({tried}).',
                   f'Make forward work on inputs like these, or give the shapes it takes '
                   f'(--shape {name}=3x4,4x2 with vugrad check; check_op({name}, (3, 4), (4, 2)) '
                   f'in Python) and the constants it needs (--const {name}:alpha=2.0; '
                   "constants={'alpha': 2.0}).")


def _note_inputs(report, sets, failures):
    positive = [shapes_text(s.shapes) for s in sets if s.domain == 'positive']
    if positive:
        report.notes.append(f'forward fails or gives NaN or inf on values of both signs, so '
                            f'{DOMAINS["positive"]} were used for {"; ".join(positive)}.')
    if failures:
        report.notes.append('not used (forward does not run on them): ' +
                            '; '.join(shapes_text(s) for s, _ in failures) + '.')
