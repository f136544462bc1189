"""
Read the IDX format, the simple binary format MNIST and Fashion-MNIST ship in.

An IDX file is a header followed by the raw numbers, big-endian, row by row:

    bytes 0-1   zero
    byte  2     the type of the numbers (0x08: unsigned byte, the one MNIST uses)
    byte  3     the number of dimensions d
    then        d sizes, each a 4-byte big-endian unsigned int
    then        the data: the product of the sizes, times the size of one number, in bytes

Read as one big-endian int, the first four bytes are the "magic number": 2051 (0x00000803)
for MNIST images, which are ubyte and 3-dimensional (n, rows, cols), and 2049 (0x00000801) for
labels, ubyte and 1-dimensional (n,).
"""

import numpy as np

from .errors import CorruptDatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# IDX type byte -> NumPy dtype of one number as stored (big-endian)
IDX_TYPES = {
    0x08: np.dtype('u1'),
    0x09: np.dtype('i1'),
    0x0B: np.dtype('>i2'),
    0x0C: np.dtype('>i4'),
    0x0D: np.dtype('>f4'),
    0x0E: np.dtype('>f8'),
}


def parse_idx(data, expected_magic=None, path=None):
    """
    Parse the bytes of an (uncompressed) IDX file into a NumPy array.

    expected_magic: if given, the magic number the header must have (IMAGES_MAGIC or
      LABELS_MAGIC).
    path: only used to name the file in error messages.

    Raises CorruptDatasetError when the header is malformed, the magic is not the expected one,
    or the number of data bytes is not the number the header promises. A ubyte array is
    returned read-only and without a copy; other types are converted to native byte order.
    """
    data = memoryview(data).cast('B')
    dtype, shape, header = _header(data, expected_magic, path)
    expected_bytes = _total_bytes(dtype, shape, header)
    if len(data) != expected_bytes:
        _fail(path, _size_problem(dtype, shape, expected_bytes, len(data)))

    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    if dtype.byteorder == '>':
        array = array.astype(dtype.newbyteorder('='))
    return array


def read_idx_bytes(stream, expected_magic=None, path=None, size=None, chunk=1 << 20):
    """
    Read the bytes of one IDX file from a binary stream (a gzip.GzipFile, say), never more
    than its header promises: a file that holds more is refused as soon as the extra byte
    arrives, so a small .gz that expands to gigabytes costs no more memory than a good file.

    size: the number of bytes the file must have, when it is known (MNIST's are); a header
      that promises any other size is refused before any data is read.

    Returns the bytes, for `parse_idx`. Raises CorruptDatasetError as parse_idx does.
    """
    head = _read_up_to(stream, 4)
    if len(head) == 4:
        head += _read_up_to(stream, 4 * head[3])
    dtype, shape, header = _header(head, expected_magic, path)
    expected_bytes = _total_bytes(dtype, shape, header)
    if size is not None and expected_bytes != size:
        _fail(path, f'header says shape {_dims(shape)} of {dtype.itemsize}-byte numbers, '
                    f'{expected_bytes} bytes in all, but this file should have {size} bytes')
    parts, got = [head], len(head)
    while got <= expected_bytes:  # -- one byte past the promise is enough to refuse the file
        part = stream.read(min(chunk, expected_bytes + 1 - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    if got != expected_bytes:
        _fail(path, _size_problem(dtype, shape, expected_bytes, got, streamed=True))
    return b''.join(parts)


def _read_up_to(stream, n):
    """n bytes from stream, fewer only at its end."""
    out = b''
    while len(out) < n and (part := stream.read(n - len(out))):
        out += part
    return out


def _fail(path, problem):
    where = f'{path}: ' if path is not None else ''
    raise CorruptDatasetError(f'{where}not a valid IDX file: {problem}', path, problem)


def _header(data, expected_magic, path):
    """The (dtype, shape, header length) an IDX header gives; data holds at least the header."""
    if len(data) < 4:
        _fail(path, f'it is {len(data)} bytes long, too short for the 4-byte magic number')
    magic = int.from_bytes(data[:4], 'big')
    if expected_magic is not None and magic != expected_magic:
        _fail(path, f'magic number is {magic}, expected {expected_magic} '
                    f'({_describe_magic(expected_magic)})')
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        _fail(path, f'magic number {magic} (0x{magic:08x}) is not an IDX magic number')

    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        _fail(path, f'header promises {ndim} sizes ({header} header bytes), '
                    f'but the file is {len(data)} bytes long')
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim))
    return IDX_TYPES[data[2]], shape, header


def _total_bytes(dtype, shape, header):
    return header + int(np.prod(shape, dtype=object)) * dtype.itemsize


def _dims(shape):
    return ' x '.join(map(str, shape))


def _size_problem(dtype, shape, expected_bytes, got, streamed=False):
    if got < expected_bytes:
        holds = f'{got} bytes (truncated?)'
    elif streamed:  # -- reading stopped at the first byte too many
        holds = f'more than {expected_bytes} bytes (trailing bytes)'
    else:
        holds = f'{got} bytes (trailing bytes)'
    return (f'header says shape {_dims(shape)} of {dtype.itemsize}-byte numbers, '
            f'{expected_bytes} bytes in all, but the file holds {holds}')


def _describe_magic(magic):
    return {IMAGES_MAGIC: 'an images file', LABELS_MAGIC: 'a labels file'}.get(
        magic, 'an IDX file')
