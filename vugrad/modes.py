"""
The switches that change how ops behave: grad mode (`no_grad`, `enable_grad`), anomaly mode
(`detect_anomaly`) and the default float dtype.

Grad mode and anomaly mode are per thread, as in PyTorch: a `with no_grad():` in one thread
does not stop another thread from building its graph. The default dtype is process-wide: set
it once, before building models, not from several threads.
"""

import contextlib
import threading

import numpy as np

from .errors import InputTypeError


class _Modes(threading.local):
    """Each thread sees its own copy of these attributes, starting from the class values."""
    grad_enabled = True      # False inside `with no_grad():`
    anomaly = False          # True inside `with detect_anomaly():`


modes = _Modes()
_dtype = [np.float32]        # -- process-wide: the float dtype of new parameters and loaded data


def get_default_dtype():
    """The float dtype that parameters and data loaders use (np.float32 unless changed)."""
    return _dtype[0]


def set_default_dtype(dtype):
    """Set the float dtype of new parameters and loaded data, for the whole process: np.float32
    or np.float64."""
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InputTypeError(f'set_default_dtype: expected float32 or float64, got {dtype}.')
    _dtype[0] = dtype.type


def is_grad_enabled():
    """True unless inside a `with vugrad.no_grad():` block (of this thread)."""
    return modes.grad_enabled


@contextlib.contextmanager
def _switch(name, value):
    previous = getattr(modes, name)
    setattr(modes, name, value)
    try:
        yield
    finally:
        setattr(modes, name, previous)


def no_grad():
    """
    Context manager: ops run inside it compute values but build no graph.

        with vugrad.no_grad():
            accuracy = (model(xval).value.argmax(axis=1) == yval).mean()

    -- Use it for validation and for parameter updates: nothing is remembered for a backward.
    """
    return _switch('grad_enabled', False)


def enable_grad():
    """Context manager that turns graph building back on inside a `no_grad` block."""
    return _switch('grad_enabled', True)


def detect_anomaly():
    """
    Context manager: every op checks its outputs in forward and its gradients in backward, and
    raises `AnomalyError` on the first NaN or inf, naming the op and the line of user code that
    created the node. It also checksums the arrays ops save, to catch element writes into them.
    Slow; use it to find where a NaN comes from.
    """
    return _switch('anomaly', True)
