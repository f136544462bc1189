"""
The real MNIST files, from $VUGRAD_DATA, else shared/data beside the repository (see the
`real_data` fixture in conftest.py). Skipped where absent; with VUGRAD_REQUIRE_DATA=1 (as in
CI) they fail instead.
"""

import numpy as np
import pytest

import vugrad.data.mnist as mnist_module
from vugrad.data import load_mnist

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def env(monkeypatch, isolated, real_data):
    monkeypatch.setenv("VUGRAD_DATA", str(real_data))
    yield isolated
    assert isolated.opened == []  # nothing was downloaded
    assert not isolated.cache.exists()  # nor written to the cache


def test_train_and_validation_split(env):
    (x, y), (xv, yv), c = load_mnist()
    assert c == 10
    assert x.shape == (55_000, 784) and xv.shape == (5_000, 784)
    assert x.dtype == np.float32 and xv.dtype == np.float32
    assert y.dtype == np.int64 and yv.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 255.0 and xv.min() == 0.0 and xv.max() == 255.0
    (xu, _), _, _ = load_mnist(pixels='unit')
    np.testing.assert_allclose(xu * 255, x, rtol=1e-6)
    assert np.bincount(y, minlength=10).sum() == 55_000
    np.testing.assert_array_equal(np.bincount(y, minlength=10) + np.bincount(yv, minlength=10),
                                  TRAIN_COUNTS)
    np.testing.assert_array_equal(y[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])


def test_final_train_and_test(env):
    (x, y), (xt, yt), _ = load_mnist(final=True, flatten=False)
    assert x.shape == (60_000, 1, 28, 28) and xt.shape == (10_000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(y, minlength=10), TRAIN_COUNTS)
    np.testing.assert_array_equal(np.bincount(yt, minlength=10), TEST_COUNTS)
    np.testing.assert_array_equal(yt[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    assert 0.12 * 255 < x.mean() < 0.14 * 255  # MNIST's mean pixel is about 0.1307 x 255


def test_data_dir_argument_and_float64(monkeypatch, isolated, real_data):
    monkeypatch.delenv("VUGRAD_DATA", raising=False)
    (x, _), (xv, _), _ = load_mnist(data_dir=real_data, dtype=np.float64)
    assert x.dtype == np.float64 and xv.shape == (5_000, 784)
    assert isolated.opened == []


def test_loading_again_reads_no_file(env, monkeypatch):
    load_mnist(final=True)

    def no_reading(path, *args):
        raise AssertionError(f"{path} was read again instead of taken from memory")

    monkeypatch.setattr(mnist_module, "_read_checked", no_reading)
    (x, _), (xt, _), _ = load_mnist(final=True)  # -- all four files come from memory
    assert x.shape == (60_000, 784) and xt.shape == (10_000, 784)
