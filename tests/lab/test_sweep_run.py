"""Sweeps that run: tiny synthetic runs, one epoch, two at a time."""

import csv
import json
import os

import pytest

from vugrad.lab.cli import main
from vugrad.lab.report import group_runs, load_runs, plot_curves
from vugrad.lab.sweep import SweepError, _outcome, run_sweep

TINY = {'data': 'synth', 'num_train': 200, 'num_val': 100, 'epochs': 1, 'hidden': 8,
        'batch_size': 50}
VARY = {'activation': ['sigmoid', 'relu']}
IDS = ['activation=sigmoid,seed=0', 'activation=sigmoid,seed=1', 'activation=relu,seed=0',
       'activation=relu,seed=1']


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


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path):
    out = tmp_path / 'failing'
    lines = []
    results = run_sweep(str(out), fixed=TINY, vary={'activation': ['relu', 'bogus']}, seeds=1,
                        jobs=2, log=lines.append)
    assert [r['status'] for r in results] == ['ok', 'failed']
    assert 'bogus' in results[1]['message']
    error = (out / 'activation=bogus,seed=0' / 'error.txt').read_text()
    assert 'Traceback' in error and "activation='bogus'" in error
    assert not (out / 'activation=bogus,seed=0' / 'metrics.json').exists()
    assert (out / 'activation=relu,seed=0' / 'metrics.json').is_file()
    rows = read_csv(out / 'metrics.csv')
    assert [(r['activation'], r['status']) for r in rows] == [('relu', 'ok'), ('bogus', 'failed')]
    assert "activation='bogus'" in rows[1]['error'] and rows[1]['epoch'] == ''
    report = (out / 'report.md').read_text()
    assert '## Failed runs (1)' in report and 'activation=bogus,seed=0' in report
    assert any('FAILED' in line and 'bogus' in line for line in lines)
    # -- the command says so in its exit status
    # -- and from the command line, which resumes: the failed run runs again, and fails
    assert main(['sweep', '-D', 'synth', '--num-train', '200', '--num-val', '100', '-e', '1',
                 '--hidden', '8', '-b', '50', '--vary', 'activation=relu,bogus',
                 '--out', str(out), '-j', '2']) == 1
    assert (out / 'activation=bogus,seed=0' / 'error.txt').is_file()


def test_a_run_whose_process_dies_is_recorded(tmp_path):
    folder = tmp_path / 'run'
    folder.mkdir()
    status, message = _outcome({'folder': str(folder)}, -9)
    assert status == 'failed' and 'exit code -9' in message
    assert 'exit code -9' in (folder / 'error.txt').read_text()
