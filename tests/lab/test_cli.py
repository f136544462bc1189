"""
The `vugrad` command (vugrad.lab.cli): flags, output, files, the registry. (experiments/train_mlp.py
is a standalone script now, with only the course's flags; tests/experiments/ tests it. Here only
its flags are checked to be a subset of `vugrad train`'s.)
"""

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from vugrad.errors import ShapeError
from vugrad.lab import cli
from vugrad.lab.config import TrainConfig, add_train_arguments, config_from_args

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'experiments' / 'train_mlp.py'
SMALL = ['-e', '2', '--num-train', '3000', '--num-val', '1000', '--seed', '0']
FINAL = re.compile(r'^final validation accuracy: (0\.\d{4}|1\.0000)$')


def run(args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          check=False, cwd=cwd, env=env, timeout=120)


def last_line(out):
    return out.strip().splitlines()[-1]


def test_cli_train_runs_from_anywhere_and_writes_json(tmp_path):
    out = tmp_path / 'metrics.json'
    # -- run from another folder
    proc = run(['-m', 'vugrad.lab.cli', 'train', *SMALL, '-b', '64', '-l', '0.02', '--out', out],
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = last_line(proc.stdout)
    assert FINAL.match(line)
    data = json.loads(out.read_text())
    assert [m['epoch'] for m in data['metrics']] == [1, 2]
    assert data['config']['batch_size'] == 64 and data['config']['lr'] == 0.02
    assert line.endswith(f'{data["metrics"][-1]["val_acc"]:.4f}')
    assert 'epoch 002' in proc.stdout


def test_cli_train_takes_the_same_options_and_writes_csv(tmp_path):
    out = tmp_path / 'metrics.csv'
    proc = run(['-m', 'vugrad.lab.cli', 'train', *SMALL, '--activation', 'relu', '--hidden',
                '16', '--layers', '2', '--residual', '--init', 'he', '--optimizer', 'adam', '-l',
                '0.01', '--out', out])
    assert proc.returncode == 0, proc.stderr
    assert FINAL.match(last_line(proc.stdout))
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and float(rows[-1]['val_acc']) > 0.8
    assert last_line(proc.stdout).endswith(f'{float(rows[-1]["val_acc"]):.4f}')


def test_seeded_runs_print_the_same(tmp_path):
    a = run(['-m', 'vugrad.lab.cli', 'train', *SMALL, '--momentum', '0.9', '-l', '0.001'])
    b = run(['-m', 'vugrad.lab.cli', 'train', *SMALL, '--momentum', '0.9', '-l', '0.001'])
    strip = re.compile(r'\(\d+\.\d s\)')
    assert a.returncode == b.returncode == 0
    assert strip.sub('', a.stdout) == strip.sub('', b.stdout)


def test_bad_options_exit_with_status_2(capsys):
    proc = run(['-m', 'vugrad.lab.cli', 'train', '--nesterov'])
    assert proc.returncode == 2 and 'momentum' in proc.stderr
    with pytest.raises(SystemExit) as e:
        cli.main(['train', '-D', 'cifar'])
    assert e.value.code == 2 and 'invalid choice' in capsys.readouterr().err
    assert cli.main(['train', '--out', 'metrics.txt']) == 2
    assert '.json or .csv' in capsys.readouterr().err


def test_defaults_are_the_courses_and_the_config():
    args = add_train_arguments(argparse.ArgumentParser()).parse_args([])
    assert (args.data, args.batch_size, args.epochs, args.lr) == ('synth', 128, 20, 0.01)
    assert config_from_args(args) == TrainConfig()
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ['-D', 'mnist', '-l', '0.0001', '-b', '32', '-e', '3', '--residual', '--no-shuffle',
         '--weight-decay', '0.1', '--progress'])
    c = config_from_args(args)
    assert (c.data, c.lr, c.batch_size, c.epochs) == ('mnist', 0.0001, 32, 3)
    assert c.residual and not c.shuffle and c.weight_decay == 0.1 and c.progress is True


def test_every_config_field_is_an_option():
    parser = add_train_arguments(argparse.ArgumentParser())
    dests = {a.dest for a in parser._actions}
    fields = {f for f in TrainConfig.__dataclass_fields__}
    assert fields <= dests


def test_the_scripts_flags_are_options_of_vugrad_train(capsys):
    help_script = run([SCRIPT, '--help']).stdout
    with pytest.raises(SystemExit):
        cli.main(['train', '--help'])
    help_cli = capsys.readouterr().out
    options = re.compile(r'(?<![\w-])(-{1,2}[a-z][\w-]*)')
    assert {'--dataset', '-b', '-e', '-l', '--seed'} <= set(options.findall(help_script))
    assert set(options.findall(help_script)) <= set(options.findall(help_cli))
    for flag in ('-D', '-b', '-e', '-l', '--activation', '--hidden', '--layers', '--residual',
                 '--init', '--optimizer', '--momentum', '--seed', '--out'):
        assert flag in help_cli


