"""Downloading into the cache from mirrors served by http.server on 127.0.0.1."""

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import vugrad.data.mnist as mnist_module
from vugrad.data import (
    MNIST_MIRRORS,
    CorruptDatasetError,
    DatasetNotFoundError,
    DownloadError,
    load_idx_dataset,
    load_mnist,
)
from vugrad.data import FileSpec
from vugrad.data.download import _cache_dir_for, cache_dir, download, remove_stale_parts

REPO = Path(__file__).resolve().parents[2]


class Handler(http.server.SimpleHTTPRequestHandler):
    """
    Serves files; under /cut/ it promises more bytes than it sends, then hangs up; under
    /endless/ it sends zeros without a Content-Length, without end; under /stall/ it sends a
    few bytes of the 100000 it promises, sets `stalled`, then waits (until `release` is set,
    10 s at most).
    """

    release = threading.Event()
    stalled = threading.Event()

    def do_GET(self):
        if self.path.startswith("/cut/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(100))
            return
        if self.path.startswith("/endless/"):
            self.send_response(200)
            self.end_headers()
            deadline = time.monotonic() + 10
            try:
                while time.monotonic() < deadline and not self.release.is_set():
                    self.wfile.write(bytes(1 << 16))
            except OSError:  # -- the client hung up: what it should do
                pass
            self.close_connection = True
            return
        if self.path.startswith("/stall/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(100))
            self.wfile.flush()
            self.stalled.set()
            self.release.wait(10)
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path, tiny, serve):
    """A server on 127.0.0.1: /good/ has the tiny files, /bad/ corrupt copies, /cut/ cuts off."""
    served = tmp_path / "served"
    for sub in ("good", "bad"):
        (served / sub).mkdir(parents=True)
    for key, name in tiny.names.items():
        (served / "good" / name).write_bytes(tiny.gz[key])
        bad = bytearray(tiny.gz[key])
        bad[len(bad) // 2] ^= 0xFF
        (served / "bad" / name).write_bytes(bytes(bad))
    Handler.release.clear()
    Handler.stalled.clear()
    yield serve(served, Handler)
    Handler.release.set()  # -- let stalled and endless answers end (then serve stops the server)


def test_cache_dir_locations(isolated, monkeypatch, tmp_path):
    assert cache_dir() == isolated.cache  # $XDG_CACHE_HOME/vugrad
    home = Path.home()
    assert _cache_dir_for("linux", {}) == home / ".cache" / "vugrad"
    assert _cache_dir_for("linux", {"XDG_CACHE_HOME": "/x/c"}) == Path("/x/c/vugrad")
    assert _cache_dir_for("win32", {"LOCALAPPDATA": "/w/l"}) == Path("/w/l/vugrad")
    assert _cache_dir_for("win32", {"XDG_CACHE_HOME": "/x/c"}) == home / "AppData/Local/vugrad"


def test_failing_mirrors_then_a_good_one(tiny, server, refused, isolated, listdir):
    mirrors = [refused, f"{server}/missing/", f"{server}/good/"]
    (x, _), (_, yv), _ = load_idx_dataset(tiny.spec(mirrors=mirrors), final=True)
    np.testing.assert_array_equal(yv, tiny.arrays["test-labels"])
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), tiny.arrays["train-images"])
    folder = isolated.cache / "tiny"
    assert listdir(folder) == sorted(tiny.names.values())  # all four, no temp files
    for key, name in tiny.names.items():
        assert hashlib.md5((folder / name).read_bytes()).hexdigest() == \
            hashlib.md5(tiny.gz[key]).hexdigest()
    assert len(isolated.opened) == 3 * 4


def test_cached_files_are_used_without_the_network(tiny, server, refused, isolated):
    load_idx_dataset(tiny.spec(mirrors=[f"{server}/good/"]))
    n = len(isolated.opened)
    assert n == 2  # final=False needs only the training files
    mnist_module.clear_cache()
    (_, y), _, _ = load_idx_dataset(tiny.spec(mirrors=[refused]))
    assert len(isolated.opened) == n
    assert len(y) == 5


