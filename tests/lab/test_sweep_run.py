"""Sweeps that run (vugrad.lab.sweep: driver, runs, pool): tiny synthetic runs, one epoch,
two at a time."""

import contextlib
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from vugrad.fileio import write_json
from vugrad.lab.cli import main
from vugrad.lab.report import group_runs, load_runs, plot_curves
from vugrad.lab.sweep import (LOCK_NAME, SweepError, make_grid, outcome, run_sweep, run_task,
                              start_run)

TINY = {'data': 'synth', 'num_train': 200, 'num_val': 100, 'epochs': 1, 'hidden': 8,
        'batch_size': 50}
VARY = {'activation': ['sigmoid', 'relu']}
IDS = ['activation=sigmoid,seed=0', 'activation=sigmoid,seed=1', 'activation=relu,seed=0',
       'activation=relu,seed=1']


class HerePool:
    """
    A pool that runs each run in this process, in the order it is given them (train=True:
    run_task; else a finished metrics.json of one epoch, written at once), recording their ids.
    """

    stopped = 'its runs were stopped'

    def __init__(self, train=False):
        self.train, self.ran = train, []

    def describe(self, count):
        return 'here, one at a time'

    def open(self, log):
        pass

    def close(self):
        pass

    def run(self, tasks, done):
        for task in tasks:
            self.ran.append(task['id'])
            start_run(task)
            if self.train:
                run_task(task)
            else:
                write_json(os.path.join(task['folder'], 'metrics.json'), {
                    'id': task['id'], 'index': task['index'], 'status': 'ok',
                    'config': task['settings'], 'metrics': [
                        {'epoch': 1, 'train_loss': 0.5, 'val_loss': 0.5, 'val_acc': 0.9,
                         'seconds': 0.1, 'lr': task['settings']['lr']}]})
            done(task, *outcome(task, 0), 0.0)


@pytest.fixture(scope='module')
def sweep(tmp_path_factory):
    """Two configurations x two seeds, run once for the module: (folder, results, log lines)."""
    out = tmp_path_factory.mktemp('sweep') / 'q9'
    lines = []
    results = run_sweep(str(out), fixed=TINY, vary=VARY, seeds=2, jobs=2, log=lines.append)
    return out, results, lines


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_a_sweep_writes_every_file(sweep):
    out, results, lines = sweep
    assert [r['id'] for r in results] == IDS
    assert all(r['status'] == 'ok' for r in results)
    for id_ in IDS:
        for name in ('config.json', 'metrics.json', 'log.txt'):
            assert (out / id_ / name).is_file()
        assert not (out / id_ / 'error.txt').exists()
    for name in ('metrics.csv', 'curves.png', 'report.md', 'sweep.json'):
        assert (out / name).is_file()
    assert sum('ok' in line and 'val acc' in line for line in lines) == 4


def test_the_metrics_files_hold_the_config_and_one_row_per_epoch(sweep):
    out, _, _ = sweep
    data = json.loads((out / 'activation=relu,seed=1' / 'metrics.json').read_text())
    assert data['status'] == 'ok'
    assert data['config']['activation'] == 'relu' and data['config']['seed'] == 1
    assert data['config']['num_train'] == 200 and data['config']['backend'] == 'vugrad'
    assert [row['epoch'] for row in data['metrics']] == [1]
    assert set(data['metrics'][0]) >= {'train_loss', 'val_loss', 'val_acc', 'seconds', 'lr'}


def test_the_csv_has_a_row_per_run_and_epoch(sweep):
    out, _, _ = sweep
    rows = read_csv(out / 'metrics.csv')
    assert len(rows) == 4
    assert [r['run'] for r in rows] == IDS
    assert {(r['activation'], r['seed']) for r in rows} == {
        ('sigmoid', '0'), ('sigmoid', '1'), ('relu', '0'), ('relu', '1')}
    for row in rows:
        assert row['status'] == 'ok' and row['backend'] == 'vugrad' and row['epoch'] == '1'
        assert row['num_train'] == '200' and row['error'] == ''
        assert 0.0 <= float(row['val_acc']) <= 1.0
        assert float(row['train_loss']) > 0 and float(row['val_loss']) > 0
        assert float(row['seconds']) > 0 and float(row['epoch_lr']) == float(row['lr'])


