"""
load_cifar10 on tiny files in CIFAR-10's binary format that the tests write: the extracted
folder, the .tar.gz archive, a download from http.server on 127.0.0.1, and bad files. Then the
real data set, where $VUGRAD_DATA (else shared/data beside the repository) has a cifar10/.
"""

import hashlib
import os
import tarfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cifar_files import ARCHIVE, FOLDER, NAMES, batch_bytes, tar_gz

import vugrad as vg
import vugrad.data.cifar10 as cifar_module
from vugrad.data import (
    CIFAR10,
    CIFAR10_MIRRORS,
    CorruptDatasetError,
    DatasetNotFoundError,
    DownloadError,
    load_cifar10,
    load_cifar10_dataset,
)

# the tiny data set: 5 training files and a test file of RECORDS records each
RECORDS, NUM_VAL = 4, 5
TRAIN_N = 5 * RECORDS
RECORD = 3073


@pytest.fixture(autouse=True)
def forget():
    cifar_module.clear_cache()
    yield
    cifar_module.clear_cache()


@pytest.fixture
def cifar(tmp_path):
    """
    A tiny CIFAR-10 in <root>/cifar10/: the extracted folder in `folder_root`, the archive in
    `archive_root`; spec(...) describes it (archive size and md5 right, RECORDS per file).
    """
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (6, RECORDS, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, (6, RECORDS), dtype=np.uint8)
    images[0, 0, 0, 0, :2] = [0, 255]  # both ends of the range occur
    labels[0, :2] = [0, 9]
    raw = {n: batch_bytes(images[i], labels[i]) for i, n in enumerate(NAMES)}
    archive = tar_gz([(f"{FOLDER}/{n}", raw[n]) for n in NAMES])

    folder_root, archive_root = tmp_path / "extracted", tmp_path / "archived"
    (folder_root / "cifar10" / FOLDER).mkdir(parents=True)
    for n in NAMES:
        (folder_root / "cifar10" / FOLDER / n).write_bytes(raw[n])
    (archive_root / "cifar10").mkdir(parents=True)
    (archive_root / "cifar10" / ARCHIVE).write_bytes(archive)

    def spec(archive_bytes=archive, mirrors=(), **changes):
        fields = {"name": "Tiny CIFAR", "records": RECORDS, "num_val": NUM_VAL,
                  "archive_size": len(archive_bytes),
                  "archive_md5": hashlib.md5(archive_bytes).hexdigest(), "mirrors": list(mirrors)}
        return replace(CIFAR10, **{**fields, **changes})

    return SimpleNamespace(images=images, labels=labels, raw=raw, archive=archive,
                           folder_root=folder_root, archive_root=archive_root,
                           folder=folder_root / "cifar10" / FOLDER,
                           archive_path=archive_root / "cifar10" / ARCHIVE, spec=spec,
                           train_x=images[:5].reshape(TRAIN_N, 3, 32, 32),
                           train_y=labels[:5].reshape(TRAIN_N))


