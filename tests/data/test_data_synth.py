import numpy as np
import pytest

from vugrad.data import load_synth


def test_shapes_dtypes_and_classes():
    (x, y), (xv, yv), c = load_synth(num_train=300, num_val=100, seed=0)
    assert c == 2
    assert x.shape == (300, 2) and xv.shape == (100, 2)
    assert y.shape == (300,) and yv.shape == (100,)
    assert x.dtype == np.float32 and xv.dtype == np.float32
    assert y.dtype == np.int64 and yv.dtype == np.int64
    assert set(np.unique(np.concatenate([y, yv]))) == {0, 1}


def test_defaults_are_60k_and_10k():
    (x, y), (xv, yv), _ = load_synth(seed=1)
    assert len(x) == len(y) == 60_000 and len(xv) == len(yv) == 10_000


def test_labels_are_the_quadratic_form_above_threshold():
    (x, y), (xv, yv), _ = load_synth(num_train=500, num_val=500, seed=3, dtype=np.float64)
    allx = np.concatenate([x, xv])
    q = np.array([[1, 0.5], [1, 0.2]])
    expected = np.array([float(r @ q @ r) > 0.6 for r in allx], dtype=np.int64)
    np.testing.assert_array_equal(np.concatenate([y, yv]), expected)


def test_features_look_standard_normal():
    (x, _), _, _ = load_synth(num_train=20_000, num_val=0, seed=4, dtype=np.float64)
    assert np.all(np.abs(x.mean(axis=0)) < 0.05)
    assert np.all(np.abs(x.std(axis=0) - 1) < 0.05)


def test_seed_reproducible_and_seeds_differ():
    a = load_synth(100, 10, seed=7)
    b = load_synth(100, 10, seed=7)
    c = load_synth(100, 10, seed=8)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[0][0], c[0][0])


def test_no_seed_follows_global_numpy_state():
    np.random.seed(11)
    a = load_synth(50, 5)
    np.random.seed(11)
    b = load_synth(50, 5)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    c = load_synth(50, 5)  # the state has moved on
    assert not np.array_equal(a[0][0], c[0][0])


def test_dtype_argument_and_the_core_default():
    (x, _), _, _ = load_synth(10, 2, seed=0, dtype=np.float64)
    assert x.dtype == np.float64
    core = pytest.importorskip("vugrad.core")
    (x, _), _, _ = load_synth(10, 2, seed=0)
    assert x.dtype == np.dtype(core.get_default_dtype()) == np.float32


def test_default_dtype_follows_set_default_dtype():
    core = pytest.importorskip("vugrad.core")
    if not hasattr(core, "set_default_dtype"):
        pytest.skip("vugrad.core.set_default_dtype not there")
    old = core.get_default_dtype()
    core.set_default_dtype(np.float64)
    try:
        (x, _), _, _ = load_synth(10, 2, seed=0)
    finally:
        core.set_default_dtype(old)
    assert x.dtype == np.float64


@pytest.mark.parametrize("bad", [{"dtype": np.int32}, {"num_train": -1}, {"num_val": 2.5}])
def test_bad_arguments(bad):
    with pytest.raises((TypeError, ValueError)):
        load_synth(**{"num_train": 10, "num_val": 2, **bad})
