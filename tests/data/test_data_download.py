"""Downloading into the cache from mirrors served by http.server on 127.0.0.1."""

import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

import vugrad.data.mnist as mnist_module
from vugrad.data import (
    MNIST_MIRRORS,
    CorruptDatasetError,
    DownloadError,
    load_idx_dataset,
    load_mnist,
)
from vugrad.data.download import _cache_dir_for, cache_dir, download


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files; under /cut/ it promises more bytes than it sends, then hangs up."""

    def do_GET(self):
        if self.path.startswith("/cut/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(100))
            return
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path, tiny):
    """A server on 127.0.0.1: /good/ has the tiny files, /bad/ corrupt copies, /cut/ cuts off."""
    served = tmp_path / "served"
    for sub in ("good", "bad"):
        (served / sub).mkdir(parents=True)
    for key, name in tiny.names.items():
        (served / "good" / name).write_bytes(tiny.gz[key])
        bad = bytearray(tiny.gz[key])
        bad[len(bad) // 2] ^= 0xFF
        (served / "bad" / name).write_bytes(bytes(bad))
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def refused():
    """The base URL of a port on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


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
    # the tiny files are not MNIST: their md5s are wrong, so every mirror is rejected
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", [f"{server}/good/"])
    with pytest.raises(DownloadError, match="expected 6bbc9ace898e44ae57da46a324031adb"):
        load_mnist()
    assert isolated.opened == [f"{server}/good/train-images-idx3-ubyte.gz"]
    with pytest.raises(DownloadError, match="/bad/"):
        load_mnist(mirrors=[f"{server}/bad/"])
    assert MNIST_MIRRORS[0].startswith("https://")  # the real list is untouched
