"""vugrad.lab.report on hand-made run folders: no training, only the files a sweep leaves."""

import csv
import json
import math

import numpy as np
import pytest

from vugrad.lab.report import (RunFileError, dumps_json, group_runs, load_runs, plot_curves,
                               read_metrics, summarize, varied_keys, write_json, write_outputs)


def make_run(folder, id_, index, config, metrics=None, error=None):
    """A run's folder as a sweep leaves it: finished (metrics), failed (error) or unfinished."""
    run = folder / id_
    run.mkdir(parents=True)
    info = {'id': id_, 'index': index, 'config': config}
    (run / 'config.json').write_text(json.dumps(info))
    if metrics is not None:
        (run / 'metrics.json').write_text(json.dumps({**info, 'status': 'ok',
                                                      'metrics': metrics}))
    if error is not None:
        (run / 'error.txt').write_text(f'Traceback (most recent call last):\n  ...\n{error}\n')


def rows(losses, accs):
    return [{'epoch': e + 1, 'train_loss': loss, 'val_loss': loss, 'val_acc': acc,
             'seconds': 2.0, 'lr': 0.1} for e, (loss, acc) in enumerate(zip(losses, accs))]


def test_statuses_order_divergence_and_a_single_seed(tmp_path):
    base = {'data': 'synth', 'epochs': 2, 'lr': 0.1, 'backend': 'vugrad'}
    # -- the config's key order (lr before momentum) differs from the sweep's (momentum first)
    make_run(tmp_path, 'momentum=0.9,lr=0.1,seed=0', 2, {**base, 'momentum': 0.9, 'seed': 0},
             rows([float('nan'), float('nan')], [0.1, 0.1]))
    make_run(tmp_path, 'momentum=0.0,lr=0.1,seed=0', 0, {**base, 'momentum': 0.0, 'seed': 0},
             rows([0.5, 0.3], [0.8, 0.9]))
    make_run(tmp_path, 'momentum=0.0,lr=0.1,seed=1', 1, {**base, 'momentum': 0.0, 'seed': 1},
             rows([0.6, 0.4], [0.7, 0.8]))
    make_run(tmp_path, 'momentum=0.0,lr=0.5,seed=0', 3,
             {**base, 'lr': 0.5, 'momentum': 0.0, 'seed': 0}, error='ValueError: bad')
    make_run(tmp_path, 'momentum=0.0,lr=0.5,seed=1', 4,
             {**base, 'lr': 0.5, 'momentum': 0.0, 'seed': 1})

    runs = load_runs(tmp_path)
    assert [r['index'] for r in runs] == [0, 1, 2, 3, 4]
    assert [r['status'] for r in runs] == ['ok', 'ok', 'ok', 'failed', 'unfinished']
    assert runs[3]['error'] == 'ValueError: bad'
    assert varied_keys(runs) == ['momentum', 'lr']
    groups = group_runs(runs)
    assert [g['label'] for g in groups] == ['momentum=0.0, lr=0.1', 'momentum=0.9, lr=0.1',
                                            'momentum=0.0, lr=0.5']
    s = summarize(groups[0])
    assert math.isclose(s['final_acc'], 0.85) and math.isclose(s['final_acc_std'],
                                                                math.sqrt(0.005))
    assert s['best_epoch'] == 2 and s['diverged'] == 0 and s['seconds_per_epoch'] == 2.0
    assert summarize(groups[1])['diverged'] == 1

    _, _, fig = write_outputs(tmp_path)
    acc_ax = fig.axes[0]
    assert [line.get_label() for line in acc_ax.get_lines()] == [g['label'] for g in groups[:2]]
    assert len(acc_ax.collections) == 1     # -- shading only where there are two seeds
    text = (tmp_path / 'report.md').read_text()
    assert '| momentum | lr | runs |' in text
    assert '| 0.9 | 0.1 | 1 (1 diverged) |' in text
    assert '| 0.0 | 0.5 | 0 of 2 |' in text
    assert '## Failed runs (1)' in text and 'ValueError: bad' in text
    assert '## Unfinished runs (1)' in text and 'momentum=0.0,lr=0.5,seed=1' in text
    with open(tmp_path / 'metrics.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2 + 2 + 2 + 1 + 1
    assert [r['status'] for r in table[-2:]] == ['failed', 'unfinished']
    assert table[-2]['epoch'] == '' and table[-2]['error'] == 'ValueError: bad'


def test_a_figure_can_be_made_without_files(tmp_path):
    make_run(tmp_path, 'seed=0', 0, {'epochs': 1, 'seed': 0, 'backend': 'vugrad'},
             rows([0.5], [0.9]))
    groups = group_runs(load_runs(tmp_path))
    assert [g['label'] for g in groups] == ['all runs']
    fig = plot_curves(groups)
    assert len(fig.axes[0].get_lines()) == 1 and not (tmp_path / 'curves.png').exists()


def test_malformed_run_files_are_skipped_with_a_warning_naming_them(tmp_path, capsys):
    from vugrad.lab.cli import main
    config = {'epochs': 1, 'seed': 0, 'backend': 'vugrad'}
    make_run(tmp_path, 'seed=0', 0, config, rows([0.5], [0.9]))
    bad = {
        'seed=1': '[1, 2, 3]',                                               # -- not an object
        'seed=2': json.dumps({'config': {**config, 'seed': 2},
                              'metrics': [{'epoch': 'one', 'train_loss': 0.5, 'val_acc': 0.9,
                                           'seconds': 1.0}]}),
        'seed=3': '{"config": {"seed": 3}, "metr',                           # -- cut short
        'seed=4': json.dumps({'config': {**config, 'seed': 4}, 'metrics': {'epoch': 1}}),
        'seed=5': json.dumps({'config': {**config, 'seed': 5},
                              'metrics': [{'epoch': 1, 'train_loss': 'low', 'val_acc': 0.9,
                                           'seconds': 1.0}]}),
        'seed=6': json.dumps({'config': [1], 'metrics': []}),
        'seed=8': json.dumps({'index': 'first', 'config': {**config, 'seed': 8}, 'metrics': []}),
        'seed=9': json.dumps({'config': {**config, 'seed': 'nine'}, 'metrics': []}),
    }
    for name, text in bad.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / 'metrics.json').write_text(text)
    (tmp_path / 'seed=7').mkdir()
    (tmp_path / 'seed=7' / 'config.json').write_bytes(b'\xff\xfe not text')

    assert main(['plot', str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert 'Traceback' not in captured.err
    for name in bad:
        assert str(tmp_path / name / 'metrics.json') in captured.err, name
    assert str(tmp_path / 'seed=7' / 'config.json') in captured.err
    assert '## 1 run, 1 configuration: wrote' in captured.out
    with pytest.warns(RuntimeWarning) as record:
        runs = load_runs(tmp_path)
    assert [r['id'] for r in runs] == ['seed=0']
    assert len(record) == len(bad) + 1 and 'seed=2' in str(record[1].message)
    messages = []
    assert [r['id'] for r in load_runs(tmp_path, warn=messages.append)] == ['seed=0']
    assert len(messages) == len(bad) + 1 and all(m.startswith('warning: ') for m in messages)
    with pytest.raises(RunFileError, match='not a number'):
        read_metrics(tmp_path / 'seed=5' / 'metrics.json')
    assert read_metrics(tmp_path / 'missing' / 'metrics.json') is None


def test_json_is_written_strict_and_read_back(tmp_path):
    data = {'nan': float('nan'), 'inf': [float('inf'), -float('inf'), 1.5],
            'numpy': [np.float32('nan'), np.float64(2.5), np.int64(3), np.bool_(True)],
            'nested': {'rows': ({'loss': float('nan')},)}}
    expected = {'nan': None, 'inf': [None, None, 1.5], 'numpy': [None, 2.5, 3, True],
                'nested': {'rows': [{'loss': None}]}}

    def refuse(constant):
        raise ValueError(constant)
    assert json.loads(dumps_json(data), parse_constant=refuse) == expected
    write_json(tmp_path / 'x.json', data)
    assert json.loads((tmp_path / 'x.json').read_text(), parse_constant=refuse) == expected

    # -- null metrics (NaN or inf when they were written) read back as NaN
    make_run(tmp_path, 'seed=0', 0, {'epochs': 1, 'seed': 0, 'backend': 'vugrad'})
    write_json(tmp_path / 'seed=0' / 'metrics.json',
               {'id': 'seed=0', 'index': 0, 'status': 'ok', 'config': {'seed': 0},
                'metrics': rows([float('nan')], [0.5])})
    assert 'NaN' not in (tmp_path / 'seed=0' / 'metrics.json').read_text()
    row = read_metrics(tmp_path / 'seed=0' / 'metrics.json')['metrics'][0]
    assert math.isnan(row['train_loss']) and row['val_acc'] == 0.5
    assert summarize(group_runs(load_runs(tmp_path))[0])['diverged'] == 1


# ---------------------------------------------------------------------- per-class accuracy

def _with_classes(metrics, per_class):
    return [dict(row, val_acc_per_class=per_class) for row in metrics]


def test_the_report_has_a_per_class_table_mean_over_seeds(tmp_path):
    from vugrad.data.cifar10 import CLASSES
    from vugrad.lab.report import mean_class_accuracy, per_class_table
    base = {'data': 'cifar10', 'epochs': 2, 'lr': 0.001, 'backend': 'vugrad'}
    seed0 = [0.5] * 9 + [None]          # -- null: a class without validation examples
    seed1 = [0.7] * 9 + [None]
    for seed, per_class in ((0, seed0), (1, seed1)):
        make_run(tmp_path, f'batchnorm=true,seed={seed}', seed,
                 {**base, 'batchnorm': True, 'seed': seed},
                 _with_classes(rows([2.0, 1.5], [0.3, 0.4]), per_class))
    make_run(tmp_path, 'batchnorm=false,seed=0', 2, {**base, 'batchnorm': False, 'seed': 0},
             _with_classes(rows([2.0, 1.8], [0.2, 0.3]), [0.1 * k for k in range(10)]))
    groups = group_runs(load_runs(tmp_path))
    acc = mean_class_accuracy(groups[0])
    assert np.allclose(acc[:9], 0.6) and math.isnan(acc[9])
    table = per_class_table(groups)
    assert table[0] == '| configuration | ' + ' | '.join(CLASSES) + ' |'
    assert table[2].startswith('| batchnorm=true | 60.00 |') and table[2].endswith('| – |')
    assert table[3].startswith('| batchnorm=false | 0.00 | 10.00 |')
    write_outputs(tmp_path)
    text = (tmp_path / 'report.md').read_text()
    assert '## Validation accuracy per class (%)' in text and table[2] in text


def test_runs_without_per_class_accuracy_have_no_per_class_table(tmp_path):
    from vugrad.lab.report import mean_class_accuracy, per_class_table
    base = {'data': 'mnist', 'epochs': 2, 'lr': 0.1, 'backend': 'vugrad'}
    make_run(tmp_path, 'a', 0, {**base, 'seed': 0}, rows([1.0, 0.5], [0.8, 0.9]))
    groups = group_runs(load_runs(tmp_path))
    assert mean_class_accuracy(groups[0]) is None and per_class_table(groups) == []
    write_outputs(tmp_path)
    assert 'per class' not in (tmp_path / 'report.md').read_text()


def test_metrics_csv_has_a_column_per_class_empty_where_a_run_has_none(tmp_path):
    base = {'epochs': 2, 'lr': 0.1, 'backend': 'vugrad', 'seed': 0}
    make_run(tmp_path, 'data=cifar10', 0, {**base, 'data': 'cifar10'},
             _with_classes(rows([2.0, 1.5], [0.3, 0.4]), [0.25] * 9 + [None]))
    make_run(tmp_path, 'data=synth', 1, {**base, 'data': 'synth'}, rows([1.0, 0.5], [0.8, 0.9]))
    write_outputs(tmp_path)
    with open(tmp_path / 'metrics.csv', newline='') as f:
        table = list(csv.DictReader(f))
    header = list(table[0])
    columns = [f'val_acc_class_{i}' for i in range(10)]
    assert header[header.index('epoch_lr') + 1:header.index('error')] == columns
    cifar = [r for r in table if r['run'] == 'data=cifar10']
    synth = [r for r in table if r['run'] == 'data=synth']
    assert len(cifar) == len(synth) == 2
    assert all(float(r['val_acc_class_0']) == 0.25 and r['val_acc_class_9'] == '' for r in cifar)
    assert all(r[c] == '' for r in synth for c in columns)
    assert 'val_acc_per_class' not in header


def test_without_matplotlib_the_messages_say_what_was_written(tmp_path, monkeypatch, capsys):
    import sys

    from vugrad.lab.cli import main
    from vugrad.lab.sweep import make_grid, run_sweep
    for name in [n for n in sys.modules if n == 'matplotlib' or n.startswith('matplotlib.')]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, 'matplotlib', None)        # -- import matplotlib fails
    fixed = {'data': 'synth', 'epochs': 1}
    for index, (id_, settings) in enumerate(make_grid(fixed, seeds=2)):
        make_run(tmp_path, id_, index, settings, rows([0.5], [0.9]))

    assert main(['plot', str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == ['## matplotlib is not installed (pip install matplotlib): no curves.png',
                       f'## 2 runs, 1 configuration: wrote metrics.csv and report.md in '
                       f'{tmp_path}']
    assert not (tmp_path / 'curves.png').exists()
    assert 'curves.png' not in (tmp_path / 'report.md').read_text()

    (tmp_path / 'curves.png').write_bytes(b'an old plot')     # -- not this sweep's: not shown
    lines = []
    results = run_sweep(str(tmp_path), fixed=fixed, seeds=2, log=lines.append)
    assert [r['status'] for r in results] == ['skipped', 'skipped']
    assert lines[-2:] == ['## matplotlib is not installed (pip install matplotlib): no curves.png',
                          f'## wrote metrics.csv and report.md in {tmp_path}']
    assert 'curves.png' not in (tmp_path / 'report.md').read_text()
