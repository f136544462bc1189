"""load_idx_dataset on tiny IDX files the tests write: good files, and every way one can be bad."""

import gzip
import os

import numpy as np
import pytest

from vugrad.data import (
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    DatasetSpec,
    load_idx_dataset,
)

# the sizes of the `tiny` fixture's data set (see conftest.py)
TRAIN_N, TEST_N, SIDE, NUM_VAL = 7, 3, 28, 2


def test_good_files_load_right_values(tiny):
    (x, y), (xv, yv), c = load_idx_dataset(tiny.spec(), data_dir=tiny.root, pixels='unit')
    images, labels = tiny.arrays["train-images"], tiny.arrays["train-labels"]
    assert c == 10
    assert x.shape == (TRAIN_N - NUM_VAL, SIDE * SIDE) and xv.shape == (NUM_VAL, SIDE * SIDE)
    assert x.dtype == np.float32 and y.dtype == np.int64 and yv.dtype == np.int64
    np.testing.assert_allclose(x, images[:-NUM_VAL].reshape(-1, SIDE * SIDE) / 255, rtol=1e-6)
    np.testing.assert_allclose(xv, images[-NUM_VAL:].reshape(-1, SIDE * SIDE) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, labels[:-NUM_VAL])
    np.testing.assert_array_equal(yv, labels[-NUM_VAL:])
    assert x.min() == 0.0 and x.max() == 1.0


def test_final_uses_the_test_files_and_unflattened_shape(tiny):
    (x, _), (xv, yv), _ = load_idx_dataset(tiny.spec(), final=True, flatten=False,
                                           data_dir=tiny.root, dtype=np.float64)
    assert x.shape == (TRAIN_N, 1, SIDE, SIDE) and xv.shape == (TEST_N, 1, SIDE, SIDE)
    assert x.dtype == np.float64
    # -- the default pixels='raw' keeps the values 0..255, as the course's loader did
    np.testing.assert_array_equal(xv[:, 0], tiny.arrays["test-images"])
    np.testing.assert_array_equal(yv, tiny.arrays["test-labels"])


def test_vugrad_data_env_var(tiny, monkeypatch):
    monkeypatch.setenv("VUGRAD_DATA", str(tiny.root))
    (_, y), _, _ = load_idx_dataset(tiny.spec())
    np.testing.assert_array_equal(y, tiny.arrays["train-labels"][:-NUM_VAL])


def test_data_dir_wins_over_env_var(tiny, monkeypatch, tmp_path):
    monkeypatch.setenv("VUGRAD_DATA", str(tmp_path / "nothing-here"))
    (_, y), _, _ = load_idx_dataset(tiny.spec(), data_dir=tiny.root)
    assert len(y) == TRAIN_N - NUM_VAL


def test_returned_arrays_are_fresh_each_call(tiny):
    (x1, _), _, _ = load_idx_dataset(tiny.spec(), data_dir=tiny.root)
    x1[:] = -1
    (x2, _), _, _ = load_idx_dataset(tiny.spec(), data_dir=tiny.root)
    assert x2.min() == 0.0


def test_missing_file_in_data_dir_is_an_error_not_a_download(tiny, isolated):
    (tiny.folder / tiny.names["train-labels"]).unlink()
    spec = tiny.spec(mirrors=["http://127.0.0.1:9/"])
    with pytest.raises(DatasetNotFoundError) as e:
        load_idx_dataset(spec, data_dir=tiny.root)
    message = str(e.value)
    assert str(tiny.folder / tiny.names["train-labels"]) in message
    assert "data_dir" in message and "What to do" in message
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, DatasetError)
    assert isolated.opened == []


def test_missing_subfolder_gets_a_hint(tiny):
    for name in tiny.names.values():
        os.replace(tiny.folder / name, tiny.root / name)  # files one level too high
    with pytest.raises(DatasetNotFoundError, match="tiny/ subfolder"):
        load_idx_dataset(tiny.spec(), data_dir=tiny.root)


def write(tiny, key, data):
    (tiny.folder / tiny.names[key]).write_bytes(data)


