"""vugrad.lab.report on hand-made run folders: no training, only the files a sweep leaves."""

import csv
import json
import math

from vugrad.lab.report import (group_runs, load_runs, plot_curves, summarize, varied_keys,
                               write_outputs)


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