def test_the_plot_has_one_line_per_configuration(sweep):
    out, _, _ = sweep
    from matplotlib.image import imread
    image = imread(out / 'curves.png')
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400

    fig = plot_curves(group_runs(load_runs(out)))
    acc_ax, loss_ax = fig.axes[:2]
    for ax in (acc_ax, loss_ax):
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ['activation=sigmoid', 'activation=relu']
        assert ax.get_xlabel() == 'epoch'
        assert len(ax.collections) == 2        # -- the spread over two seeds, shaded
    assert acc_ax.get_ylabel() == 'validation accuracy'
    assert 'training loss' in loss_ax.get_ylabel()
    legend = fig.legends[0] if fig.legends else acc_ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ['activation=sigmoid', 'activation=relu']
    # -- the plotted means are the means over the seeds
    rows = read_csv(out / 'metrics.csv')
    mean_relu = sum(float(r['val_acc']) for r in rows if r['activation'] == 'relu') / 2
    assert acc_ax.get_lines()[1].get_ydata()[0] == pytest.approx(mean_relu)


def test_the_report_has_the_table_and_the_plot(sweep):
    out, _, _ = sweep
    text = (out / 'report.md').read_text()
    assert '![' in text and '(curves.png)' in text
    assert '| activation | runs | final val. acc. (%)' in text
    rows = [line for line in text.splitlines() if line.startswith(('| sigmoid', '| relu'))]
    assert len(rows) == 2 and all(' ± ' in row for row in rows)


def test_plot_remakes_the_outputs_from_the_metrics_files(sweep, tmp_path, capsys):
    out, _, _ = sweep
    before = (out / 'metrics.csv').read_text()
    copy = tmp_path / 'copy'
    copy.mkdir()
    for id_ in IDS:      # -- only the metrics files
        (copy / id_).mkdir()
        (copy / id_ / 'metrics.json').write_text((out / id_ / 'metrics.json').read_text())
    assert main(['plot', str(copy)]) == 0
    assert (copy / 'metrics.csv').read_text() == before
    assert (copy / 'curves.png').stat().st_size > 0
    assert '| relu |' in (copy / 'report.md').read_text()
    assert main(['plot', str(tmp_path / 'missing')]) == 2
    capsys.readouterr()


def test_a_sweep_resumes_and_skips_finished_runs(sweep):
    out, _, _ = sweep
    mtimes = {i: os.stat(out / i / 'metrics.json').st_mtime_ns for i in IDS}
    (out / 'activation=relu,seed=1' / 'metrics.json').unlink()   # -- as if interrupted
    lines = []
    results = run_sweep(str(out), fixed=TINY, vary=VARY, seeds=2, jobs=2, log=lines.append)
    assert [r['status'] for r in results] == ['skipped', 'skipped', 'skipped', 'ok']
    for id_ in IDS[:3]:
        assert os.stat(out / id_ / 'metrics.json').st_mtime_ns == mtimes[id_]
        assert f'## skipped (finished): {id_}' in lines
    assert (out / 'activation=relu,seed=1' / 'metrics.json').is_file()
    assert not any('activation=sigmoid' in line and 'val acc' in line for line in lines)
    assert len(read_csv(out / 'metrics.csv')) == 4

    # -- a finished run with other settings is not silently reused
    with pytest.raises(SweepError, match='other settings'):
        run_sweep(str(out), fixed={**TINY, 'epochs': 2}, vary=VARY, seeds=2, log=None)


def test_numbers_in_folder_names_resume(tmp_path):
    """A sweep run again finds its finished runs, whatever numbers name their folders."""
    out = tmp_path / 'numbers'
    vary = {'lr': [1e-05, 0.1 + 0.2, 0.5, 1e10, 1e30, 123456789.5],
            'batch_size': [7, 10 ** 7]}
    first = HerePool()
    results = run_sweep(str(out), fixed=TINY, vary=vary, log=None, pool=first)
    assert [r['status'] for r in results] == ['ok'] * 12
    names = sorted(os.listdir(out))
    assert 'lr=1e+10,batch_size=10000000,seed=0' in names
    assert 'lr=0.30000000000000004,batch_size=7,seed=0' in names
    again = HerePool()
    results = run_sweep(str(out), fixed=TINY, vary=vary, log=None, pool=again)
    assert [r['status'] for r in results] == ['skipped'] * 12 and again.ran == []
    assert sorted(os.listdir(out)) == names

    # -- a folder named as vugrad 0.2 named it (10000000000.0, not 1e+10) is found too
    os.rename(out / 'lr=1e+10,batch_size=7,seed=0', out / 'lr=10000000000.0,batch_size=7,seed=0')
    results = run_sweep(str(out), fixed=TINY, vary=vary, log=None, pool=again)
    assert [r['status'] for r in results] == ['skipped'] * 12 and again.ran == []
    assert 'lr=10000000000.0,batch_size=7,seed=0' in [r['id'] for r in results]
    assert not (out / 'lr=1e+10,batch_size=7,seed=0').exists()


