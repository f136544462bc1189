"""The float dtype the loaders return when the caller names none."""

import numpy as np

from ..errors import InputTypeError, InvalidArgumentError
from ..modes import get_default_dtype


def float_dtype(dtype=None, loader='load'):
    """
    Return `dtype` as a NumPy floating dtype.

    None means vugrad's default, `vugrad.get_default_dtype()` (float32 unless changed).
    Anything that is not a floating type raises InputTypeError (a TypeError), naming `loader`:
    pixels in [0, 1] do not fit an int.
    """
    if dtype is None:
        dtype = get_default_dtype()
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != 'f':
        raise InputTypeError(
            f'{loader}: dtype={dtype!r} is not a floating point type; give float32 or float64 '
            "(dtype='float32', or np.float64).")
    return dt


def check_pixels(loader, pixels, choices):
    """InvalidArgumentError (a ValueError) naming the loader when pixels is not in choices."""
    if pixels not in choices:
        listed = ', '.join(f"'{name}' ({meaning})" for name, meaning in choices.items())
        raise InvalidArgumentError(f'{loader}: pixels={pixels!r} is not one of {listed}.')
