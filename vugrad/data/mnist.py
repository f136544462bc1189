"""
MNIST and Fashion-MNIST: 28 x 28 grayscale images of 10 classes, in the IDX format.

Both come as the same four gzipped files; only the names of the folders, the checksums and the
mirrors differ. A `DatasetSpec` holds those, and `load_idx_dataset` loads any data set described
by one, so a test (or a new data set in the same format) needs only a new spec.
"""

import gzip
import hashlib
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import download as dl
from ._dtype import check_pixels, float_dtype
from .errors import CorruptDatasetError
from .idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx_bytes

# Base URLs, tried in order; https only. Change them in place (MNIST_MIRRORS[:] = [...]) or
# pass mirrors=[...] to the loader.
MNIST_MIRRORS = [
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
]
FASHION_MNIST_MIRRORS = [
    'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
]


@dataclass(frozen=True)
class FileSpec:
    """
    One file of a data set: its name and its md5 checksum (None: not checked).

    size: the number of bytes of the decompressed IDX file, when known. A file whose header
      promises another size is refused before its data is read, and neither the .gz file nor
      its contents are ever read past what this size allows.
    gz_size: the number of bytes of the .gz file itself, when known (for MNIST it is not: the
      mirrors gzip the same contents differently). Without it, a .gz file may be at most a
      little larger than `size` (gzip never grows data by more than a few bytes per 64 kB).
    """

    filename: str
    md5: str | None = None
    size: int | None = None
    gz_size: int | None = None

    def max_gz_bytes(self):
        """The most bytes the .gz file may have (None: no limit known)."""
        if self.gz_size is not None:
            return self.gz_size
        return None if self.size is None else self.size + self.size // 100 + 4096


def _idx_size(*shape):
    """The bytes of a ubyte IDX file of this shape: 4 magic bytes, 4 per size, then the data."""
    return 4 + 4 * len(shape) + int(np.prod(shape))


@dataclass(frozen=True)
class DatasetSpec:
    """
    Everything needed to find, download and check an MNIST-like data set.

    subdir: the subfolder of the data folder (or cache) that holds the four files.
    md5_of: "decompressed" when the md5s are of the contents of the .gz files, "compressed"
      when they are of the .gz files themselves.
    num_val: how many of the last training instances form the validation set when final=False.
    """

    name: str
    subdir: str
    train_images: FileSpec
    train_labels: FileSpec
    test_images: FileSpec
    test_labels: FileSpec
    mirrors: Sequence[str] = ()
    md5_of: str = 'decompressed'
    num_classes: int = 10
    num_val: int = 5_000

    def __post_init__(self):
        if self.md5_of not in ('decompressed', 'compressed'):
            raise ValueError(f"md5_of must be 'decompressed' or 'compressed', got {self.md5_of!r}")


# The md5s of MNIST are of the decompressed files, so they hold whoever gzipped them.
MNIST = DatasetSpec(
    name='MNIST',
    subdir='mnist',
    train_images=FileSpec('train-images-idx3-ubyte.gz', '6bbc9ace898e44ae57da46a324031adb',
                          _idx_size(60_000, 28, 28)),
    train_labels=FileSpec('train-labels-idx1-ubyte.gz', 'a25bea736e30d166cdddb491f175f624',
                          _idx_size(60_000)),
    test_images=FileSpec('t10k-images-idx3-ubyte.gz', '2646ac647ad5339dbf082846283269ea',
                         _idx_size(10_000, 28, 28)),
    test_labels=FileSpec('t10k-labels-idx1-ubyte.gz', '27ae3e4e09519cfbb04c329615203637',
                         _idx_size(10_000)),
    mirrors=MNIST_MIRRORS,
    md5_of='decompressed',
)

# The md5s of Fashion-MNIST are the widely published ones (torchvision's): of the .gz files.
FASHION_MNIST = DatasetSpec(
    name='Fashion-MNIST',
    subdir='fashion-mnist',
    train_images=FileSpec('train-images-idx3-ubyte.gz', '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
                          _idx_size(60_000, 28, 28)),
    train_labels=FileSpec('train-labels-idx1-ubyte.gz', '25c81989df183df01b3e8a0aad5dffbe',
                          _idx_size(60_000)),
    test_images=FileSpec('t10k-images-idx3-ubyte.gz', 'bef4ecab320f06d8554ea6380940ec79',
                         _idx_size(10_000, 28, 28)),
    test_labels=FileSpec('t10k-labels-idx1-ubyte.gz', 'bb300cfdad3c16e7a12a480ee83cd310',
                         _idx_size(10_000)),
    mirrors=FASHION_MNIST_MIRRORS,
    md5_of='compressed',
)


