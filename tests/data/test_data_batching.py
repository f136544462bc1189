import numpy as np
import pytest

from vugrad.data import DataLoader, batches


def data(n=103):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n)


def seen(iterable):
    """The y values in batch order, checking that x and y stay paired."""
    out = []
    for xb, yb in iterable:
        np.testing.assert_array_equal(xb[:, 0], yb * 3)
        out.append(yb)
    return out


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_instance_once_per_epoch(shuffle):
    x, y = data()
    got = seen(batches(x, y, batch_size=10, shuffle=shuffle, seed=0))
    assert [len(b) for b in got] == [10] * 10 + [3]
    assert sorted(np.concatenate(got).tolist()) == list(range(103))
    assert (np.concatenate(got).tolist() == list(range(103))) == (not shuffle)


def test_drop_last():
    x, y = data()
    got = seen(batches(x, y, batch_size=10, seed=0, drop_last=True))
    assert [len(b) for b in got] == [10] * 10
    assert len(set(np.concatenate(got).tolist())) == 100


def test_seed_is_reproducible_and_seeds_differ():
    x, y = data()
    a = np.concatenate(seen(batches(x, y, 16, seed=5)))
    b = np.concatenate(seen(batches(x, y, 16, seed=5)))
    c = np.concatenate(seen(batches(x, y, 16, seed=6)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_without_seed_follows_global_numpy_state():
    x, y = data()
    np.random.seed(2)
    a = np.concatenate(seen(batches(x, y, 16)))
    np.random.seed(2)
    b = np.concatenate(seen(batches(x, y, 16)))
    np.testing.assert_array_equal(a, b)


def test_batch_larger_than_data_and_empty_data():
    x, y = data(5)
    assert [len(b) for b in seen(batches(x, y, 128))] == [5]
    assert list(batches(x, y, 128, drop_last=True)) == []
    assert list(batches(x[:0], y[:0], 4)) == []


def test_bad_arguments_fail_at_the_call():
    x, y = data()
    with pytest.raises(ValueError, match="same number"):
        batches(x, y[:-1])
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            batches(x, y, batch_size=bad)


def test_dataloader_len_and_epochs():
    x, y = data()
    loader = DataLoader(x, y, batch_size=10, seed=3)
    assert len(loader) == 11 and len(DataLoader(x, y, 10, drop_last=True)) == 10
    e0 = np.concatenate(seen(loader))
    e1 = np.concatenate(seen(loader))
    assert loader.epoch == 2
    assert sorted(e0.tolist()) == sorted(e1.tolist()) == list(range(103))
    assert not np.array_equal(e0, e1)  # a new order each epoch

    again = DataLoader(x, y, batch_size=10, seed=3)
    np.testing.assert_array_equal(np.concatenate(seen(again)), e0)
    again.set_epoch(1)
    np.testing.assert_array_equal(np.concatenate(seen(again)), e1)


def test_dataloader_without_shuffle_keeps_order():
    x, y = data()
    loader = DataLoader(x, y, batch_size=50, shuffle=False)
    for _ in range(2):
        assert np.concatenate(seen(loader)).tolist() == list(range(103))


def test_dataloader_rejects_bad_seed():
    x, y = data()
    with pytest.raises(ValueError, match="seed"):
        DataLoader(x, y, seed=-1)
