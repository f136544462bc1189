"""The lock of a sweep's folder (vugrad.lab.sweep.lock): one sweep at a time in a folder."""

import json
import os
import subprocess
import sys
import time

import pytest

from vugrad.lab.cli import main
from vugrad.lab.sweep import LOCK_NAME, SweepLockedError, driver, run_sweep

TINY = {'data': 'synth', 'num_train': 200, 'num_val': 100, 'epochs': 1, 'hidden': 8,
        'batch_size': 50}


def hold_lock(out, pid, started='2024-05-01 10:00:00', host=None):
    """Write the lock file a sweep writes, as the process `pid` would."""
    import socket
    out.mkdir(parents=True, exist_ok=True)
    (out / LOCK_NAME).write_text(json.dumps(
        {'pid': pid, 'host': host or socket.gethostname(), 'started': started}))


def dead_pid():
    """The pid of a process that has ended (and been waited for)."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait(timeout=60)
    return proc.pid


def test_a_second_sweep_into_a_locked_folder_fails_at_once(tmp_path, capsys):
    out = tmp_path / 'busy'
    second = []

    def log(line):
        if not second:     # -- the first sweep holds the lock now: start a second one
            with pytest.raises(SweepLockedError) as e:
                run_sweep(str(out), fixed=TINY, seeds=1, log=None)
            second.append(str(e.value))
    results = run_sweep(str(out), fixed=TINY, seeds=1, log=log)
    assert [r['status'] for r in results] == ['ok']
    assert f'pid {os.getpid()}' in second[0] and 'started' in second[0]
    assert not (out / LOCK_NAME).exists()                    # -- released at the end

    # -- a sweep (this process, alive) holds the folder: the command says who, and exits 2
    hold_lock(out, os.getpid())
    before = sorted(os.listdir(out))
    start = time.monotonic()
    assert main(['sweep', '-D', 'synth', '--num-train', '200', '--num-val', '100', '-e', '2',
                 '--hidden', '8', '--out', str(out)]) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert f'pid {os.getpid()}' in err and 'started 2024-05-01 10:00:00' in err
    assert str(out / LOCK_NAME) in err
    assert sorted(os.listdir(out)) == before                 # -- nothing deleted or written
    assert json.loads((out / LOCK_NAME).read_text())['pid'] == os.getpid()


def test_a_lock_held_on_another_host_is_respected(tmp_path):
    out = tmp_path / 'shared'
    hold_lock(out, dead_pid(), host='some-other-host.example')
    with pytest.raises(SweepLockedError, match='some-other-host.example'):
        run_sweep(str(out), fixed=TINY, seeds=1, log=None)


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path):
    out = tmp_path / 'stale'
    pid = dead_pid()
    hold_lock(out, pid)
    lines = []
    results = run_sweep(str(out), fixed=TINY, seeds=1, log=lines.append)
    assert [r['status'] for r in results] == ['ok']
    assert any('stale' in line and f'pid {pid}' in line for line in lines), lines
    assert not (out / LOCK_NAME).exists()


@pytest.mark.parametrize('error', [RuntimeError('disk on fire'), KeyboardInterrupt()])
def test_the_lock_is_released_on_errors_and_ctrl_c(tmp_path, monkeypatch, error):
    out = tmp_path / 'error'

    def fail(path, data):
        assert (out / LOCK_NAME).exists()
        raise error
    monkeypatch.setattr(driver, 'write_json', fail)   # -- sweep.json
    with pytest.raises(type(error)):
        run_sweep(str(out), fixed=TINY, seeds=1, log=None)
    assert not (out / LOCK_NAME).exists()


def test_a_dry_run_takes_no_lock(tmp_path):
    out = tmp_path / 'dry'
    hold_lock(out, os.getpid())
    results = run_sweep(str(out), fixed=TINY, seeds=1, dry_run=True, log=None)
    assert [r['status'] for r in results] == ['pending']


def test_the_lock_has_one_holder_at_a_time(tmp_path):
    from vugrad.lab.sweep import folder_lock
    with folder_lock(tmp_path, log=None) as path:
        assert json.loads(open(path).read())['pid'] == os.getpid()
        with pytest.raises(SweepLockedError, match='in use by another sweep'):
            with folder_lock(tmp_path, log=None):
                pass
        assert os.path.exists(path)          # -- the refused second holder removed nothing
    assert not (tmp_path / LOCK_NAME).exists()


def test_an_old_unreadable_lock_is_taken_over(tmp_path):
    from vugrad.lab.sweep import folder_lock
    (tmp_path / LOCK_NAME).write_text('{"pid": 1')      # -- cut short by a crash, long ago
    os.utime(tmp_path / LOCK_NAME, (time.time() - 60, time.time() - 60))
    lines = []
    with folder_lock(tmp_path, log=lines.append) as path:
        assert json.loads(open(path).read())['pid'] == os.getpid()
    assert lines == ['## took over the stale lock of a sweep that is gone (an unreadable lock '
                     'file)']


def test_plot_refuses_a_folder_that_a_sweep_runs_into(tmp_path, capsys):
    from vugrad.lab.sweep import make_grid
    out = tmp_path / 'busy'
    for index, (id_, settings) in enumerate(make_grid(TINY, seeds=2)):
        (out / id_).mkdir(parents=True)
        (out / id_ / 'metrics.json').write_text(json.dumps({
            'id': id_, 'index': index, 'status': 'ok', 'config': settings, 'metrics': [
                {'epoch': 1, 'train_loss': 0.5, 'val_loss': 0.5, 'val_acc': 0.9,
                 'seconds': 1.0, 'lr': 0.01}]}))
    hold_lock(out, os.getpid())
    before = sorted(os.listdir(out))
    assert main(['plot', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('vugrad: error: ') and len(err.splitlines()) == 1
    assert f'pid {os.getpid()}' in err and 'started 2024-05-01 10:00:00' in err
    assert str(out / LOCK_NAME) in err
    assert sorted(os.listdir(out)) == before                 # -- nothing written
    assert json.loads((out / LOCK_NAME).read_text())['pid'] == os.getpid()

    # -- the sweep is gone: plot takes its stale lock over, draws, and lets go
    hold_lock(out, dead_pid())
    assert main(['plot', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'took over the stale lock' in printed
    assert {'metrics.csv', 'curves.png', 'report.md'} <= set(os.listdir(out))
    assert not (out / LOCK_NAME).exists()


def test_the_lock_is_released_only_by_its_holder(tmp_path):
    from vugrad.lab.sweep import folder_lock
    with folder_lock(tmp_path, log=None):
        # -- meanwhile the lock file was deleted by hand, and another sweep took the folder:
        #    the lock stays that sweep's
        (tmp_path / LOCK_NAME).unlink()
        hold_lock(tmp_path, os.getppid(), started='2024-05-02 11:00:00')
    assert json.loads((tmp_path / LOCK_NAME).read_text())['pid'] == os.getppid()


@pytest.mark.skipif(not os.path.isdir('/proc/self'), reason='needs Linux /proc')
def test_a_holder_that_ended_but_was_not_reaped_counts_as_gone(tmp_path):
    from vugrad.lab.sweep import folder_lock
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:      # -- until it is a zombie (not waited for yet)
            with open(f'/proc/{proc.pid}/stat') as f:
                if f.read().rpartition(')')[2].split()[0] == 'Z':
                    break
            time.sleep(0.01)
        hold_lock(tmp_path, proc.pid)
        lines = []
        with folder_lock(tmp_path, log=lines.append) as path:
            assert json.loads(open(path).read())['pid'] == os.getpid()
        assert len(lines) == 1 and 'stale' in lines[0] and f'pid {proc.pid}' in lines[0]
    finally:
        proc.wait(timeout=60)