def test_the_first_seed_of_every_configuration_runs_first(tmp_path):
    out = tmp_path / 'order'
    vary = {'activation': ['sigmoid', 'relu'], 'init': ['glorot', 'normal']}
    pool = HerePool()
    results = run_sweep(str(out), fixed=TINY, vary=vary, seeds=[3, 1, 2], log=None, pool=pool)
    grid = [r['id'] for r in results]                    # -- the grid's order: seeds innermost
    assert grid[:3] == ['activation=sigmoid,init=glorot,seed=3',
                        'activation=sigmoid,init=glorot,seed=1',
                        'activation=sigmoid,init=glorot,seed=2']
    configurations = grid[::3]
    assert pool.ran == [c.replace('seed=3', f'seed={s}') for s in (3, 1, 2)
                        for c in configurations]
    # -- resumed: the runs left, in the same order
    for id_ in pool.ran[1::2]:
        (out / id_ / 'metrics.json').unlink()
    again = HerePool()
    run_sweep(str(out), fixed=TINY, vary=vary, seeds=[3, 1, 2], log=None, pool=again)
    assert again.ran == pool.ran[1::2]


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path):
    # -- settings that cannot work are refused before any run (check_sweep); a run fails when
    #    its process does: here the relu run cannot save its parameters (a folder is in the way)
    out = tmp_path / 'failing'
    (out / 'activation=relu,seed=0' / 'params.npz').mkdir(parents=True)
    lines = []
    results = run_sweep(str(out), fixed=TINY, vary={'activation': ['sigmoid', 'relu']},
                        seeds=1, jobs=2, save='params.npz', log=lines.append)
    assert [r['status'] for r in results] == ['ok', 'failed']
    assert 'params.npz' in results[1]['message']
    error = (out / 'activation=relu,seed=0' / 'error.txt').read_text()
    assert 'Traceback' in error and 'params.npz' in error
    assert not (out / 'activation=relu,seed=0' / 'metrics.json').exists()
    assert (out / 'activation=sigmoid,seed=0' / 'metrics.json').is_file()
    assert (out / 'activation=sigmoid,seed=0' / 'params.npz').is_file()
    rows = read_csv(out / 'metrics.csv')
    assert [(r['activation'], r['status']) for r in rows] == [('sigmoid', 'ok'),
                                                             ('relu', 'failed')]
    assert 'params.npz' in rows[1]['error'] and rows[1]['epoch'] == ''
    report = (out / 'report.md').read_text()
    assert '## Failed runs (1)' in report and 'activation=relu,seed=0' in report
    assert any('FAILED' in line and 'params.npz' in line for line in lines)
    # -- the command says so in its exit status
    # -- and from the command line, which resumes: the failed run runs again, and fails
    assert main(['sweep', '-D', 'synth', '--num-train', '200', '--num-val', '100', '-e', '1',
                 '--hidden', '8', '-b', '50', '--vary', 'activation=sigmoid,relu',
                 '--save', 'params.npz', '--out', str(out), '-j', '2']) == 1
    assert (out / 'activation=relu,seed=0' / 'error.txt').is_file()


def test_a_failed_run_that_runs_again_keeps_no_error_txt(tmp_path):
    out = tmp_path / 'again'
    (id_, settings), = make_grid(TINY)
    (out / id_).mkdir(parents=True)
    write_json(out / id_ / 'config.json', {'id': id_, 'index': 0, 'config': settings})
    (out / id_ / 'error.txt').write_text('Traceback (most recent call last):\nOSError: full\n')
    assert [r['status'] for r in load_runs(out)] == ['failed']
    results = run_sweep(str(out), fixed=TINY, jobs=1, log=None)     # -- in a process of its own
    assert [r['status'] for r in results] == ['ok']
    assert sorted(os.listdir(out / id_)) == ['config.json', 'log.txt', 'metrics.json']
    assert [r['status'] for r in load_runs(out)] == ['ok']
    assert 'Failed runs' not in (out / 'report.md').read_text()


