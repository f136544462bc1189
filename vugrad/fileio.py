"""
Files, written so that nothing half-written is ever left under the final name.

Every file vugrad writes (checkpoints, metrics, reports, downloads) goes through
`atomic_write`: the bytes go to a temporary file in the same folder, which is renamed over the
target only once it is complete. A crash, Ctrl-C or full disk leaves the old file (or none),
never a truncated one. The engine uses it for `Module.save`; the training kit for everything
else.
"""

import contextlib
import os
import tempfile

import numpy as np

from .errors import InputTypeError


def _umask():
    """The process's umask (reading it means setting it; we put it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode='w', suffix='.tmp', **open_args):
    """
    Open a temporary file next to `path` for writing; on a clean exit, rename it to `path`.

        with atomic_write('metrics.json') as f:
            json.dump(metrics, f)

    On an exception the temporary file is removed and `path` is left as it was. The file gets
    the permissions of a plain `open()` (0666 less the umask), not mkstemp's 0600.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{name}.', suffix=suffix)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_arrays(path, arrays):
    """Save a dict of NumPy arrays to an .npz file, atomically."""
    with atomic_write(path, 'wb', suffix='.npz.tmp') as f:
        np.savez(f, **arrays)


def load_arrays(path):
    """Read the arrays of an .npz file into a dict (no pickled objects are ever loaded)."""
    try:
        data = np.load(os.fspath(path), allow_pickle=False)
    except ValueError as e:
        raise InputTypeError(f'load: {path} is not an .npz archive that vugrad can read ({e}).') \
            from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputTypeError(f'load: {path} holds a single array, not an .npz archive of named '
                             'arrays; save parameters with Module.save().')
    with data:
        return {k: data[k] for k in data.files}
