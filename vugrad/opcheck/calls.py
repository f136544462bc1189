"""
Calling a learner's op the way they wrote it: forward and backward on plain arrays, with a
fresh context, so that the checker sees the raw gradients (the engine would cast dtypes, sum
broadcasts and stop at a None). An exception from the op becomes an OpFailure that names the
line of the op's own file where it happened.
"""

import copy
import inspect
import os
import traceback

import numpy as np

from ..core import TensorNode


class OpFailure(Exception):
    """
    The learner's forward or backward raised: `phase` says which, `text` is one line;
    `shapes_of_go` holds the upstream gradients' shapes when backward raised a ValueError (the
    error NumPy raises for shapes that do not fit).
    """

    def __init__(self, phase, text, shapes_of_go=None):
        super().__init__(text)
        self.phase, self.text, self.shapes_of_go = phase, text, shapes_of_go


def source_file(op):
    """The file the op's forward is written in (None if unknown)."""
    try:
        return os.path.abspath(inspect.getsourcefile(op.forward))
    except (TypeError, OSError):
        return None


def describe(error, where):
    """
    An exception as one line: its type, its message, and the line that raised it, in the file
    `where` (a path, or an op: the op's own file) if the traceback passes through it.
    """
    source = where if isinstance(where, str) or where is None else source_file(where)
    message = ([error.msg] if isinstance(error, SyntaxError) and error.msg else
               str(error).strip().splitlines())
    text = f'{type(error).__name__}: {message[0][:200]}' if message else type(error).__name__
    frames = traceback.extract_tb(error.__traceback__)
    if isinstance(error, SyntaxError) and error.filename:
        frames = [traceback.FrameSummary(error.filename, error.lineno or 0, '<module>')]
    mine = [f for f in frames if source and os.path.abspath(f.filename) == os.path.abspath(source)]
    frame = (mine or frames or [None])[-1]
    if frame is None:
        return text
    path = os.path.relpath(frame.filename)
    path = frame.filename if path.startswith('..') else path
    return f'{text} ({path}:{frame.lineno}, in {frame.name})'


def input_kinds(arrays):
    """needs_input_grad for raw calls: every float input needs a gradient."""
    return tuple(bool(a.dtype.kind == 'f') for a in arrays)


def constants_for(constants, arrays):
    """The keyword constants for one call: the dict, or the function of the inputs' values."""
    if constants is None:
        return {}
    return dict(constants(*arrays)) if callable(constants) else constants


def forward(op, arrays, constants):
    """(context, outputs): op.forward on these arrays (as they are), outputs as a tuple."""
    context = {'needs_input_grad': input_kinds(arrays)}
    try:
        outputs = op.forward(context, *arrays, **constants_for(constants, arrays))
    except MemoryError:
        raise
    except Exception as e:      # noqa: BLE001 - the learner's error, reported as a finding
        raise OpFailure('forward', describe(e, op)) from None
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    arrays_out = []
    for o in outputs:
        a = None if isinstance(o, TensorNode) else np.asarray(o)
        if a is None or a.dtype == object:
            raise OpFailure('forward', f'forward returned a {type(o).__name__}: forward works on '
                                       'plain NumPy arrays, and returns arrays')
        arrays_out.append(a)
    return context, tuple(arrays_out)


def backward(op, context, gradients):
    """op.backward as the engine calls it; the result as the engine reads it (a tuple)."""
    try:
        result = op.backward(context, *gradients)
    except MemoryError:
        raise
    except Exception as e:      # noqa: BLE001
        shapes = [np.shape(g) for g in gradients] if isinstance(e, ValueError) else None
        raise OpFailure('backward', describe(e, op), shapes) from None
    if type(result) is not tuple:
        result = tuple(result) if isinstance(result, list) else (result,)
    return result


def flat_forward(op, constants):
    """fn(*arrays) -> every output of forward, flattened into one float64 vector."""
    def fn(*arrays):
        _, outputs = forward(op, [a.copy() for a in arrays], constants)
        return np.concatenate([np.asarray(o, dtype=np.float64).reshape(-1) for o in outputs])
    return fn


def copy_context(context):
    """A copy of a context that backward may change freely (arrays copied)."""
    try:
        return copy.deepcopy(context)
    except Exception:       # noqa: BLE001 - something in it cannot be copied: copy the arrays
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in context.items()}


def saved_arrays(context):
    """(name, array) for every array in a context, also inside tuples and lists."""
    for key, value in context.items():
        if isinstance(value, np.ndarray):
            yield f"context['{key}']", value
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                if isinstance(v, np.ndarray):
                    yield f"context['{key}'][{i}]", v


def same(a, b, rtol=0.0):
    """
    Two arrays (or None) are equal, NaN equal to NaN; with rtol, up to rounding (two runs of the
    same floating-point sum may round differently where the arrays lie differently in memory).
    """
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return True
    if rtol and a.dtype.kind in 'fc':
        return bool(np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in 'fc'))
