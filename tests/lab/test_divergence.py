"""Divergence is visible: a sweep records a run whose loss became nan or inf as 'diverged', and
its report flags the runs whose training loss ended above where it began."""

import csv
import json

import pytest

from vugrad.lab.report import group_runs, load_runs, summarize, write_outputs
from vugrad.lab.sweep import outcome, run_sweep

# -- at lr 100 the ReLU run's loss explodes in epoch 1 (past vugrad.lab.loop.LossLimit, a
#    million times its first batch's); the sigmoid run's stays finite and below that but rises
#    from epoch 1 to epoch 2 (NumPy warns of overflow on the way, which is expected)
HUGE_LR = {'data': 'synth', 'num_train': 500, 'num_val': 100, 'epochs': 2, 'lr': 100}


@pytest.mark.filterwarnings('ignore::RuntimeWarning')
def test_a_sweep_records_diverged_runs_and_flags_diverging_ones(tmp_path):
    out = tmp_path / 'lr'
    lines = []
    results = run_sweep(str(out), fixed=HUGE_LR, vary={'activation': ['sigmoid', 'relu']},
                        jobs=2, log=lines.append)
    assert [r['status'] for r in results] == ['ok', 'diverged']
    assert results[1]['message'].startswith('training diverged in epoch 1, batch ')
    assert any(line.split()[1:3] == ['DIVERGED', 'activation=relu,seed=0'] for line in lines)
    assert any('1 run diverged' in line for line in lines)

    done = json.loads((out / 'activation=relu,seed=0' / 'metrics.json').read_text())
    assert done['status'] == 'diverged' and done['epoch'] == 1 and done['batch'] >= 1
    assert done['metrics'] == [] and 'lower learning rate' in done['error']
    assert not (out / 'activation=relu,seed=0' / 'error.txt').exists()

    runs = load_runs(out)
    assert [r['status'] for r in runs] == ['ok', 'diverged']
    groups = group_runs(runs)
    assert summarize(groups[0])['diverging'] == 1 and summarize(groups[1])['diverged'] == 1
    report = (out / 'report.md').read_text()
    assert '| sigmoid | 1 (1 diverging) |' in report
    assert '| relu | 0 of 1 (1 diverged) |' in report
    assert '## Diverged runs (1)' in report and '`activation=relu,seed=0`: training diverged' \
        in report
    assert '## Failed runs' not in report
    with open(out / 'metrics.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [r['status'] for r in rows] == ['ok', 'ok', 'diverged']

    # -- a diverged run is an outcome, not a failure: running again skips it
    again = run_sweep(str(out), fixed=HUGE_LR, vary={'activation': ['sigmoid', 'relu']},
                      jobs=2, log=None)
    assert [r['status'] for r in again] == ['skipped', 'skipped']


def _run(folder, id_, index, status, metrics, **extra):
    run = folder / id_
    run.mkdir(parents=True)
    info = {'id': id_, 'index': index, 'config': {'lr': 0.1, 'seed': index, 'backend': 'vugrad'}}
    (run / 'config.json').write_text(json.dumps(info))
    (run / 'metrics.json').write_text(json.dumps({**info, 'status': status, 'metrics': metrics,
                                                  **extra}))
    return run


def _rows(losses):
    return [{'epoch': i + 1, 'train_loss': loss, 'val_loss': loss, 'val_acc': 0.5,
             'seconds': 1.0, 'lr': 0.1} for i, loss in enumerate(losses)]


def test_the_report_tells_diverged_diverging_and_ok_apart(tmp_path):
    _run(tmp_path, 'seed=0', 0, 'ok', _rows([1.0, 0.5]))
    _run(tmp_path, 'seed=1', 1, 'ok', _rows([1.0, 3.0]))          # -- ends above its start
    _run(tmp_path, 'seed=2', 2, 'diverged', _rows([1.0]), epoch=2, batch=7,
         error='training diverged in epoch 2, batch 7 of 9: the training loss is nan (lr=0.1). '
               'Try a lower learning rate.')
    runs = load_runs(tmp_path)
    assert [r['status'] for r in runs] == ['ok', 'ok', 'diverged']
    assert runs[2]['metrics'] == _rows([1.0]) and 'epoch 2, batch 7' in runs[2]['error']
    [group] = group_runs(runs)
    assert [r['id'] for r in group['ok']] == ['seed=0', 'seed=1']
    s = summarize(group)
    assert (s['runs'], s['ok'], s['diverged'], s['diverging']) == (3, 2, 1, 1)
    write_outputs(tmp_path)
    report = (tmp_path / 'report.md').read_text()
    assert '| all runs | 2 of 3 (1 diverged) (1 diverging) |' in report
    assert ('- `seed=2`: training diverged in epoch 2, batch 7 of 9: the training loss is nan '
            '(lr=0.1)\n') in report
    assert '*diverging*' in report


def test_the_outcome_of_a_diverged_run(tmp_path):
    run = _run(tmp_path, 'seed=0', 0, 'diverged', [], epoch=1, batch=3,
               error='training diverged in epoch 1, batch 3 of 4: the training loss is inf '
                     '(lr=1e+06). Try a lower learning rate (e.g. -l 100000).')
    status, message = outcome({'folder': str(run)}, 0)
    assert status == 'diverged'
    assert message == ('training diverged in epoch 1, batch 3 of 4: the training loss is inf '
                       '(lr=1e+06)')