def test_corrupt_mirror_is_rejected_and_nothing_is_left(tiny, server, refused, isolated, listdir):
    mirrors = [refused, f"{server}/missing/", f"{server}/bad/", f"{server}/cut/"]
    with pytest.raises(DownloadError) as e:
        load_idx_dataset(tiny.spec(mirrors=mirrors))
    message = str(e.value)
    name = tiny.names["train-images"]
    for m in mirrors:
        assert f"{m.rstrip('/')}/{name}" in message
    assert "HTTP 404" in message and "could not connect" in message
    assert "served a corrupt file" in message and "What to do" in message
    assert "closed after 102 of 100000 bytes" in message
    assert [u for u, _ in e.value.failures] == [f"{m.rstrip('/')}/{name}" for m in mirrors]
    assert isinstance(e.value, OSError)
    assert listdir(isolated.cache / "tiny") == []  # neither the file nor a temp file


def test_corrupt_mirror_then_good_one(tiny, server, isolated, listdir):
    mirrors = [f"{server}/bad/", f"{server}/good/"]
    (_, y), _, _ = load_idx_dataset(tiny.spec(mirrors=mirrors))
    assert len(y) == 5
    assert listdir(isolated.cache / "tiny") == sorted(
        [tiny.names["train-images"], tiny.names["train-labels"]])


def test_corrupt_file_in_cache_is_never_used(tiny, server, isolated):
    folder = isolated.cache / "tiny"
    folder.mkdir(parents=True)
    (folder / tiny.names["train-images"]).write_bytes(b"garbage")
    spec = tiny.spec(mirrors=[f"{server}/good/"])
    with pytest.raises(CorruptDatasetError) as e:
        load_idx_dataset(spec)
    message = str(e.value)
    assert str(folder / tiny.names["train-images"]) in message
    assert "delete this file" in message and f"{server}/good/" in message
    assert (folder / tiny.names["train-images"]).read_bytes() == b"garbage"  # left for the user
    assert isolated.opened == []


def test_no_mirrors(tiny, isolated):
    with pytest.raises(DownloadError, match="no mirrors"):
        load_idx_dataset(tiny.spec(mirrors=[]))


def test_download_cleans_up_when_the_check_is_interrupted(tmp_path, server, listdir):
    def interrupted(path):
        assert path.exists() and path.name.endswith(".part")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download("train-images-idx3-ubyte.gz", tmp_path / "f", [f"{server}/good/"], interrupted)
    assert listdir(tmp_path / "f") == []


def test_load_mnist_uses_the_mirror_list(monkeypatch, server, isolated):
    # the tiny files are not MNIST: their headers promise the wrong sizes (and their md5s are
    # wrong), so every mirror is rejected
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", [f"{server}/good/"])
    with pytest.raises(DownloadError, match="5504 bytes in all, but this file should have "
                                            "47040016 bytes"):
        load_mnist()
    assert isolated.opened == [f"{server}/good/train-images-idx3-ubyte.gz"]
    with pytest.raises(DownloadError, match="/bad/"):
        load_mnist(mirrors=[f"{server}/bad/"])
    assert MNIST_MIRRORS[0].startswith("https://")  # the real list is untouched


def test_default_mirrors_are_all_https():
    from vugrad.data import FASHION_MNIST, FASHION_MNIST_MIRRORS, MNIST
    for mirrors in (MNIST_MIRRORS, FASHION_MNIST_MIRRORS, MNIST.mirrors, FASHION_MNIST.mirrors):
        assert mirrors and all(m.startswith("https://") for m in mirrors), mirrors


# ---------------------------------------------------------------- bounded downloads

def test_download_stops_at_the_size_a_file_can_have(tmp_path, tiny, server, listdir):
    # /good/ announces its size; /endless/ sends zeros without one, for ever
    def never(path):
        raise AssertionError("a file over the limit was checked")

    limit = len(tiny.gz["train-images"]) - 1
    with pytest.raises(DownloadError) as e:
        download(tiny.names["train-images"], tmp_path / "f", [f"{server}/good/",
                 f"{server}/endless/"], never, max_bytes=limit)
    reasons = [reason for _, reason in e.value.failures]
    assert reasons == [f"announced {limit + 1} bytes, more than the {limit} this file can have",
                       f"sent more than the {limit} bytes this file can have"]
    assert listdir(tmp_path / "f") == []