def test_registry_entries_and_lazy_import(monkeypatch, capsys):
    for name, entry in cli.COMMANDS.items():
        assert len(entry) == 4 and all(isinstance(s, str) for s in entry), name
    assert cli.COMMANDS['train'][:3] == ('vugrad.lab.runner', 'add_train_arguments',
                                         'train_command')
    assert cli.COMMANDS['graph'][:3] == ('vugrad.lab.graph', 'add_graph_arguments',
                                         'graph_command')
    assert cli.COMMANDS['sweep'][:3] == ('vugrad.lab.sweep.command', 'add_sweep_arguments',
                                         'sweep_command')
    assert cli.COMMANDS['plot'][:3] == ('vugrad.lab.report_command', 'add_plot_arguments',
                                        'plot_command')
    assert all(entry[0].startswith('vugrad.lab.') for entry in cli.COMMANDS.values())

    calls = []
    fake = types.ModuleType('fake_vugrad_command')
    fake.add = lambda parser: parser.add_argument('--n', type=int, default=1)
    fake.run = lambda args: calls.append(args.n) or 3
    monkeypatch.setitem(sys.modules, 'fake_vugrad_command', fake)
    monkeypatch.setitem(cli.COMMANDS, 'fake', ('fake_vugrad_command', 'add', 'run', 'a test'))
    monkeypatch.setitem(cli.COMMANDS, 'missing', ('no_such_module_x', 'a', 'b', 'not there'))
    assert cli.main(['fake', '--n', '5']) == 3 and calls == [5]
    # -- a command whose module is missing fails only when it is run
    assert cli.main(['fake']) == 3
    with pytest.raises(SystemExit, match='vugrad missing: not available'):
        cli.main(['missing'])


def test_cli_help_and_unknown_command(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(['--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)
    with pytest.raises(SystemExit) as e:
        cli.main(['frobnicate'])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        cli.main([])
    assert e.value.code == 2


def test_cli_train_in_process(capsys, tmp_path):
    assert cli.main(['train', '-e', '1', '--num-train', '2000', '--num-val', '500',
                     '--no-progress']) == 0
    assert FINAL.match(last_line(capsys.readouterr().out))


def test_the_command_tunes_malloc_once_per_call(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(cli, 'tune_malloc', lambda: calls.append(1) or True)
    with pytest.raises(SystemExit):
        cli.main(['--help'])
    assert calls == [1]


def test_the_console_script_is_the_lab_cli():
    try:
        import tomllib
    except ImportError:   # -- Python 3.10
        tomllib = pytest.importorskip('tomli')
    project = tomllib.loads((REPO / 'pyproject.toml').read_text())
    assert project['project']['scripts']['vugrad'] == 'vugrad.lab.cli:main'


# ---------------------------------------------------------------------- errors and signals

def _fake_command(monkeypatch, run):
    fake = types.ModuleType('fake_failing_command')
    fake.add = lambda parser: parser
    fake.run = run
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setitem(cli.COMMANDS, 'fake', (fake.__name__, 'add', 'run', 'a test'))


@pytest.mark.parametrize('error, status, message', [
    (lambda: ShapeError('shapes (2, 3) and (4,) do not broadcast'), 1,
     'vugrad: error: shapes (2, 3) and (4,) do not broadcast'),
    (lambda: FileNotFoundError(2, 'No such file or directory', 'nowhere/x.npz'), 1,
     'vugrad: error: No such file or directory: nowhere/x.npz'),
    (lambda: KeyboardInterrupt(), 130, 'vugrad: interrupted'),
    (lambda: RuntimeError('a bug'), 1, 'vugrad: error: RuntimeError: a bug'),
], ids=['vugrad-error', 'os-error', 'ctrl-c', 'other'])
def test_errors_are_one_message_and_debug_adds_the_traceback(monkeypatch, capsys, error, status,
                                                             message):
    def run(args):
        raise error()
    _fake_command(monkeypatch, run)
    assert cli.main(['fake']) == status
    err = capsys.readouterr().err
    assert err.splitlines()[0] == message and 'Traceback' not in err
    for argv in (['--debug', 'fake'], ['fake', '--debug']):   # -- before or after the command
        assert cli.main(argv) == status
        err = capsys.readouterr().err
        assert err.startswith('Traceback') and message in err and 'in run' in err


def test_debug_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(['--help'])
    assert '--debug' in capsys.readouterr().out


def test_main_leaves_the_sigterm_handler_as_it_found_it():
    import signal
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit):
        cli.main(['--help'])
    assert cli.main(['train', '--out', 'metrics.txt']) == 2
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_file_that_cannot_be_written_is_one_message(tmp_path):
    (tmp_path / 'file').write_text('in the way')
    proc = run(['-m', 'vugrad.lab.cli', 'train', *SMALL, '--save', tmp_path / 'file' / 'x.npz'])
    assert proc.returncode in (1, 2), proc.stderr
    assert 'Traceback' not in proc.stderr and 'error:' in proc.stderr
    assert str(tmp_path / 'file') in proc.stderr


# -- `vugrad train --save` whose saving hangs half-way (np.savez writes some bytes, then waits)
SLOW_SAVE = '''
import pathlib, sys, time
import numpy as np
from vugrad.errors import ShapeError
from vugrad.lab import cli

def slow_savez(file, **arrays):
    file.write(b'half an archive')
    file.flush()
    pathlib.Path(sys.argv[1]).write_text('saving')
    time.sleep(60)

np.savez = slow_savez
sys.exit(cli.main(sys.argv[2:]))
'''


@pytest.mark.skipif(sys.platform == 'win32', reason='SIGTERM is a POSIX signal')
def test_sigterm_while_saving_leaves_no_temporary_file(tmp_path):
    import signal
    import time
    marker = tmp_path / 'saving'
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.Popen(
        [sys.executable, '-c', SLOW_SAVE, str(marker), 'train', '-e', '1', '--num-train', '200',
         '--num-val', '100', '--no-progress', '--save', str(tmp_path / 'x.npz')],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), proc.communicate(timeout=30)
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.x.npz')]  # -- half-way
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == 'vugrad: stopped by SIGTERM'
    assert 'Traceback' not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['saving']   # -- no x.npz, no temp file
