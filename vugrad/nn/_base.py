"""
What the modules of vugrad.nn share: the checks of their arguments.

The checks turn a bad argument into a typed error (vugrad.errors) that names the module, the
argument and what it should be, rather than a TypeError from deep inside NumPy.
"""

import numbers

import numpy as np

from ..core import get_default_dtype
from ..errors import InputTypeError, InvalidArgumentError


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def count(module, name, value, smallest=1):
    """value as an int, if it is an int (an np.integer too, a bool not) >= smallest."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= smallest:
        return int(value)
    raise InvalidArgumentError(f'{module}: {name}={value!r}; expected a whole number (an int) >= '
                               f'{smallest}.')


def fraction(module, name, value, other=''):
    """value as a float, if it is a number in [0, 1]; `other` names what else is allowed."""
    if _is_number(value) and 0 <= value <= 1:
        return float(value)
    raise InvalidArgumentError(f'{module}: {name}={value!r}; expected a number in [0, 1]{other}.')


def positive_number(module, name, value):
    """value as a float, if it is a number above 0."""
    if _is_number(value) and value > 0:
        return float(value)
    raise InvalidArgumentError(f'{module}: {name}={value!r}; expected a number above 0.')


def float_dtype(module, dtype):
    """The float type of a module's parameters, np.float32 say (None: the default dtype)."""
    if dtype is None:
        return get_default_dtype()
    try:
        parsed = np.dtype(dtype)
    except TypeError:
        parsed = None
    if parsed is None or parsed.kind != 'f':
        raise InputTypeError(f'{module}: dtype={dtype!r} is not a float dtype; pass np.float32 or '
                             'np.float64 (parameters need float values to have gradients).')
    return parsed.type
