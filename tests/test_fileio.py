"""vugrad.fileio: .npz checkpoints are checked from their headers before any array is read."""

import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

import vugrad as vg
from vugrad.errors import InputTypeError, InvalidArgumentError, ShapeError
from vugrad.fileio import load_arrays, save_arrays
from vugrad.nn import MLP


def npy_bytes(shape, descr='<f4', data=b''):
    """An .npy file whose header says `shape` of `descr`, followed by `data` (any length)."""
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {'descr': descr, 'fortran_order': False,
                                             'shape': tuple(shape)})
    return f.getvalue() + data


def write_npz(path, members, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, 'w', compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.fixture
def no_reading(monkeypatch):
    """Make reading any array's data fail: the checks must come from the headers alone."""
    def read_array(*args, **kwargs):
        raise AssertionError('array data was read before the headers were checked')

    monkeypatch.setattr(np.lib.format, 'read_array', read_array)


def state(model):
    return {n: p.value.copy() for n, p in model.named_parameters()}


def test_round_trip_with_and_without_expected(tmp_path):
    arrays = {'w': np.arange(6, dtype=np.float32).reshape(2, 3), 'n': np.array(3, np.int64)}
    path = tmp_path / 'a.npz'
    save_arrays(path, arrays)
    for expected in (None, {'w': ((2, 3), 'f'), 'n': ((), np.int64)},
                     {'w': ((2, 3), None), 'n': ((), 'biuf')}):
        got = load_arrays(path, expected)
        assert set(got) == {'w', 'n'}
        np.testing.assert_array_equal(got['w'], arrays['w'])
        assert got['w'].dtype == np.float32 and got['n'] == 3


def test_a_huge_array_claimed_by_a_tiny_file_is_refused_from_its_header(tmp_path, no_reading):
    m = MLP(4, 3, hidden=6)
    members = {f'{n}.npy': npy_bytes(p.value.shape, data=p.value.astype('<f4').tobytes())
               for n, p in m.named_parameters()}
    # -- 2 GiB of float32 claimed; 8 bytes stored
    members['output.w.npy'] = npy_bytes((1 << 29,), data=bytes(8))
    path = write_npz(tmp_path / 'bad.npz', members)
    assert path.stat().st_size < 4096
    before = state(m)
    with pytest.raises(ShapeError, match=r'output\.w has shape \(536870912,\)'):
        m.load(path)
    with pytest.raises(InputTypeError, match='2147483648 bytes'):   # -- header against size
        load_arrays(path)
    for n, p in m.named_parameters():
        np.testing.assert_array_equal(p.value, before[n])


def test_a_compressed_checkpoint_that_expands_to_a_big_array_costs_nothing(tmp_path):
    m = MLP(4, 3, hidden=6)
    arrays = state(m)
    arrays['output.w'] = np.zeros((4 << 20, 3), np.float32)    # 48 MB of zeros, 50 kB zipped
    path = tmp_path / 'bomb.npz'
    np.savez_compressed(path, **arrays)
    del arrays
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ShapeError, match='output.w'):
            m.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20      # -- not the 48 MB the array holds


def test_missing_and_unexpected_names_are_refused_before_reading(tmp_path, no_reading):
    m = MLP(4, 3, hidden=6)
    arrays = state(m)
    arrays['extra'] = arrays.pop('output.b')
    path = tmp_path / 'renamed.npz'
    np.savez(path, **arrays)
    with pytest.raises(InvalidArgumentError) as e:
        m.load(path)
    message = str(e.value)
    assert "missing keys ['output.b']" in message and "unexpected keys ['extra']" in message
    assert str(path) in message and 'strict=False' in message