def load_mnist(final=False, flatten=True, data_dir=None, dtype=None, *, pixels='raw',
               mirrors=None):
    """
    Load MNIST: handwritten digits 0-9, 60,000 for training and 10,000 for testing.

    final: False (the default) gives the first 55,000 training images to train on and the last
      5,000 to validate on; the test set is not touched. True gives all 60,000 training images
      and the 10,000 test images, for a final evaluation once all choices are made.
    flatten: True gives images as rows of 784 pixels, shape (n, 784); False gives them as
      (n, 1, 28, 28), one channel, ready for a convolution.
    data_dir: a folder whose mnist/ subfolder holds the four .gz files; then nothing is
      downloaded. None: use $VUGRAD_DATA the same way, or, when that is unset, the cache
      folder (see `cache_dir()`), downloading missing files from `mirrors`.
    dtype: the float dtype of the pixels; None means `vugrad.core.get_default_dtype()`.
    pixels: 'raw' (the default) gives the pixel values 0..255 as the course's loader did (its
      learning rate, 0.0001 with the summed loss, is tuned for them); 'unit' scales them to
      [0, 1], the usual choice with Adam or a mean loss.
    mirrors: base URLs to download from, in order; None means MNIST_MIRRORS.

    Returns ``(xtrain, ytrain), (xval, yval), 10``: float pixels and int64 labels.
    Every file is checked (gzip, IDX header, md5 of its decompressed contents) before use.
    """
    mirrors = MNIST_MIRRORS if mirrors is None else mirrors
    return load_idx_dataset(MNIST, final, flatten, data_dir, dtype, pixels=pixels,
                            mirrors=mirrors)


def load_fashion_mnist(final=False, flatten=True, data_dir=None, dtype=None, *, pixels='raw',
                       mirrors=None):
    """
    Load Fashion-MNIST: 28 x 28 images of 10 kinds of clothing, split like MNIST.

    A drop-in for `load_mnist`, with the same arguments and return values, that is harder to
    classify. The files live in the fashion-mnist/ subfolder and are checked by the md5 of the
    .gz files themselves (the published checksums), not of their contents. None for mirrors
    means FASHION_MNIST_MIRRORS.

    Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
    7 sneaker, 8 bag, 9 ankle boot.
    """
    mirrors = FASHION_MNIST_MIRRORS if mirrors is None else mirrors
    return load_idx_dataset(FASHION_MNIST, final, flatten, data_dir, dtype, pixels=pixels,
                            mirrors=mirrors)


def load_idx_dataset(spec, final=False, flatten=True, data_dir=None, dtype=None, *,
                     pixels='raw', mirrors=None):
    """
    Load the MNIST-like data set `spec` describes; `load_mnist` explains the arguments.

    mirrors: None means spec.mirrors.
    """
    dt = float_dtype(dtype, spec.name)
    check_pixels(spec.name, pixels, {'raw': '0..255', 'unit': '[0, 1]'})
    scale = 255 if pixels == 'unit' else 1
    source = dl.locate(spec.subdir, data_dir)
    mirrors = list(spec.mirrors if mirrors is None else mirrors)

    def pair(images_spec, labels_spec):
        images = _load_file(spec, images_spec, IMAGES_MAGIC, source, mirrors)
        labels = _load_file(spec, labels_spec, LABELS_MAGIC, source, mirrors)
        if len(images) != len(labels):
            paths = [source.folder / f.filename for f in (images_spec, labels_spec)]
            problem = f'{len(images)} images but {len(labels)} labels'
            raise CorruptDatasetError(
                f'{spec.name} files do not match: {problem}\n  {paths[0]}\n  {paths[1]}\n'
                f'What to do: delete both files and load again, or replace them with good copies.',
                paths[0], problem)
        return images, labels

    xtrain, ytrain = pair(spec.train_images, spec.train_labels)
    if final:
        xval, yval = pair(spec.test_images, spec.test_labels)
    else:
        n = len(xtrain)
        if not 0 < spec.num_val < n:
            raise ValueError(f'{spec.name}: cannot hold out {spec.num_val} of {n} training '
                             f'instances for validation')
        xtrain, xval = xtrain[:-spec.num_val], xtrain[-spec.num_val:]
        ytrain, yval = ytrain[:-spec.num_val], ytrain[-spec.num_val:]

    return ((_to_float(xtrain, dt, flatten, scale), ytrain.astype(np.int64)),
            (_to_float(xval, dt, flatten, scale), yval.astype(np.int64)),
            spec.num_classes)