def check_values(cifar, result, final=False, scale=lambda x: x / 127.5 - 1):
    (x, y), (xv, yv), c = result
    assert c == 10
    if final:
        want_x, want_y = cifar.train_x, cifar.train_y
        want_xv, want_yv = cifar.images[5], cifar.labels[5]
    else:
        want_x, want_y = cifar.train_x[:-NUM_VAL], cifar.train_y[:-NUM_VAL]
        want_xv, want_yv = cifar.train_x[-NUM_VAL:], cifar.train_y[-NUM_VAL:]
    assert x.shape == want_x.shape and xv.shape == want_xv.shape
    assert y.dtype == np.int64 and yv.dtype == np.int64
    np.testing.assert_allclose(x, scale(want_x.astype(np.float64)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(xv, scale(want_xv.astype(np.float64)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(yv, want_yv)


# ---------------------------------------------------------------- reading

def test_the_extracted_folder(cifar, isolated):
    result = load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root)
    check_values(cifar, result)
    (x, _), (xv, _), _ = result
    assert x.shape == (TRAIN_N - NUM_VAL, 3, 32, 32) and xv.shape == (NUM_VAL, 3, 32, 32)
    assert x.dtype == np.float32 and xv.dtype == np.float32
    assert isolated.opened == [] and not isolated.cache.exists()


def test_the_archive(cifar, isolated, monkeypatch):
    def no_extracting(*args, **kwargs):
        raise AssertionError("the archive was extracted to disk")

    monkeypatch.setattr(tarfile.TarFile, "extract", no_extracting)
    monkeypatch.setattr(tarfile.TarFile, "extractall", no_extracting)
    check_values(cifar, load_cifar10_dataset(cifar.spec(), data_dir=cifar.archive_root))
    check_values(cifar, load_cifar10_dataset(cifar.spec(), True, data_dir=cifar.archive_root),
                 final=True)
    assert os.listdir(cifar.archive_path.parent) == [ARCHIVE]
    assert isolated.opened == []


def test_channels_are_red_green_blue_row_by_row(tmp_path):
    # one record whose red pixel (row 1, col 2) is 7, green (0, 31) is 8, blue (31, 0) is 9
    record = np.zeros(RECORD, np.uint8)
    record[0] = 4
    record[1 + 1 * 32 + 2], record[1 + 1024 + 31], record[1 + 2048 + 31 * 32] = 7, 8, 9
    folder = tmp_path / "cifar10" / FOLDER
    folder.mkdir(parents=True)
    for n in NAMES:
        (folder / n).write_bytes(record.tobytes())
    spec = replace(CIFAR10, records=1, num_val=1, archive_md5=None)
    (x, y), _, _ = load_cifar10_dataset(spec, final=True, data_dir=tmp_path, pixels='raw')
    assert x.shape == (5, 3, 32, 32) and list(y) == [4] * 5
    assert (x[0, 0, 1, 2], x[0, 1, 0, 31], x[0, 2, 31, 0]) == (7, 8, 9)
    assert x[0].sum() == 7 + 8 + 9


@pytest.mark.parametrize("pixels, scale, low, high", [
    ('signed', lambda x: (x / 255 - 0.5) / 0.5, -1.0, 1.0),
    ('unit', lambda x: x / 255, 0.0, 1.0),
    ('raw', lambda x: x, 0.0, 255.0),
])
def test_pixels(cifar, pixels, scale, low, high):
    result = load_cifar10_dataset(cifar.spec(), True, cifar.folder_root, pixels=pixels)
    check_values(cifar, result, final=True, scale=scale)
    (x, _), _, _ = result
    assert x.min() == low and x.max() == high  # -- exactly, at both ends


def test_pixels_must_be_known(cifar):
    with pytest.raises(ValueError, match="signed.*unit.*raw"):
        load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root, pixels='percent')


def test_dtypes(cifar):
    (x, _), (xv, _), _ = load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root,
                                              dtype=np.float64)
    assert x.dtype == np.float64 and xv.dtype == np.float64
    with pytest.raises(TypeError):
        load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root, dtype=np.uint8)
    previous = vg.get_default_dtype()
    vg.set_default_dtype(np.float64)
    try:
        (x, _), _, _ = load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root)
    finally:
        vg.set_default_dtype(previous)
    assert x.dtype == np.float64


def test_validation_split_and_final(cifar):
    (x, _), (xv, yv), _ = load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root)
    assert len(x) + len(xv) == TRAIN_N and len(xv) == NUM_VAL
    np.testing.assert_array_equal(yv, cifar.train_y[-NUM_VAL:])  # -- the last ones
    (x, _), (xt, yt), _ = load_cifar10_dataset(cifar.spec(), final=True,
                                               data_dir=cifar.folder_root, pixels='raw')
    assert len(x) == TRAIN_N
    np.testing.assert_array_equal(xt, cifar.images[5])
    np.testing.assert_array_equal(yt, cifar.labels[5])
    with pytest.raises(ValueError, match="cannot hold out"):
        load_cifar10_dataset(cifar.spec(num_val=TRAIN_N), data_dir=cifar.folder_root)


def test_final_false_does_not_need_the_test_file(cifar):
    (cifar.folder / "test_batch.bin").unlink()
    load_cifar10_dataset(cifar.spec(), data_dir=cifar.folder_root)
    with pytest.raises(DatasetNotFoundError, match="test_batch.bin"):
        load_cifar10_dataset(cifar.spec(), final=True, data_dir=cifar.folder_root)


def test_vugrad_data_env_var_and_fresh_arrays(cifar, monkeypatch):
    monkeypatch.setenv("VUGRAD_DATA", str(cifar.archive_root))
    (x, _), _, _ = load_cifar10_dataset(cifar.spec())
    x[:] = 5
    (x, _), _, _ = load_cifar10_dataset(cifar.spec())  # -- from memory, but a fresh array
    assert x.min() == -1.0