def test_mnist_downloads_are_capped_by_the_known_sizes(monkeypatch, server, isolated):
    seen = []
    real = mnist_module.dl.download

    def spy(*args, **kwargs):
        seen.append(kwargs.get("max_bytes"))
        return real(*args, **kwargs)

    monkeypatch.setattr(mnist_module.dl, "download", spy)
    with pytest.raises(DownloadError):
        load_mnist(mirrors=[f"{server}/good/"])
    size = 16 + 60_000 * 28 * 28
    assert seen == [size + size // 100 + 4096]
    assert FileSpec("x", size=100, gz_size=50).max_gz_bytes() == 50
    assert FileSpec("x").max_gz_bytes() is None


# ---------------------------------------------------------------- the cache folder

def test_a_file_where_the_cache_folder_should_be(tiny, server, isolated):
    isolated.cache.parent.mkdir(parents=True)
    isolated.cache.write_text("not a folder")
    with pytest.raises(DatasetNotFoundError) as e:
        load_idx_dataset(tiny.spec(mirrors=[f"{server}/good/"]))
    message = str(e.value)
    assert f"{isolated.cache} is a file, where a folder should be" in message
    assert "What to do: move or delete the file" in message and "XDG_CACHE_HOME" in message
    assert "network" not in message
    assert isolated.opened == []


def test_a_file_where_the_data_set_folder_should_be(tiny, server, isolated):
    isolated.cache.mkdir(parents=True)
    (isolated.cache / "tiny").write_text("not a folder")
    with pytest.raises(DatasetNotFoundError, match=f"{isolated.cache / 'tiny'} is a file"):
        load_idx_dataset(tiny.spec(mirrors=[f"{server}/good/"]))
    assert isolated.opened == []


def test_a_folder_where_a_data_file_should_be(tiny, isolated):
    folder = isolated.cache / "tiny" / tiny.names["train-images"]
    folder.mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="is not a file"):
        load_idx_dataset(tiny.spec(mirrors=[]))


def test_download_into_a_file_is_a_download_error(tmp_path, server):
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(DownloadError) as e:
        download("x.gz", tmp_path / "f" / "sub", [f"{server}/good/"], lambda p: None)
    assert f"{tmp_path / 'f'} is a file, where a folder should be" in str(e.value)
    assert "network" not in str(e.value)


def test_an_unwritable_folder_is_not_blamed_on_the_network(tiny, server, isolated, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(DownloadError) as e:
        load_idx_dataset(tiny.spec(mirrors=[f"{server}/good/", f"{server}/good/"]))
    message = str(e.value)
    assert "PermissionError" in message and str(isolated.cache / "tiny") in message
    assert "a folder you can write to" in message and "network" not in message
    assert isolated.opened == []  # -- no mirror is tried: none could help


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write anywhere")
def test_a_read_only_cache_folder(tiny, server, isolated):
    folder = isolated.cache / "tiny"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        with pytest.raises(DownloadError) as e:
            load_idx_dataset(tiny.spec(mirrors=[f"{server}/good/"]))
    finally:
        folder.chmod(0o700)
    assert "PermissionError" in str(e.value) and "network" not in str(e.value)


# ---------------------------------------------------------------- temporary files

def test_a_killed_download_leaves_a_part_file_the_next_one_removes(tmp_path, tiny, server,
                                                                   listdir):
    folder, name = tmp_path / "f", tiny.names["train-labels"]
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from vugrad.data.download import download; "
         "download(sys.argv[1], sys.argv[2], [sys.argv[3]], lambda p: None)",
         name, str(folder), f"{server}/stall/"],
        cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        # -- the child is mid-download once the server has sent it the first bytes
        assert Handler.stalled.wait(20) and child.poll() is None, "the download did not start"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    [part] = listdir(folder)
    assert part.startswith(f".{name}.") and part.endswith(".part")
    download(name, folder, [f"{server}/good/"], lambda p: None)
    assert listdir(folder) == [name]
    assert (folder / name).read_bytes() == tiny.gz["train-labels"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks")
def test_the_part_file_of_a_running_download_is_left_alone(tmp_path, listdir):
    import fcntl
    held, dead, other = (tmp_path / ".a.gz.held.part", tmp_path / ".a.gz.dead.part",
                         tmp_path / ".b.gz.dead.part")
    for p in (held, dead, other):
        p.write_bytes(b"x")
    with open(held, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # -- as a running download holds its file
        remove_stale_parts(tmp_path, "a.gz")
    assert listdir(tmp_path) == [held.name, other.name]


def test_a_data_file_that_cannot_be_opened(tiny, monkeypatch):
    import builtins
    real_open = builtins.open

    def denied(file, *args, **kwargs):
        if str(file).endswith(tiny.names["train-images"]):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)  # -- as a file without read permission
    with pytest.raises(DatasetNotFoundError) as e:
        load_idx_dataset(tiny.spec(), data_dir=tiny.root)
    message = str(e.value)
    assert "PermissionError" in message and "make" in message and "readable" in message
    assert str(tiny.folder / tiny.names["train-images"]) in message
