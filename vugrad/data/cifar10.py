"""
CIFAR-10: 32 x 32 color images of 10 classes, 50,000 for training and 10,000 for testing.

Only the official *binary* version is read (never the Python version: loading a pickle runs
whatever code the file holds). It is one archive, ``cifar-10-binary.tar.gz``, whose folder
``cifar-10-batches-bin/`` holds six files: ``data_batch_1.bin`` .. ``data_batch_5.bin`` for
training and ``test_batch.bin``. Each is 10,000 records of 3,073 bytes:

    byte  0         the label, 0..9
    bytes 1-1024    the red channel, row by row (32 x 32)
    bytes 1025-2048 the green channel
    bytes 2049-3072 the blue channel

The data folder's ``cifar10/`` subfolder may hold the archive itself or its extracted
``cifar-10-batches-bin/`` folder. Nothing is ever extracted to disk: the archive is checked
(size, md5) and its six members are read by name, each checked for its size before a byte
of it is read, straight into memory.

A `Cifar10Spec` holds the names, sizes and checksums, so a test can describe a tiny data set
in the same format and load it with `load_cifar10_dataset`.
"""

import contextlib
import gzip
import hashlib
import os
import stat as stat_module
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import download as dl
from . import mnist as _mnist
from ._dtype import check_pixels, float_dtype
from .errors import CorruptDatasetError, DatasetNotFoundError

# Base URLs, tried in order; https only. The data set's home page at the University of Toronto
# is the one source vouched for. Change the list in place or pass mirrors=[...] to the loader.
CIFAR10_MIRRORS = [
    'https://www.cs.toronto.edu/~kriz/',
]

# the bytes of one record: a label byte, then 3 channels of 32 x 32 pixels
CHANNELS, SIDE = 3, 32
RECORD_BYTES = 1 + CHANNELS * SIDE * SIDE

CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer',
           'dog', 'frog', 'horse', 'ship', 'truck')


@dataclass(frozen=True)
class Cifar10Spec:
    """
    Everything needed to find, download and check a data set in CIFAR-10's binary format.

    subdir: the subfolder of the data folder (or cache) that holds the archive or `folder`.
    archive: the name of the .tar.gz file; archive_size and archive_md5 check it (None: not
      checked). A download is cut off past archive_size bytes.
    folder: the folder inside the archive (and, extracted, inside subdir) that holds the files.
    train_files, test_file: the batch files, each `records` records of RECORD_BYTES bytes.
    file_md5: md5 checksums of the batch files by name, where known (checked when they are
      read from the extracted folder; the archive's own md5 covers them inside it).
    num_val: how many of the last training images form the validation set when final=False.
    """

    name: str = 'CIFAR-10'
    subdir: str = 'cifar10'
    archive: str = 'cifar-10-binary.tar.gz'
    archive_size: int | None = 170_052_171
    archive_md5: str | None = 'c32a1d4ab5d03f1284b67883e8d87530'
    folder: str = 'cifar-10-batches-bin'
    train_files: tuple = tuple(f'data_batch_{i}.bin' for i in range(1, 6))
    test_file: str = 'test_batch.bin'
    records: int = 10_000
    num_classes: int = 10
    num_val: int = 5_000
    mirrors: Sequence[str] = field(default_factory=lambda: CIFAR10_MIRRORS)
    file_md5: Mapping[str, str] = field(default_factory=dict)

    @property
    def file_size(self):
        """The exact number of bytes of each batch file."""
        return self.records * RECORD_BYTES

    @property
    def files(self):
        return (*self.train_files, self.test_file)


CIFAR10 = Cifar10Spec()


def load_cifar10(final=False, data_dir=None, dtype=None, pixels='signed', *, mirrors=None):
    """
    Load CIFAR-10: 32 x 32 color images of 10 classes (see CLASSES), from its binary version.

    final: False (the default) gives the first 45,000 training images to train on and the last
      5,000 to validate on; the test set is not touched. True gives all 50,000 training images
      and the 10,000 test images, for a final evaluation once all choices are made.
    data_dir: a folder whose cifar10/ subfolder holds cifar-10-binary.tar.gz or its extracted
      cifar-10-batches-bin/ folder; then nothing is downloaded. None: use $VUGRAD_DATA the same
      way, or, when that is unset, the cache folder (see `cache_dir()`), downloading the archive
      (170 MB) from `mirrors` when it is missing.
    dtype: the float dtype of the pixels; None means `vugrad.get_default_dtype()`.
    pixels: 'signed' (the default) scales the pixels to [-1, 1], as (x/255 - 0.5)/0.5, the
      normalization of PyTorch's 60-minute blitz; 'unit' scales them to [0, 1]; 'raw' keeps
      the values 0..255.
    mirrors: base URLs to download from, in order; None means CIFAR10_MIRRORS.

    Returns ``(xtrain, ytrain), (xval, yval), 10``: images of shape (n, 3, 32, 32) (channels
    red, green, blue) and int64 labels. The archive is checked by size and md5 before use.
    """
    mirrors = CIFAR10_MIRRORS if mirrors is None else mirrors
    return load_cifar10_dataset(CIFAR10, final, data_dir, dtype, pixels=pixels, mirrors=mirrors)