def load_error(tiny, spec=None, **kwargs):
    with pytest.raises(CorruptDatasetError) as e:
        load_idx_dataset(spec or tiny.spec(), data_dir=tiny.root, **kwargs)
    return e.value


def test_truncated_gzip(tiny):
    write(tiny, "train-images", tiny.gz["train-images"][:-100])
    e = load_error(tiny)
    assert e.path == tiny.folder / tiny.names["train-images"]
    assert str(e.path) in str(e) and "gzip" in str(e) and "What to do" in str(e)


def test_truncated_idx_inside_valid_gzip(tiny):
    write(tiny, "train-images", gzip.compress(tiny.raw["train-images"][:-28]))
    e = load_error(tiny, tiny.spec(train_images=None))
    assert "truncated" in str(e) and str(e.path) in str(e)


def test_bad_gzip(tiny):
    write(tiny, "train-labels", b"this is not gzip at all")
    e = load_error(tiny)
    assert "not a valid gzip file" in str(e) and tiny.names["train-labels"] in str(e)


def test_wrong_magic(tiny):
    write(tiny, "train-images", tiny.gz["train-labels"])  # a labels file where images should be
    e = load_error(tiny, tiny.spec(train_images=None))
    assert "magic number is 2049, expected 2051" in str(e)


def test_wrong_md5_names_expected_and_got(tiny):
    spec = tiny.spec(test_labels="0" * 32)
    e = load_error(tiny, spec, final=True)
    got = __import__("hashlib").md5(tiny.raw["test-labels"]).hexdigest()
    assert f"is {got}, expected {'0' * 32}" in str(e)
    assert "decompressed" in str(e) and str(tiny.folder / tiny.names["test-labels"]) in str(e)


def test_md5_of_compressed_files(tiny):
    (_, y), _, _ = load_idx_dataset(tiny.spec(md5_of="compressed"), data_dir=tiny.root)
    assert len(y) == TRAIN_N - NUM_VAL
    # the same bytes, gzipped differently: the contents are right, the .gz md5 is not
    write(tiny, "train-labels", gzip.compress(tiny.raw["train-labels"], compresslevel=1, mtime=5))
    e = load_error(tiny, tiny.spec(md5_of="compressed"))
    assert "md5 of the .gz file" in str(e)
    # while an md5 of the decompressed contents does not care how they were gzipped
    (_, y), _, _ = load_idx_dataset(tiny.spec(), data_dir=tiny.root)
    assert len(y) == TRAIN_N - NUM_VAL


def test_md5_of_must_be_known():
    with pytest.raises(ValueError):
        DatasetSpec("x", "x", None, None, None, None, md5_of="sha1")


def test_label_out_of_range(tiny, idx):
    labels = tiny.arrays["train-labels"].copy()
    labels[0] = 10
    write(tiny, "train-labels", gzip.compress(idx(labels)))
    assert "out of range" in str(load_error(tiny, tiny.spec(train_labels=None)))


def test_image_and_label_counts_must_match(tiny, idx):
    write(tiny, "train-labels", gzip.compress(idx(tiny.arrays["train-labels"][:-1])))
    e = load_error(tiny, tiny.spec(train_labels=None))
    assert f"{TRAIN_N} images but {TRAIN_N - 1} labels" in str(e)


def test_a_file_changed_after_loading_is_checked_again(tiny):
    load_idx_dataset(tiny.spec(), data_dir=tiny.root)  # now held in memory
    path = tiny.folder / tiny.names["train-images"]
    data = bytearray(tiny.gz["train-images"])
    data[-12] ^= 0xFF  # same size, corrupt
    path.write_bytes(bytes(data))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    load_error(tiny)


def test_fashion_mnist_reads_its_own_subfolder_and_checks_the_gz_md5(tiny, isolated):
    from vugrad.data import FASHION_MNIST, load_fashion_mnist
    assert FASHION_MNIST.md5_of == "compressed" and FASHION_MNIST.subdir == "fashion-mnist"
    with pytest.raises(DatasetNotFoundError, match="fashion-mnist"):
        load_fashion_mnist(data_dir=tiny.root)
    os.replace(tiny.folder, tiny.root / "fashion-mnist")
    e = load_error(tiny, FASHION_MNIST)
    assert "md5 of the .gz file" in str(e) and "8d4fb7e6c68d591d4c3dfef9ec88bf0d" in str(e)
    assert isolated.opened == []


