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
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
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
    data = memoryview(data).cast("B")

    def fail(problem):
        where = f"{path}: " if path is not None else ""
        raise CorruptDatasetError(f"{where}not a valid IDX file: {problem}", path, problem)

    if len(data) < 4:
        fail(f"it is {len(data)} bytes long, too short for the 4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        fail(f"magic number is {magic}, expected {expected_magic} "
             f"({_describe_magic(expected_magic)})")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        fail(f"magic number {magic} (0x{magic:08x}) is not an IDX magic number")

    dtype = IDX_TYPES[data[2]]
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        fail(f"header promises {ndim} sizes ({header} header bytes), "
             f"but the file is {len(data)} bytes long")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))

    expected_bytes = header + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if len(data) != expected_bytes:
        dims = " x ".join(map(str, shape))
        fail(f"header says shape {dims} of {dtype.itemsize}-byte numbers, {expected_bytes} bytes "
             f"in all, but the file holds {len(data)} bytes"
             + (" (truncated?)" if len(data) < expected_bytes else " (trailing bytes)"))

    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return array


def _describe_magic(magic):
    return {IMAGES_MAGIC: "an images file", LABELS_MAGIC: "a labels file"}.get(
        magic, "an IDX file")