def test_loading_again_reads_no_file(cifar, monkeypatch):
    load_cifar10_dataset(cifar.spec(), True, cifar.archive_root)
    load_cifar10_dataset(cifar.spec(), True, cifar.folder_root)

    def no_reading(*args):
        raise AssertionError("read again instead of taken from memory")

    monkeypatch.setattr(cifar_module, "_read_archive", no_reading)
    monkeypatch.setattr(cifar_module, "_read_batch_file", no_reading)
    load_cifar10_dataset(cifar.spec(), True, cifar.archive_root)
    load_cifar10_dataset(cifar.spec(), True, cifar.folder_root)
    vg.data.clear_cache()
    with pytest.raises(AssertionError, match="read again"):
        load_cifar10_dataset(cifar.spec(), True, cifar.archive_root)


def test_nothing_there_is_a_not_found_error_not_a_download(tmp_path, isolated):
    with pytest.raises(DatasetNotFoundError) as e:
        load_cifar10(data_dir=tmp_path, mirrors=["http://127.0.0.1:9/"])
    message = str(e.value)
    assert str(tmp_path / "cifar10" / ARCHIVE) in message and FOLDER in message
    assert "data_dir" in message and "What to do" in message
    assert isolated.opened == []


# ---------------------------------------------------------------- bad files

def corrupt(cifar, spec=None, root=None, final=False):
    with pytest.raises(CorruptDatasetError) as e:
        load_cifar10_dataset(spec or cifar.spec(), final, root or cifar.folder_root)
    assert "What to do" in str(e.value)
    return e.value


def test_a_truncated_batch_file(cifar):
    path = cifar.folder / "data_batch_3.bin"
    path.write_bytes(cifar.raw["data_batch_3.bin"][:-100])
    e = corrupt(cifar)
    assert e.path == path and str(path) in str(e)
    assert f"{RECORDS * RECORD - 100} bytes, expected {RECORDS * RECORD}" in str(e)
    assert "truncated" in str(e)


def test_a_huge_batch_file_is_refused_before_it_is_read(cifar):
    import tracemalloc
    path = cifar.folder / "data_batch_1.bin"
    with open(path, "r+b") as f:
        f.truncate(1 << 30)  # -- sparse: 1 GB that takes no disk
    tracemalloc.start()
    try:
        e = corrupt(cifar)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"{1 << 30} bytes, expected {RECORDS * RECORD}" in str(e)
    assert peak < 1 << 20


def test_a_label_byte_over_9(cifar):
    data = bytearray(cifar.raw["data_batch_2.bin"])
    data[2 * RECORD] = 10  # -- the label of the third record
    (cifar.folder / "data_batch_2.bin").write_bytes(bytes(data))
    e = corrupt(cifar)
    assert "label 10 of record 2 is out of range" in str(e) and "data_batch_2.bin" in str(e)
    # -- the same in an archive
    archive = tar_gz([(f"{FOLDER}/{n}", bytes(data) if n == "data_batch_2.bin" else cifar.raw[n])
                      for n in NAMES])
    cifar.archive_path.write_bytes(archive)
    e = corrupt(cifar, cifar.spec(archive), cifar.archive_root)
    assert f"{FOLDER}/data_batch_2.bin: label 10 of record 2" in str(e)


def test_a_file_md5_is_checked_when_known(cifar):
    md5 = {"data_batch_4.bin": "0" * 32}
    e = corrupt(cifar, cifar.spec(file_md5=md5))
    got = hashlib.md5(cifar.raw["data_batch_4.bin"]).hexdigest()
    assert f"md5 of data_batch_4.bin is {got}, expected {'0' * 32}" in str(e)
    good = {n: hashlib.md5(cifar.raw[n]).hexdigest() for n in NAMES}
    load_cifar10_dataset(cifar.spec(file_md5=good), True, cifar.folder_root)


def test_an_archive_with_a_wrong_md5_or_size(cifar):
    spec = cifar.spec()
    e = corrupt(cifar, replace(spec, archive_md5="f" * 32), cifar.archive_root)
    assert f"md5 of the archive is {spec.archive_md5}, expected {'f' * 32}" in str(e)
    assert str(cifar.archive_path) in str(e)
    e = corrupt(cifar, replace(spec, archive_size=10), cifar.archive_root)
    assert f"the archive is {len(cifar.archive)} bytes, expected 10" in str(e)
    assert cifar.archive_path.read_bytes() == cifar.archive  # -- left for the user to judge


