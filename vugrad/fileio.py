"""
Files, written so that nothing half-written is ever left under the final name.

Every file vugrad writes (checkpoints, metrics, reports, downloads) goes through
`atomic_write`: the bytes go to a temporary file in the same folder, which is renamed over the
target only once it is complete. A crash, Ctrl-C or full disk leaves the old file (or none),
never a truncated one. The engine uses it for `Module.save`; the training kit for everything
else.
"""

import contextlib
import json
import math
import os
import tempfile
import zipfile

import numpy as np

from .errors import InputTypeError, InvalidArgumentError, ShapeError


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
    the permissions of a plain `open()` (0666 less the umask), not mkstemp's 0600. A temporary
    file of `path` left by a process that was killed (SIGKILL, a power cut) is removed by the
    next write of `path`: its name holds the writer's process id.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    _remove_orphans(folder, name, suffix)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{name}.{os.getpid()}.', suffix=suffix)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _remove_orphans(folder, name, suffix):
    """Remove the temporary files of `name` whose writing process is gone (on this machine)."""
    prefix = f'.{name}.'
    try:
        entries = os.listdir(folder)
    except OSError:
        return          # -- a folder that cannot be listed: mkstemp will say what is wrong
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(suffix)):
            continue
        pid = entry[len(prefix):].split('.', 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, entry))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True      # -- exists, owned by someone else (or we cannot tell: keep the file)
    return True


def save_arrays(path, arrays):
    """Save a dict of NumPy arrays to an .npz file, atomically."""
    with atomic_write(path, 'wb', suffix='.npz.tmp') as f:
        np.savez(f, **arrays)


def load_arrays(path, expected=None, strict=True):
    """
    Read the arrays of an .npz file into a dict (no pickled objects are ever loaded).

    Everything is checked from the archive's headers before any array is read: that the file is
    an .npz archive of .npy arrays, that none holds Python objects, and that each array's header
    agrees with the size of its data. So a small file that claims (or expands to) a huge array
    costs nothing when it does not match what is expected.

    expected: None, or a dict from name to ``(shape, dtype)``, where dtype is None (any
      numbers), a string of NumPy kind letters ('f' any float, 'biuf' any number) or a dtype
      (np.float32: that one exactly). Then the names must match (InvalidArgumentError: missing
      or unexpected names) and so must the shapes (ShapeError) and dtypes (InputTypeError).
    strict: with False, names missing from the file and unexpected names are allowed; the
      arrays under unexpected names are not read.
    """
    path = os.fspath(path)
    with _open_archive(path) as archive:
        members = _members(path, archive)
        if expected is not None:
            names = _check_names(path, members, expected, strict)
            members = {name: members[name] for name in names}
        for name, info in members.items():
            shape, dtype, header_bytes = _npy_header(path, archive, name, info)
            if expected is not None:
                _check_array(path, name, shape, dtype, *expected[name])
            _check_size(path, name, shape, dtype, info.file_size - header_bytes)
        # -- only now is any array data read, each no larger than its checked header says
        arrays = {}
        for name, info in members.items():
            with archive.open(info) as f:
                arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
        return arrays


def _open_archive(path):
    with open(path, 'rb') as f:     # -- a missing file is a FileNotFoundError, as with open()
        start = f.read(6)
    if start == b'\x93NUMPY':
        raise InputTypeError(f'load: {path} holds a single array (.npy), not an .npz archive of '
                             'named arrays; save parameters with Module.save().')
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise InputTypeError(f'load: {path} is not an .npz archive that vugrad can read ({e}). '
                             'Pass a file written by Module.save() or numpy.savez().') from None


def _members(path, archive):
    """name -> ZipInfo of the .npy members; anything else in the archive is refused."""
    members = {}
    for info in archive.infolist():
        name = info.filename[:-4] if info.filename.endswith('.npy') else None
        if name is None or name in members:
            what = 'is not an .npy array' if name is None else 'appears twice'
            raise InputTypeError(f'load: {path} is not an .npz archive that vugrad can read: its '
                                 f'member {info.filename!r} {what}. Pass a file written by '
                                 'Module.save() or numpy.savez().')
        members[name] = info
    return members


def _check_names(path, members, expected, strict):
    missing = sorted(set(expected) - set(members))
    unexpected = sorted(set(members) - set(expected))
    if strict and (missing or unexpected):
        raise InvalidArgumentError(
            f'load: {path} does not hold the arrays expected: missing keys {missing}, '
            f'unexpected keys {unexpected}. Load into a model built with the same settings, or '
            'pass strict=False.')
    return [name for name in members if name in expected]


def _refuse(path, name, problem):
    raise InputTypeError(f'load: {path}: the array {name!r} {problem}. The file is damaged or '
                         'was not written by numpy.savez(); save it again with Module.save().')


def _npy_header(path, archive, name, info):
    """The shape, dtype and header length of the .npy member `name`; object arrays refused."""
    def refuse(problem):
        _refuse(path, name, problem)

    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                refuse(f'has .npy format version {version}, which vugrad does not read')
            header_bytes = f.tell()
        except (ValueError, EOFError, zipfile.BadZipFile) as e:
            refuse(f'has no valid .npy header ({e})')
    if dtype.hasobject:
        refuse(f'holds Python objects ({dtype}), which vugrad never loads (it would run code '
               'from the file)')
    return tuple(shape), dtype, header_bytes


def _check_size(path, name, shape, dtype, stored):
    """The data after the header must be the size the header says: reading stops there."""
    data_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if stored != data_bytes:
        _refuse(path, name, f'has a header that says shape {shape} of {dtype} ({data_bytes} '
                            f'bytes), but {stored} bytes of data')


def _check_array(path, name, shape, dtype, want_shape, want_dtype):
    if want_shape is not None and shape != tuple(want_shape):
        raise ShapeError(f'load: {name} has shape {shape} in {path} but {tuple(want_shape)} is '
                         'expected. Load into a model built with the same settings.')
    if want_dtype is None:
        ok, wanted = dtype.kind in 'biuf', 'numbers'
    elif isinstance(want_dtype, str) and want_dtype and set(want_dtype) <= set('biufc'):
        ok, wanted = dtype.kind in want_dtype, f'dtype kind {want_dtype!r}'
    else:
        ok, wanted = dtype == np.dtype(want_dtype), np.dtype(want_dtype).name
    if not ok:
        raise InputTypeError(f'load: {name} holds {dtype} values in {path}, but {wanted} are '
                             'expected.')


def _strict(value):
    """`value` for strict JSON: NaN and inf become None; NumPy numbers become Python's."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def dumps_json(data, **options):
    """
    `data` as strict JSON text: NaN and inf (which json.dumps would write as the non-JSON
    NaN and Infinity) are written as null. Options as json.dumps's.
    """
    return json.dumps(_strict(data), allow_nan=False, **options)


def write_json(path, data):
    """Write `data` to `path` as strict, indented JSON (NaN and inf as null), atomically."""
    text = dumps_json(data, indent=2) + '\n'      # -- an error here leaves no file behind
    with atomic_write(path, newline='') as f:
        f.write(text)
