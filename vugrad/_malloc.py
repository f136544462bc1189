"""
Keep freed memory for reuse (glibc only), so that big arrays do not cost page faults each step.

A training step allocates and frees the same large arrays again and again (a gradient of
3136 x 784 floats is 10 to 20 MB). By default glibc hands arrays above a threshold straight
back to the operating system when they are freed, and trims the heap when its free top grows,
so the next step's arrays must be faulted in and zeroed by the kernel again: in float64 that
costs a quarter of an MNIST step. Raising the two thresholds keeps that memory in the process,
as PyTorch's allocators do; the peak memory is unchanged.

Set the environment variable VUGRAD_MALLOC_TUNING=0 to leave malloc as it is. On other C
libraries (macOS, Windows, musl) this does nothing.
"""

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 1024 * 1024       # -- glibc's largest allowed value on 64-bit machines
TRIM_THRESHOLD = 512 * 1024 * 1024


def tune():
    """Raise glibc's mmap and trim thresholds; return True when they were set."""
    if os.environ.get('VUGRAD_MALLOC_TUNING', '1') == '0' or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