def test_a_run_whose_process_dies_is_recorded(tmp_path):
    folder = tmp_path / 'run'
    folder.mkdir()
    status, message = outcome({'folder': str(folder)}, -9)
    assert status == 'failed' and 'exit code -9' in message
    assert 'exit code -9' in (folder / 'error.txt').read_text()


# ---------------------------------------------------------------------- signals and workers

def _children(pid):
    """The pids of the processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rpartition(')')[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rpartition(')')[2].split()[0] not in ('Z', 'X')
    except OSError:
        return False


def _start_sweep(out):
    """A sweep in a subprocess whose two runs take minutes; returns (process, worker pids)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'vugrad.lab.cli', 'sweep', '-D', 'synth', '--num-train', '2000',
         '--num-val', '100', '-e', '100000', '--hidden', '8', '-b', '50', '--seeds', '2', '-j',
         '2', '--threads', '1', '--out', str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    deadline = time.monotonic() + 120
    logs = [out / f'seed={s}' / 'log.txt' for s in (0, 1)]
    while proc.poll() is None and time.monotonic() < deadline:
        if all(log.exists() and '## starting training' in log.read_text() for log in logs):
            break
        time.sleep(0.1)
    workers = [pid for pid in _children(proc.pid) if _is_worker(pid)]
    return proc, workers