def test_pixels_must_be_raw_or_unit(tiny):
    with pytest.raises(ValueError, match="raw.*unit"):
        load_idx_dataset(tiny.spec(), data_dir=tiny.root, pixels='percent')


# ---------------------------------------------------------------- bounded reading

def gzip_bomb(head, extra):
    """gzip bytes of `head` followed by `extra` zero bytes, compressed 1 MB at a time."""
    import zlib
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(head)]
    for _ in range(extra >> 20):
        out.append(z.compress(bytes(1 << 20)))
    return b"".join(out) + z.flush()


def peak_bytes_of(fn):
    """Run fn (it must raise CorruptDatasetError); return it and the peak memory it took."""
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(CorruptDatasetError) as e:
            fn()
        return e.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bomb_spec(tiny, bomb):
    """The tiny spec, knowing the sizes of the files and that the .gz of the images is `bomb`."""
    from dataclasses import replace
    write(tiny, "train-images", bomb)
    spec = tiny.spec(sizes=True)
    # -- a bomb as small as a real .gz file: only the size of the contents can stop it
    return replace(spec, train_images=replace(spec.train_images, gz_size=len(bomb)))


def test_a_gzip_that_expands_past_the_known_size_is_cut_off(tiny):
    # a good header and good data, then 48 MB of zeros: a 50 kB file
    spec = bomb_spec(tiny, gzip_bomb(tiny.raw["train-images"], 48 << 20))
    e, peak = peak_bytes_of(lambda: load_idx_dataset(spec, data_dir=tiny.root))
    assert "trailing bytes" in str(e) and tiny.names["train-images"] in str(e)
    assert peak < 8 << 20  # -- not the 48 MB the file expands to


def test_a_header_promising_another_size_is_refused_before_reading(tiny, idx):
    # the header promises 60,000 images where the spec knows 7: refused from the header
    head = idx(np.zeros((0, SIDE, SIDE), np.uint8))
    head = head[:4] + (60_000).to_bytes(4, "big") + head[8:]
    spec = bomb_spec(tiny, gzip_bomb(head, 48 << 20))
    e, peak = peak_bytes_of(lambda: load_idx_dataset(spec, data_dir=tiny.root))
    assert f"60000 x 28 x 28 of 1-byte numbers, {16 + 60_000 * 784} bytes in all, but this file " \
           f"should have {len(tiny.raw['train-images'])} bytes" in str(e)
    assert peak < 8 << 20


def test_a_gz_file_larger_than_its_contents_can_be_is_not_read(tiny, monkeypatch):
    import vugrad.data.mnist as mnist_module
    spec = tiny.spec(sizes=True)
    limit = spec.train_images.max_gz_bytes()
    write(tiny, "train-images", tiny.gz["train-images"] + bytes(limit))
    monkeypatch.setattr(mnist_module.gzip, "GzipFile", None)  # -- unzipping would fail
    e = load_error(tiny, spec)
    assert f"more than a gzip of this {len(tiny.raw['train-images'])}-byte file can be" in str(e)


def test_a_known_gz_size_is_checked(tiny):
    from dataclasses import replace
    spec = tiny.spec(sizes=True)
    spec = replace(spec, train_images=replace(spec.train_images, gz_size=10))
    e = load_error(tiny, spec)
    assert f"the .gz file is {len(tiny.gz['train-images'])} bytes, expected 10" in str(e)


def test_mnist_knows_the_sizes_of_its_files():
    from vugrad.data import FASHION_MNIST, MNIST
    for spec in (MNIST, FASHION_MNIST):
        assert spec.train_images.size == 16 + 60_000 * 28 * 28
        assert spec.test_images.size == 16 + 10_000 * 28 * 28
        assert (spec.train_labels.size, spec.test_labels.size) == (8 + 60_000, 8 + 10_000)