@pytest.mark.parametrize("change, problem", [
    ("not gzip", "not a valid .tar.gz archive"),
    ("short member", "is 12000 bytes, expected 12292"),
    ("missing member", "the archive lacks cifar-10-batches-bin/test_batch.bin"),
    ("symlink", "is not a regular file"),
    ("twice", "appears twice"),
])
def test_bad_archives(cifar, change, problem):
    members = [(f"{FOLDER}/{n}", cifar.raw[n]) for n in NAMES]
    if change == "not gzip":
        data = b"this is not an archive"
    else:
        if change == "short member":
            members[0] = (members[0][0], members[0][1][:12000])
        elif change == "missing member":
            members.pop()
        elif change == "symlink":
            def link(info):
                info.type, info.linkname, info.size = tarfile.SYMTYPE, "/etc/passwd", 0
            members[0] = (members[0][0], b"", link)
        elif change == "twice":
            members.insert(1, members[0])
        data = tar_gz(members)
    cifar.archive_path.write_bytes(data)
    e = corrupt(cifar, cifar.spec(data), cifar.archive_root, final=True)
    assert problem in str(e) and str(cifar.archive_path) in str(e)


def test_path_traversal_members_are_never_written(cifar, tmp_path, monkeypatch):
    work = tmp_path / "cwd" / "deep" / "er"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    evil = [("../../evil.bin", b"evil"), (f"{FOLDER}/../../../evil2.bin", b"evil"),
            (str(tmp_path / "abs-evil.bin"), b"evil"), ("./evil3.bin", b"evil")]
    archive = tar_gz(evil + [(f"./{FOLDER}/{n}", cifar.raw[n]) for n in NAMES])
    cifar.archive_path.write_bytes(archive)
    before = sorted(p for p in tmp_path.rglob("*"))
    check_values(cifar, load_cifar10_dataset(cifar.spec(archive), True, cifar.archive_root),
                 final=True)
    assert sorted(p for p in tmp_path.rglob("*")) == before  # -- nothing written anywhere
    assert not any(p.name.startswith("evil") or p.name == "abs-evil.bin"
                   for p in tmp_path.parent.rglob("*evil*"))


def test_a_file_where_the_data_folder_should_be(tmp_path):
    (tmp_path / "cifar10").write_text("not a folder")
    with pytest.raises(DatasetNotFoundError, match="is a file, where a folder should be"):
        load_cifar10(data_dir=tmp_path)


# ---------------------------------------------------------------- downloading

