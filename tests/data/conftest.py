"""Shared fixtures for the vugrad.data tests: tiny IDX files, and no network beyond 127.0.0.1."""

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vugrad.data import DatasetSpec, FileSpec, clear_cache

# the sizes of the tiny data set; the test modules repeat them (conftest is not for importing)
TRAIN_N, TEST_N, SIDE, NUM_VAL = 7, 3, 28, 2

def idx_bytes(array, type_byte=0x08, magic=None):
    """The bytes of an IDX file holding `array` (ubyte unless type_byte says otherwise)."""
    array = np.asarray(array)
    head = bytes([0, 0, type_byte, array.ndim]) if magic is None else struct.pack(">I", magic)
    return head + b"".join(struct.pack(">I", s) for s in array.shape) + array.tobytes()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test: a fresh cache folder, no VUGRAD_DATA, empty memory cache, loopback only."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("VUGRAD_DATA", raising=False)
    real_urlopen = urllib.request.urlopen
    opened = []

    def loopback_only(url, *args, **kwargs):
        host = urllib.parse.urlsplit(url if isinstance(url, str) else url.full_url).hostname
        if host != "127.0.0.1":
            raise AssertionError(f"test tried to reach the network: {url}")
        opened.append(url)
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", loopback_only)
    clear_cache()
    yield SimpleNamespace(opened=opened, cache=tmp_path / "xdg-cache" / "vugrad")
    clear_cache()


@pytest.fixture
def idx():
    """The idx_bytes helper, as a fixture."""
    return idx_bytes


@pytest.fixture
def tiny(tmp_path):
    """
    A tiny MNIST-like data set, 7 training and 3 test images of 28 x 28, written as gzipped IDX
    files into <root>/tiny/. Its spec has the right md5s (of the decompressed contents).
    """
    rng = np.random.default_rng(1)
    arrays = {
        "train-images": rng.integers(0, 256, (TRAIN_N, SIDE, SIDE), dtype=np.uint8),
        "train-labels": rng.integers(0, 10, TRAIN_N, dtype=np.uint8),
        "test-images": rng.integers(0, 256, (TEST_N, SIDE, SIDE), dtype=np.uint8),
        "test-labels": rng.integers(0, 10, TEST_N, dtype=np.uint8),
    }
    arrays["train-images"][0, 0, :2] = [0, 255]  # make sure both ends of the range occur
    names = {"train-images": "train-images-idx3-ubyte.gz",
             "train-labels": "train-labels-idx1-ubyte.gz",
             "test-images": "t10k-images-idx3-ubyte.gz", "test-labels": "t10k-labels-idx1-ubyte.gz"}
    raw = {k: idx_bytes(a) for k, a in arrays.items()}
    gz = {k: gzip.compress(b, mtime=0) for k, b in raw.items()}

    root = tmp_path / "root"
    folder = root / "tiny"
    folder.mkdir(parents=True)
    for k, name in names.items():
        (folder / name).write_bytes(gz[k])

    def spec(md5_of="decompressed", mirrors=(), sizes=False, **md5_overrides):
        """sizes=True: each FileSpec knows the size of its decompressed file, as MNIST's do."""
        source = raw if md5_of == "decompressed" else gz
        md5 = {k: hashlib.md5(source[k]).hexdigest() for k in names}
        md5.update({k.replace("_", "-"): v for k, v in md5_overrides.items()})
        f = {k: FileSpec(names[k], md5[k], len(raw[k]) if sizes else None) for k in names}
        return DatasetSpec("Tiny", "tiny", f["train-images"], f["train-labels"],
                           f["test-images"], f["test-labels"], mirrors=list(mirrors),
                           md5_of=md5_of, num_val=NUM_VAL)

    return SimpleNamespace(root=root, folder=folder, arrays=arrays, names=names, raw=raw, gz=gz,
                           spec=spec)


def files_in(folder):
    """The names of all files in `folder` (hidden ones too), or [] if it does not exist."""
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def listdir():
    return files_in


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder, without logging every request."""

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """
    serve(folder, handler=QuietHandler) starts an http.server on 127.0.0.1 for `folder` and
    returns its base URL; every server started is shut down when the test ends.
    """
    started = []

    def start(folder, handler=QuietHandler):
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd, thread in started:
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
