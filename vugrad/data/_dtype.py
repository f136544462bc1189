"""The float dtype the loaders return when the caller names none."""

import numpy as np

from ..modes import get_default_dtype


def float_dtype(dtype=None):
    """
    Return `dtype` as a NumPy floating dtype.

    None means vugrad's default, `vugrad.get_default_dtype()` (float32 unless changed).
    Anything that is not a floating type raises TypeError: pixels in [0, 1] do not fit an int.
    """
    if dtype is None:
        dtype = get_default_dtype()
    dt = np.dtype(dtype)
    if dt.kind != 'f':
        raise TypeError(f'dtype must be a floating point type (float32, float64, ...), got {dt}')
    return dt