def _to_float(images, dtype, flatten, scale):
    """uint8 images (n, rows, cols) -> floats / scale, as (n, rows*cols) or (n, 1, rows, cols)."""
    x = np.divide(images, scale, dtype=dtype)
    n, rows, cols = images.shape
    return x.reshape(n, rows * cols) if flatten else x.reshape(n, 1, rows, cols)


# Files already read and checked in this process, so loading again takes no time. The key holds
# the file's size and modification time, so a file that has changed is read and checked anew.
_memory = {}


def clear_cache():
    """Forget the arrays kept in memory; the next load reads and checks the files again."""
    _memory.clear()


def _load_file(spec, fspec, magic, source, mirrors):
    """Return the checked array in one file of `spec`, downloading it if allowed and missing."""
    path = source.folder / fspec.filename
    what = f'{spec.name} file {fspec.filename}'
    return dl.read_or_download(
        path, source, what, lambda p: _read_checked(p, spec, fspec, magic), mirrors,
        memory=_memory, key=lambda st: _key(path, st, fspec, spec, magic),
        not_found=lambda: dl.missing_file_error(path, source, what, dl.cache_dir() / spec.subdir),
        max_bytes=fspec.max_gz_bytes())


def _key(path, stat, fspec, spec, magic):
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino,
            fspec.md5, spec.md5_of, magic, spec.num_classes)


def _read_checked(path, spec, fspec, magic):
    """
    Read one .gz IDX file and check it: valid gzip, valid IDX with the right magic, the right
    md5, and labels in range. Raises CorruptDatasetError (with a bare `problem`) if not.
    """
    def fail(problem):
        raise CorruptDatasetError(f'{path}: {problem}', path, problem)

    def check_md5(got, which):
        if got != fspec.md5.lower():
            fail(f'md5 of {which} is {got}, expected {fspec.md5}')

    # -- the file is read in pieces and never past the sizes it may have: a small .gz that
    #    expands to gigabytes is refused as soon as it goes past the size of the real file
    with open(path, 'rb') as f:
        on_disk = os.fstat(f.fileno()).st_size
        limit = fspec.max_gz_bytes()
        if fspec.gz_size is not None and on_disk != fspec.gz_size:
            fail(f'the .gz file is {on_disk} bytes, expected {fspec.gz_size}')
        if limit is not None and on_disk > limit:
            fail(f'the .gz file is {on_disk} bytes, more than a gzip of this '
                 f'{fspec.size}-byte file can be ({limit})')
        if fspec.md5 is not None and spec.md5_of == 'compressed':  # -- checked before unzipping
            md5 = hashlib.md5()
            while piece := f.read(1 << 20):
                md5.update(piece)
            check_md5(md5.hexdigest(), 'the .gz file')
            f.seek(0)
        try:
            with gzip.GzipFile(fileobj=f, mode='rb') as unzipped:
                data = read_idx_bytes(unzipped, magic, path, size=fspec.size)
        except (OSError, EOFError, zlib.error) as e:
            fail(f'not a valid gzip file ({e})')

    array = parse_idx(data, magic, path)
    if fspec.md5 is not None and spec.md5_of == 'decompressed':
        check_md5(hashlib.md5(data).hexdigest(), 'its decompressed contents')

    if magic == IMAGES_MAGIC and array.ndim != 3:
        fail(f'images must have 3 dimensions (n, rows, cols), got shape {array.shape}')
    if magic == LABELS_MAGIC:
        if array.ndim != 1:
            fail(f'labels must have 1 dimension, got shape {array.shape}')
        if array.size and array.max() >= spec.num_classes:
            fail(f'label {array.max()} is out of range for {spec.num_classes} classes')
    return array