_SCALES = {'signed': (127.5, -1.0), 'unit': (255, 0.0), 'raw': (1, 0.0)}


def load_cifar10_dataset(spec, final=False, data_dir=None, dtype=None, *, pixels='signed',
                         mirrors=None):
    """
    Load the data set `spec` describes, in CIFAR-10's binary format; `load_cifar10` explains
    the arguments. mirrors: None means spec.mirrors.
    """
    dt = float_dtype(dtype, spec.name)
    check_pixels(spec.name, pixels, {'signed': '[-1, 1]', 'unit': '[0, 1]', 'raw': '0..255'})
    source = dl.locate(spec.subdir, data_dir)
    mirrors = list(spec.mirrors if mirrors is None else mirrors)
    names = (*spec.train_files, spec.test_file) if final else spec.train_files
    records = _records(spec, names, source, mirrors)

    train = np.concatenate([records[n] for n in spec.train_files])
    if final:
        val = records[spec.test_file]
    else:
        n = len(train)
        if not 0 < spec.num_val < n:
            raise ValueError(f'{spec.name}: cannot hold out {spec.num_val} of {n} training '
                             f'images for validation')
        train, val = train[:-spec.num_val], train[-spec.num_val:]

    scale, shift = _SCALES[pixels]
    return _split(train, dt, scale, shift), _split(val, dt, scale, shift), spec.num_classes


def _split(records, dtype, scale, shift):
    """(n, 3073) uint8 records -> ((n, 3, 32, 32) floats / scale + shift, int64 labels)."""
    x = np.divide(records[:, 1:], scale, dtype=dtype)
    if shift:
        x += dtype.type(shift)
    return x.reshape(len(records), CHANNELS, SIDE, SIDE), records[:, 0].astype(np.int64)


# Files already read and checked in this process. The key holds the file's size, modification
# time and inode, so a file that has changed is read and checked anew.
_memory = {}


def clear_cache():
    """Forget the arrays every loader keeps in memory (CIFAR-10's and MNIST's)."""
    _memory.clear()
    _mnist.clear_cache()


def _records(spec, names, source, mirrors):
    """{name: (records, RECORD_BYTES) uint8 array} for the batch files `names`."""
    extracted = source.folder / spec.folder
    archive = source.folder / spec.archive
    what = f'{spec.name} archive {spec.archive}'
    if extracted.is_dir():
        return {n: _load_batch_file(spec, extracted / n, source) for n in names}
    return dl.read_or_download(
        archive, source, what, lambda p: _read_archive(spec, p), mirrors,
        memory=_memory, key=lambda st: _key(archive, st, spec),
        not_found=lambda: _not_found(spec, source), max_bytes=spec.archive_size)


def _key(path, st, spec):
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, spec.archive_md5,
            spec.archive_size, tuple(sorted(spec.file_md5.items())), spec.records,
            spec.num_classes, spec.folder, spec.files)


def _not_found(spec, source):
    folder = source.folder
    return DatasetNotFoundError(
        f'{spec.name} not found: neither {folder / spec.archive} nor the folder '
        f'{folder / spec.folder} exists.\n'
        f'The folder comes from {source.origin}; nothing is downloaded when a data folder is '
        f'given.\n'
        f'What to do: put {spec.archive} (or its extracted {spec.folder}/ folder) in {folder}, '
        f'or unset VUGRAD_DATA and leave out data_dir to have vugrad download it into '
        f'{dl.cache_dir() / spec.subdir}.',
        folder / spec.archive,
    )


def _corrupt(path, problem):
    """The CorruptDatasetError of the file `path`, with a bare `problem`."""
    return CorruptDatasetError(f'{path}: {problem}', path, problem)


def _check_records(data, spec, path, where=''):
    """The records of one batch file's bytes, after checking its md5 (if known) and labels."""
    name = os.path.basename(where or str(path))
    md5 = spec.file_md5.get(name)
    if md5 is not None:
        got = hashlib.md5(data).hexdigest()
        if got != md5.lower():
            raise _corrupt(path, f'md5 of {where or name} is {got}, expected {md5}')
    records = np.frombuffer(data, np.uint8).reshape(spec.records, RECORD_BYTES)
    labels = records[:, 0]
    if labels.size and labels.max() >= spec.num_classes:
        i = int(np.argmax(labels >= spec.num_classes))
        raise _corrupt(path, f"{where + ': ' if where else ''}label {labels[i]} of record {i} is "
                             f"out of range for {spec.num_classes} classes (a label byte must be "
                             f"0..{spec.num_classes - 1})")
    return records


