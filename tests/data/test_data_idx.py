import numpy as np
import pytest

from vugrad.data import CorruptDatasetError, DatasetError
from vugrad.data.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx
from vugrad.errors import VugradError


def test_parses_images_and_labels(idx):
    images = np.arange(5 * 28 * 28, dtype=np.int64).reshape(5, 28, 28).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    got = parse_idx(idx(images), IMAGES_MAGIC)
    assert got.dtype == np.uint8 and got.shape == (5, 28, 28)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(parse_idx(idx(labels), LABELS_MAGIC), labels)


def test_magic_numbers_are_the_mnist_ones(idx):
    assert int.from_bytes(idx(np.zeros((1, 2, 2), np.uint8))[:4], "big") == IMAGES_MAGIC == 2051
    assert int.from_bytes(idx(np.zeros(1, np.uint8))[:4], "big") == LABELS_MAGIC == 2049


def test_big_endian_int32(idx):
    a = np.array([[1, -2, 70000], [0, 5, -300000]], dtype=np.int32)
    got = parse_idx(idx(a.astype(">i4"), type_byte=0x0C))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, a)


def test_wrong_magic(idx):
    labels = idx(np.zeros(4, np.uint8))
    with pytest.raises(CorruptDatasetError, match="magic number is 2049, expected 2051") as e:
        parse_idx(labels, IMAGES_MAGIC, path="some/file")
    assert "some/file" in str(e.value)


def test_not_idx_at_all():
    with pytest.raises(CorruptDatasetError, match="not an IDX magic number"):
        parse_idx(b"\x89PNG\r\n\x1a\n" + bytes(40))


def test_truncated(idx):
    data = idx(np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(CorruptDatasetError, match=r"3936 bytes in all, but the file holds 3000"):
        parse_idx(data[:3000], IMAGES_MAGIC)


def test_trailing_bytes(idx):
    data = idx(np.zeros(5, np.uint8)) + b"\x00"
    with pytest.raises(CorruptDatasetError, match="trailing"):
        parse_idx(data, LABELS_MAGIC)


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00\x00\x05"])
def test_header_too_short(data):
    with pytest.raises(CorruptDatasetError, match="too short|header promises"):
        parse_idx(data)


def test_error_hierarchy():
    assert issubclass(CorruptDatasetError, DatasetError)
    assert issubclass(CorruptDatasetError, ValueError)
    assert issubclass(DatasetError, VugradError)


def test_read_idx_bytes_never_reads_past_the_header_promise(idx):
    from vugrad.data.idx import read_idx_bytes
    good = idx(np.arange(12, dtype=np.uint8).reshape(3, 4))

    class Endless:
        """
        The bytes of `good`, then zeros for ever; counts what was read. Capped: a read of
        everything (read() or read(-1)), or past 1 MiB in all, fails the test at once instead
        of eating memory until the process is killed.
        """
        CAP = 2 ** 20

        def __init__(self):
            self.pos = 0

        def read(self, n=-1):
            assert n is not None and n >= 0, f'read({n}): an unbounded read of an endless stream'
            assert self.pos + n <= self.CAP, f'read past {self.CAP} bytes of an endless stream'
            out = (good[self.pos:self.pos + n] + bytes(n))[:n]
            self.pos += len(out)
            return out

    stream = Endless()
    with pytest.raises(CorruptDatasetError, match="more than 24 bytes \\(trailing bytes\\)"):
        read_idx_bytes(stream, chunk=5)
    assert stream.pos == len(good) + 1
    import io
    assert read_idx_bytes(io.BytesIO(good), size=len(good)) == good
    np.testing.assert_array_equal(parse_idx(read_idx_bytes(io.BytesIO(good))),
                                  np.arange(12).reshape(3, 4))
    with pytest.raises(CorruptDatasetError, match="should have 99 bytes"):
        read_idx_bytes(Endless(), size=99)
    with pytest.raises(CorruptDatasetError, match="holds 23 bytes \\(truncated\\?\\)"):
        read_idx_bytes(io.BytesIO(good[:-1]))