@pytest.fixture
def server(tmp_path, cifar, serve):
    """http.server on 127.0.0.1: /good/ has the tiny archive, /bad/ a corrupt copy of it."""
    served = tmp_path / "served"
    for sub in ("good", "bad"):
        (served / sub).mkdir(parents=True)
    (served / "good" / ARCHIVE).write_bytes(cifar.archive)
    bad = bytearray(cifar.archive)
    bad[len(bad) // 2] ^= 0xFF
    (served / "bad" / ARCHIVE).write_bytes(bytes(bad))
    return serve(served)


def test_download_verify_cache_and_no_second_download(cifar, server, refused, isolated,
                                                      listdir):
    spec = cifar.spec(mirrors=[refused, f"{server}/good/"])
    check_values(cifar, load_cifar10_dataset(spec))
    folder = isolated.cache / "cifar10"
    assert listdir(folder) == [ARCHIVE]  # -- the archive only: no temp file, nothing extracted
    assert (folder / ARCHIVE).read_bytes() == cifar.archive
    assert isolated.opened == [f"{refused}{ARCHIVE}", f"{server}/good/{ARCHIVE}"]
    vg.data.clear_cache()
    check_values(cifar, load_cifar10_dataset(cifar.spec(mirrors=[refused]), final=True),
                 final=True)
    assert len(isolated.opened) == 2  # -- read from the cache, not downloaded again


def test_a_corrupt_download_is_refused_and_leaves_nothing(cifar, server, isolated, listdir):
    spec = cifar.spec(mirrors=[f"{server}/bad/", f"{server}/missing/"])
    with pytest.raises(DownloadError) as e:
        load_cifar10_dataset(spec)
    message = str(e.value)
    assert "served a corrupt file: md5 of the archive is" in message and "HTTP 404" in message
    assert f"{server}/bad/{ARCHIVE}" in message and "What to do" in message
    assert listdir(isolated.cache / "cifar10") == []  # -- neither the file nor a temp file


def test_a_download_is_capped_at_the_archive_size(cifar, server, isolated, listdir):
    spec = cifar.spec(mirrors=[f"{server}/good/"], archive_size=len(cifar.archive) - 1)
    with pytest.raises(DownloadError, match="more than the"):
        load_cifar10_dataset(spec)
    assert listdir(isolated.cache / "cifar10") == []


def test_a_corrupt_archive_in_the_cache_is_never_used(cifar, server, isolated):
    folder = isolated.cache / "cifar10"
    folder.mkdir(parents=True)
    (folder / ARCHIVE).write_bytes(b"garbage")
    with pytest.raises(CorruptDatasetError) as e:
        load_cifar10_dataset(cifar.spec(mirrors=[f"{server}/good/"]))
    assert "delete this file" in str(e.value) and f"{server}/good/{ARCHIVE}" in str(e.value)
    assert isolated.opened == []


def test_load_cifar10_downloads_the_official_archive_from_its_home_page(monkeypatch, server,
                                                                      isolated, listdir):
    assert CIFAR10_MIRRORS == ["https://www.cs.toronto.edu/~kriz/"]
    assert CIFAR10.mirrors is CIFAR10_MIRRORS
    assert (CIFAR10.archive, CIFAR10.archive_size, CIFAR10.archive_md5) == (
        ARCHIVE, 170_052_171, "c32a1d4ab5d03f1284b67883e8d87530")
    assert CIFAR10.file_size == 30_730_000 and CIFAR10.num_val == 5_000
    seen = []
    real = cifar_module.dl.download

    def spy(*args, **kwargs):
        seen.append((args[:3], kwargs.get("max_bytes")))
        return real(*args, **kwargs)

    monkeypatch.setattr(cifar_module.dl, "download", spy)
    # -- the tiny archive is not CIFAR-10: its size is wrong, so it is refused
    with pytest.raises(DownloadError, match="expected 170052171"):
        load_cifar10(mirrors=[f"{server}/good/"])
    assert seen == [((ARCHIVE, isolated.cache / "cifar10", [f"{server}/good/"]), 170_052_171)]
    assert listdir(isolated.cache / "cifar10") == []


# ---------------------------------------------------------------- the real data set

REAL_DATA = Path(os.environ.get("VUGRAD_DATA")
                 or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")


@pytest.fixture
def real_cifar(monkeypatch, isolated):
    """$VUGRAD_DATA (as the tests started) with a cifar10/ folder, else skip."""
    folder = REAL_DATA / "cifar10"
    if not ((folder / ARCHIVE).is_file() or (folder / FOLDER).is_dir()):
        pytest.skip(f"no real CIFAR-10: {folder} holds neither {ARCHIVE} nor {FOLDER}/")
    monkeypatch.setenv("VUGRAD_DATA", str(REAL_DATA))
    yield isolated
    assert isolated.opened == [] and not isolated.cache.exists()


def test_real_train_and_validation(real_cifar):
    (x, y), (xv, yv), c = load_cifar10()
    assert c == 10
    assert x.shape == (45_000, 3, 32, 32) and xv.shape == (5_000, 3, 32, 32)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(y[:10], [6, 9, 9, 4, 1, 1, 2, 7, 8, 3])
    counts = np.bincount(y, minlength=10) + np.bincount(yv, minlength=10)
    np.testing.assert_array_equal(counts, [5_000] * 10)


def test_real_final_and_raw_float64(real_cifar):
    (x, _), (xt, yt), _ = load_cifar10(final=True, dtype=np.float64, pixels='raw')
    assert x.shape == (50_000, 3, 32, 32) and xt.shape == (10_000, 3, 32, 32)
    assert x.dtype == np.float64 and x.max() == 255.0
    np.testing.assert_array_equal(np.bincount(yt, minlength=10), [1_000] * 10)
    np.testing.assert_array_equal(yt[:10], [3, 8, 8, 0, 6, 6, 1, 6, 3, 1])
    assert 0.4 < x[:, 0].mean() / 255 < 0.55  # -- the red channel's mean is about 0.49