def _is_worker(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return b'spawn_main' in f.read()
    except OSError:
        return False


def _gone_within(pids, seconds):
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _kill_all(proc, pids):
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


needs_proc = pytest.mark.skipif(not os.path.isdir('/proc/self'), reason='needs Linux /proc')


@needs_proc
def test_workers_die_with_a_killed_sweep(tmp_path):
    proc, workers = _start_sweep(tmp_path / 'killed')
    try:
        assert proc.poll() is None and len(workers) == 2, proc.communicate(timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert _gone_within(workers, 10) == []
    finally:
        _kill_all(proc, workers)


@needs_proc
def test_a_sweep_stopped_by_sigterm_stops_its_workers_and_says_so(tmp_path):
    out = tmp_path / 'terminated'
    proc, workers = _start_sweep(out)
    try:
        assert proc.poll() is None and len(workers) == 2, proc.communicate(timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert err.strip().splitlines()[-1] == 'vugrad: stopped by SIGTERM'
        assert 'Traceback' not in err
        assert _gone_within(workers, 10) == []
        assert not (out / LOCK_NAME).exists()
        assert not [p for p in out.rglob('.*.tmp')]
        assert (out / 'report.md').is_file()
    finally:
        _kill_all(proc, workers)


# ---------------------------------------------------------------------- atomic writes

def _renames(monkeypatch):
    """Record every os.replace (the last step of vugrad.fileio.atomic_write): its targets."""
    targets, replace = [], os.replace

    def recording(source, target, **kwargs):
        replace(source, target, **kwargs)
        targets.append(os.path.abspath(target))
    monkeypatch.setattr(os, 'replace', recording)
    return targets


def test_every_file_of_a_sweep_is_written_whole_then_renamed(tmp_path, monkeypatch):
    out = tmp_path / 'atomic'
    renamed = _renames(monkeypatch)
    results = run_sweep(str(out), fixed=TINY, seeds=1, save='params.npz', log=None,
                        pool=HerePool(train=True))
    assert [r['status'] for r in results] == ['ok']
    written = {p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file()}
    assert written == {'sweep.json', 'metrics.csv', 'curves.png', 'report.md',
                       'seed=0/config.json', 'seed=0/metrics.json', 'seed=0/params.npz',
                       'seed=0/log.txt'}
    # -- log.txt grows as the run goes; every other file appears whole, under its name
    assert {name for name in written if str(out / name) not in renamed} == {'seed=0/log.txt'}


def test_a_json_file_whose_rename_fails_is_left_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / 'metrics.json'
    write_json(path, {'epochs': 1})

    def fail(source, target, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'replace', fail)
    with pytest.raises(OSError, match='No space left'):
        write_json(path, {'epochs': 2, 'more': list(range(1000))})
    assert json.loads(path.read_text()) == {'epochs': 1}
    assert os.listdir(tmp_path) == ['metrics.json']          # -- no temporary file left


# ---------------------------------------------------------------------- strict JSON

def _strict(text):
    def refuse(constant):
        raise ValueError(f'not strict JSON: {constant}')
    return json.loads(text, parse_constant=refuse)


def test_the_json_files_of_a_sweep_are_strict(tmp_path):
    out = tmp_path / 'nan'
    (out / 'seed=0').mkdir(parents=True)
    # -- a run's metrics with NaN and inf, written as the worker writes them
    rows = [{'epoch': 1, 'train_loss': float('nan'), 'val_loss': float('inf'),
             'val_acc': 0.5, 'seconds': 0.1, 'lr': 0.1}]
    config = make_grid(TINY)[0][1]
    write_json(out / 'seed=0' / 'metrics.json',
               {'id': 'seed=0', 'index': 0, 'status': 'ok', 'config': config, 'metrics': rows})
    data = _strict((out / 'seed=0' / 'metrics.json').read_text())
    assert data['metrics'][0]['train_loss'] is None and data['metrics'][0]['val_loss'] is None
    # -- read back, null is NaN again: the run counts as diverged, and nothing crashes
    status, message = outcome({'folder': str(out / 'seed=0')}, 0)
    assert status == 'ok' and 'diverged' in message
    runs = load_runs(out)
    assert math.isnan(runs[0]['metrics'][0]['train_loss'])
    assert main(['plot', str(out)]) == 0
    for path in out.rglob('*.json'):
        _strict(path.read_text())


def test_config_json_holds_the_settings_metrics_json_records(sweep):
    out, _, _ = sweep
    for id_ in IDS:
        with open(out / id_ / 'config.json') as f:
            started = json.load(f)['config']
        with open(out / id_ / 'metrics.json') as f:
            finished = json.load(f)['config']
        assert started == finished


def test_config_json_records_the_cifar10_recipe(tmp_path):
    """A cifar10 run's config.json has the blitz recipe's settings, as its metrics.json would."""
    empty = tmp_path / 'no-data'
    empty.mkdir()      # -- no CIFAR-10 files: the run fails at once (nothing is downloaded)
    out = tmp_path / 'cnn'
    results = run_sweep(str(out), fixed={'data': 'cifar10', 'data_dir': str(empty), 'epochs': 1},
                        vary={'batchnorm': [False, True]}, seeds=1, jobs=2, log=lambda *a: None)
    assert [r['status'] for r in results] == ['failed', 'failed']
    for result in results:
        with open(os.path.join(result['folder'], 'config.json')) as f:
            config = json.load(f)['config']
        assert (config['model'], config['batch_size'], config['lr'], config['momentum'],
                config['reduction'], config['pixels'], config['epochs']) == \
            ('blitz', 4, 0.001, 0.9, 'mean', 'signed', 1)
    # -- a second run of the same sweep compares the recorded settings: no clash
    again = run_sweep(str(out), fixed={'data': 'cifar10', 'data_dir': str(empty), 'epochs': 1},
                      vary={'batchnorm': [False, True]}, seeds=1, dry_run=True,
                      log=lambda *a: None)
    assert [r['status'] for r in again] == ['pending', 'pending']


def test_the_sweep_log_has_the_per_class_table(tmp_path, monkeypatch):
    """The log of a sweep ends with the per-class table of report.md (runs that record it)."""
    from vugrad.lab import report
    out = tmp_path / 'pc'
    fixed = {'data': 'mnist', 'lr': 0.0001}       # -- MNIST's default, as a real run records it
    for seed, (id_, settings) in enumerate(make_grid(fixed, seeds=2)):
        run = out / id_
        run.mkdir(parents=True)
        info = {'id': id_, 'index': seed, 'config': settings}
        (run / 'config.json').write_text(json.dumps(info))
        (run / 'metrics.json').write_text(json.dumps({**info, 'status': 'ok', 'metrics': [
            {'epoch': 1, 'train_loss': 1.0, 'val_loss': 1.0, 'val_acc': 0.5, 'seconds': 1.0,
             'lr': 0.1, 'val_acc_per_class': [0.25 + 0.5 * seed, 0.5]}]}))
    lines = []
    results = run_sweep(str(out), fixed=fixed, seeds=2, log=lines.append)
    assert [r['status'] for r in results] == ['skipped', 'skipped']
    at = lines.index('## validation accuracy per class (%), after the last epoch, mean over '
                     'seeds:')
    assert lines[at + 1:at + 4] == report.per_class_table(report.group_runs(
        report.load_runs(str(out))))
    assert lines[at + 3] == '| all runs | 50.00 | 50.00 |'