def _load_batch_file(spec, path, source):
    """Read and check one batch file of the extracted folder."""
    what = f'{spec.name} file {path.name}'
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DatasetNotFoundError(
            f"{what} not found: {path}\n"
            f"The folder {path.parent} is there, but lacks this file.\n"
            f"What to do: put all of {', '.join(spec.files)} in {path.parent}, or delete that "
            f"folder and put {spec.archive} in {path.parent.parent} instead.", path) from None
    except OSError as e:
        raise dl.unreadable_error(path, source, what, f'{type(e).__name__}: {e}') from None
    if not stat_module.S_ISREG(st.st_mode):
        raise dl.unreadable_error(path, source, what)
    key = _key(path, st, spec)
    if key not in _memory:
        try:
            _memory[key] = _read_batch_file(spec, path)
        except CorruptDatasetError as e:
            raise CorruptDatasetError(
                f'{what} is corrupt: {e.problem}\n  path: {path}\n'
                f'What to do: replace it with a good copy (extract it again from '
                f'{spec.archive}), or delete the folder {path.parent} and put {spec.archive} in '
                f'{path.parent.parent} (in the cache folder it is downloaded).',
                path, e.problem) from None
        except OSError as e:  # -- not the contents: the file cannot be read at all
            raise dl.unreadable_error(path, source, what, f'{type(e).__name__}: {e}') from None
    return _memory[key]


def _read_batch_file(spec, path):
    """The checked records of one batch file; its size is checked before a byte is read."""
    with open(path, 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        if size != spec.file_size:
            problem = (f'it is {size} bytes, expected {spec.file_size} ({spec.records} records '
                       f'of {RECORD_BYTES} bytes)' + (' (truncated?)' if size < spec.file_size
                                                      else ''))
            raise _corrupt(path, problem)
        data = f.read(spec.file_size + 1)  # -- one byte more shows a file that grew meanwhile
    if len(data) != spec.file_size:
        problem = f'read {len(data)} bytes, expected {spec.file_size}'
        raise _corrupt(path, problem)
    return _check_records(data, spec, path)


def _read_archive(spec, path):
    """
    Check the archive at `path` (size, md5) and read its batch files into memory, by name.

    Members are matched by their exact names (``<folder>/<file>``, with or without a leading
    ``./``); every other member, whatever its name (``../../etc/passwd`` too), is skipped
    unread. A batch member must be a regular file of exactly spec.file_size bytes, and no more
    than that is read of it. Raises CorruptDatasetError (with a bare `problem`) if anything is
    wrong.
    """
    wanted = {f'{spec.folder}/{n}': n for n in spec.files}
    with open(path, 'rb') as f:
        _check_archive(spec, path, f)
        try:
            # -- "r|gz": one pass over the stream, members in order; nothing is extracted
            with tarfile.open(fileobj=f, mode='r|gz') as tar:
                found = _read_members(spec, path, tar, wanted)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise _corrupt(path, f'not a valid .tar.gz archive ({type(e).__name__}: {e})')

    missing = [n for n in wanted if wanted[n] not in found]
    if missing:
        raise _corrupt(path, f"the archive lacks {', '.join(missing)}")
    return found


def _check_archive(spec, path, f):
    """Check the size and md5 of the open archive `f`, and go back to its start."""
    size = os.fstat(f.fileno()).st_size
    if spec.archive_size is not None and size != spec.archive_size:
        raise _corrupt(path, f'the archive is {size} bytes, expected {spec.archive_size}'
                       + (' (truncated?)' if size < spec.archive_size else ''))
    if spec.archive_md5 is not None:
        md5 = hashlib.md5()
        while piece := f.read(1 << 20):
            md5.update(piece)
        if md5.hexdigest() != spec.archive_md5.lower():
            raise _corrupt(path, f'md5 of the archive is {md5.hexdigest()}, expected '
                                 f'{spec.archive_md5}')
        f.seek(0)


def _read_members(spec, path, tar, wanted):
    """{file: checked records} of the members of `tar` named in `wanted` ({member: file})."""
    found = {}
    for member in tar:
        name = member.name.removeprefix('./')
        if name not in wanted:
            continue
        if wanted[name] in found:
            raise _corrupt(path, f'the member {name} appears twice')
        if not member.isreg() or member.issparse():
            raise _corrupt(path, f'the member {name} is not a regular file')
        if member.size != spec.file_size:
            raise _corrupt(path, f'the member {name} is {member.size} bytes, expected '
                           f'{spec.file_size} ({spec.records} records of {RECORD_BYTES} bytes)')
        with contextlib.closing(tar.extractfile(member)) as data_file:
            data = data_file.read(spec.file_size)
        if len(data) != spec.file_size:
            raise _corrupt(path, f'the member {name} ends after {len(data)} of its '
                           f'{spec.file_size} bytes')
        found[wanted[name]] = _check_records(data, spec, path, where=name)
        if len(found) == len(wanted):
            break
    return found