def test_strict_false_reads_only_the_arrays_it_needs(tmp_path, monkeypatch):
    m = MLP(4, 3, hidden=6)
    arrays = {'output.b': np.ones((1, 3), np.float64), 'extra': np.zeros(5)}
    path = tmp_path / 'partial.npz'
    np.savez(path, **arrays)
    read = []
    real = np.lib.format.read_array

    def counting(f, *args, **kwargs):
        array = real(f, *args, **kwargs)
        read.append(array.shape)
        return array

    monkeypatch.setattr(np.lib.format, 'read_array', counting)
    m.load(path, strict=False)
    assert read == [(1, 3)]         # -- 'extra' was never read
    np.testing.assert_array_equal(m.output.b.value, np.ones((1, 3)))
    assert m.output.b.value.dtype == np.float32
    bad = tmp_path / 'bad.npz'
    np.savez(bad, **{'output.b': np.ones((2, 3))})
    with pytest.raises(ShapeError):     # -- shapes count even without strict
        m.load(bad, strict=False)


def test_object_arrays_are_refused_from_their_header(tmp_path, no_reading):
    path = tmp_path / 'objects.npz'
    np.savez(path, w=np.array([{'a': 1}, None], dtype=object))
    with pytest.raises(InputTypeError, match='Python objects'):
        load_arrays(path)


def test_dtypes_are_checked(tmp_path, no_reading):
    path = tmp_path / 'ints.npz'
    np.savez(path, w=np.zeros((2, 2), np.int32), s=np.array(['a']))
    with pytest.raises(InputTypeError, match="int32 values .* dtype kind 'f'"):
        load_arrays(path, {'w': ((2, 2), 'f'), 's': ((1,), None)})
    with pytest.raises(InputTypeError, match='float32 are expected'):
        load_arrays(path, {'w': ((2, 2), np.float32), 's': ((1,), None)})
    with pytest.raises(InputTypeError, match='numbers are expected'):
        load_arrays(path, {'w': ((2, 2), 'i'), 's': ((1,), None)})


def test_files_that_are_not_npz_archives(tmp_path):
    text = tmp_path / 'notes.npz'
    text.write_text('not an archive')
    with pytest.raises(InputTypeError, match='not an .npz archive'):
        load_arrays(text)
    np.save(tmp_path / 'w.npy', np.zeros(3))
    with pytest.raises(InputTypeError, match='single array'):
        load_arrays(tmp_path / 'w.npy')
    other = write_npz(tmp_path / 'other.npz', {'readme.txt': b'hello'})
    with pytest.raises(InputTypeError, match="'readme.txt' is not an .npy array"):
        load_arrays(other)
    broken = write_npz(tmp_path / 'broken.npz', {'w.npy': b'\x93NUMPY\x01\x00garbage'})
    with pytest.raises(InputTypeError, match="'w' has no valid .npy header"):
        load_arrays(broken)
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / 'nothing.npz')
    assert issubclass(InputTypeError, vg.errors.VugradError)


def test_truncated_and_padded_array_data(tmp_path):
    short = write_npz(tmp_path / 'short.npz', {'w.npy': npy_bytes((4,), data=bytes(12))})
    with pytest.raises(InputTypeError, match=r"'w' has a header that says shape \(4,\)"):
        load_arrays(short)
    long = write_npz(tmp_path / 'long.npz', {'w.npy': npy_bytes((4,), data=bytes(20))})
    with pytest.raises(InputTypeError, match='20 bytes of data'):
        load_arrays(long)
    good = write_npz(tmp_path / 'good.npz', {'w.npy': npy_bytes((4,), data=bytes(16))},
                     zipfile.ZIP_DEFLATED)
    np.testing.assert_array_equal(load_arrays(good)['w'], np.zeros(4, np.float32))


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys
    target = tmp_path / 'params.npz'
    # -- a writer killed mid-write (SIGKILL): its temporary file stays, named with its pid
    code = ('import os, sys, numpy as np; from vugrad.fileio import atomic_write\n'
            f'with atomic_write({str(target)!r}, "wb", suffix=".npz.tmp") as f:\n'
            '    f.write(b"half"); f.flush(); print("writing", flush=True)\n'
            '    os.kill(os.getpid(), 9)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9 and 'writing' in proc.stdout
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith('.params.npz.') and not target.exists()
    # -- a live writer's temporary file is left alone
    live = tmp_path / f'.params.npz.{os.getpid()}.abc.npz.tmp'
    live.write_bytes(b'in progress')
    save_arrays(target, {'w': np.ones(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(['params.npz', live.name])
    assert load_arrays(target)['w'].tolist() == [1.0, 1.0]
