"""vugrad.lab.sweep without running anything: settings, values, the grid, TOML files, options
(vugrad.lab.sweep.grid), and `vugrad sweep`'s options (vugrad.lab.sweep.command)."""

import math
import pathlib
import re

import pytest

from vugrad.lab.cli import build_parser
from vugrad.lab.sweep import (
    SweepError,
    load_toml,
    make_grid,
    parse_value,
    run_id,
    setting_name,
    spec_from_args,
)


def parse(argv):
    return build_parser('sweep').parse_args(['sweep'] + argv)


def test_setting_names_accept_fields_and_long_options():
    assert setting_name('lr') == 'lr'
    assert setting_name('learning-rate') == 'lr'
    assert setting_name('--batch-size') == 'batch_size'
    assert setting_name('dataset') == 'data'
    assert setting_name('backend') == 'backend'
    with pytest.raises(SweepError, match='unknown setting'):
        setting_name('colour')
    with pytest.raises(SweepError, match='unknown setting'):
        setting_name('out')          # -- the sweep sets it per run
    with pytest.raises(SweepError, match='unknown setting'):
        setting_name('no-shuffle')   # -- its value would mean the opposite


def test_values_are_parsed_with_the_fields_type():
    assert parse_value('lr', '1e-4') == 0.0001 and isinstance(parse_value('lr', '1'), float)
    assert parse_value('epochs', '3') == 3
    assert parse_value('hidden', 'none') is None and parse_value('hidden', '300') == 300
    assert parse_value('residual', 'true') is True and parse_value('residual', 'no') is False
    assert parse_value('weight_decay', 'None') is None
    assert parse_value('activation', ' relu ') == 'relu'
    # -- values from a TOML file are checked, not parsed
    assert parse_value('lr', 1) == 1.0 and isinstance(parse_value('lr', 1), float)
    assert parse_value('residual', True) is True
    for name, bad in [('lr', 'abc'), ('epochs', '2.5'), ('residual', 'maybe'), ('epochs', 2.5),
                      ('epochs', True), ('activation', 3)]:
        with pytest.raises(SweepError, match=name):
            parse_value(name, bad)


def test_grid_order_ids_and_seeds():
    grid = make_grid(fixed={'epochs': 2, 'learning-rate': '0.5'},
                     vary={'activation': ['sigmoid', 'relu'], 'init': ['glorot', 'normal']},
                     seeds=2)
    ids = [i for i, _ in grid]
    assert ids == ['activation=sigmoid,init=glorot,seed=0', 'activation=sigmoid,init=glorot,seed=1',
                   'activation=sigmoid,init=normal,seed=0', 'activation=sigmoid,init=normal,seed=1',
                   'activation=relu,init=glorot,seed=0', 'activation=relu,init=glorot,seed=1',
                   'activation=relu,init=normal,seed=0', 'activation=relu,init=normal,seed=1']
    settings = grid[5][1]
    assert settings['activation'] == 'relu' and settings['init'] == 'glorot'
    assert settings['seed'] == 1 and settings['epochs'] == 2 and settings['lr'] == 0.5
    assert settings['backend'] == 'vugrad' and settings['layers'] == 1   # -- the defaults
    assert 'out' not in settings and 'save' not in settings


def test_seeds_start_at_the_fixed_seed_or_come_as_a_list():
    assert [s['seed'] for _, s in make_grid({'seed': 5}, seeds=3)] == [5, 6, 7]
    assert [s['seed'] for _, s in make_grid(seeds=[3, 1])] == [3, 1]
    assert [s['seed'] for _, s in make_grid(seeds='0,4')] == [0, 4]
    assert [s['seed'] for _, s in make_grid(vary={'seed': ['2', '9']})] == [2, 9]
    with pytest.raises(SweepError, match='at least 1'):
        make_grid(seeds=0)
    with pytest.raises(SweepError, match='twice'):
        make_grid(vary={'lr': ['0.1', '0.10']})


def test_run_ids_are_readable_and_safe_as_folder_names():
    assert run_id({'lr': 0.0001, 'hidden': None, 'residual': True, 'seed': 0},
                  ['lr', 'hidden', 'residual']) == 'lr=0.0001,hidden=none,residual=true,seed=0'
    assert run_id({'data_dir': '/a b/c', 'seed': 1}, ['data_dir']) == 'data_dir=_a_b_c,seed=1'


def test_numbers_in_folder_names_are_short_exact_and_one_form():
    from vugrad.lab.sweep.grid import format_setting
    for value, text in [(1e10, '1e+10'), (1e30, '1e+30'), (1e6, '1e+06'), (-2.5e7, '-2.5e+07'),
                        (1234567.5, '1.2345675e+06'), (999999.0, '999999.0'), (1e-05, '1e-05'),
                        (0.0001, '0.0001'), (0.1 + 0.2, '0.30000000000000004'), (0.0, '0.0'),
                        (-0.0, '-0.0'), (3, '3'), (-7, '-7'), (10 ** 20, '100000000000000000000')]:
        assert format_setting(value) == text, value
        assert run_id({'lr': value, 'seed': 0}, ['lr']) == f'lr={text},seed=0'
    # -- every float reads back from its name as itself, and two floats never share a name
    import random
    import struct
    rng = random.Random(19)
    values = {struct.unpack('<d', rng.getrandbits(64).to_bytes(8, 'little'))[0]
              for _ in range(3000)}
    values |= {sign * rng.uniform(1, 10) * 10.0 ** e for e in range(-30, 31) for sign in (1, -1)
               for _ in range(20)}
    values |= {sign * k * 10.0 ** e for k in range(1, 50) for e in range(-8, 20)
               for sign in (1, -1)} | {0.1 * k for k in range(100)} | {0.0, -0.0}
    values = [v for v in values if math.isfinite(v)] + [-0.0]
    names = {}
    for value in values:
        name = format_setting(value)
        assert float(name) == value and math.copysign(1, float(name)) == math.copysign(1, value)
        assert re.fullmatch(r'-?[0-9.]+(e[+-][0-9]+)?', name), name
        assert ('e' in name) == (abs(value) >= 1e6 or 0 < abs(value) < 1e-4), name
        names.setdefault(name, set()).add(struct.pack('<d', value))
    assert all(len(same) == 1 for same in names.values())


def test_toml_file(tmp_path):
    path = tmp_path / 'q.toml'
    path.write_text('# a sweep\nout = "runs/q"\nseeds = 3\ndata = "synth"\nlearning-rate = 1\n'
                    'epochs = 2\nresidual = true\n[vary]\nactivation = ["sigmoid", "relu"]\n'
                    'hidden = [8, "none"]\n')
    spec = load_toml(path)
    assert spec['out'] == 'runs/q' and spec['seeds'] == 3
    assert spec['fixed'] == {'data': 'synth', 'lr': 1.0, 'epochs': 2, 'residual': True}
    assert spec['vary'] == {'activation': ['sigmoid', 'relu'], 'hidden': [8, None]}
    assert len(make_grid(spec['fixed'], spec['vary'], spec['seeds'])) == 12

    bad = tmp_path / 'bad.toml'
    bad.write_text('epochs = "two"\n')
    with pytest.raises(SweepError, match='epochs'):
        load_toml(bad)
    bad.write_text('epochs = \n')
    with pytest.raises(SweepError, match='not valid TOML'):
        load_toml(bad)


def test_command_line_options_override_the_toml_file(tmp_path):
    path = tmp_path / 'q.toml'
    path.write_text('out = "from-file"\nseeds = 2\nepochs = 5\nlr = 0.1\n'
                    '[vary]\nactivation = ["sigmoid", "relu"]\ninit = ["glorot", "zeros"]\n')
    spec = spec_from_args(parse(['--config', str(path), '-e', '1', '--activation', 'tanh',
                                 '--vary', 'momentum=0,0.9', '--out', str(tmp_path / 'o')]))
    assert spec['out'] == str(tmp_path / 'o') and spec['seeds'] == 2
    assert spec['fixed'] == {'epochs': 1, 'lr': 0.1, 'activation': 'tanh'}
    assert spec['vary'] == {'init': ['glorot', 'zeros'], 'momentum': ['0', '0.9']}
    # -- options not given are not in the spec: TrainConfig's defaults fill them in later
    spec = spec_from_args(parse(['--out', 'x']))
    assert spec['fixed'] == {} and spec['vary'] == {} and spec['seeds'] == 1
    with pytest.raises(SweepError, match='both fixed'):
        spec_from_args(parse(['--out', 'x', '--activation', 'relu', '--vary', 'activation=tanh']))
    with pytest.raises(SweepError, match='--out'):
        spec_from_args(parse([]))
    with pytest.raises(SweepError, match='NAME=VALUE'):
        spec_from_args(parse(['--out', 'x', '--vary', 'activation']))


def test_sweep_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(['-h'])
    text = capsys.readouterr().out
    assert exit_.value.code == 0
    assert '==SUPPRESS==' not in text and '--vary' in text and '--jobs' in text
    assert '(default: sigmoid;' in text and '--backend' in text


# ---------------------------------------------------------------------- checked before any run

def test_a_toml_files_wrong_types_and_ranges_are_all_named_at_once(tmp_path):
    from vugrad.errors import InvalidArgumentError
    path = tmp_path / 'bad.toml'
    path.write_text(f'out = "{tmp_path / "o"}"\njobs = "4"\nseeds = 2.5\nthreads = -3\n'
                    'epochs = -3\n[vary]\nactivation = ["relu", "foo"]\n')
    with pytest.raises(SweepError) as e:
        spec_from_args(parse(['--config', str(path), '--dry-run']))
    assert isinstance(e.value, InvalidArgumentError)
    text = str(e.value)
    assert text.startswith('5 problems:') and len(text.splitlines()) == 6
    for part in ("jobs='4'", 'seeds=2.5', 'threads=-3', 'epochs=-3',
                 "activation='foo' (--activation): choose one of sigmoid, relu, tanh. "
                 '(in 1 run: activation=foo,seed=0)'):
        assert part in text
    with pytest.raises(SweepError, match="jobs='4'"):
        load_toml(path)
    assert not (tmp_path / 'o').exists()


def test_a_setting_both_fixed_and_varied_in_one_toml_file_is_an_error(tmp_path):
    path = tmp_path / 'q.toml'
    path.write_text('lr = 0.1\n[vary]\nlearning-rate = [0.1, 0.01]\n')
    with pytest.raises(SweepError, match=r'lr is given both in the settings at the top and in '
                                         r'\[vary\]: give it once'):
        load_toml(path)
    path.write_text('epochs = 1\n[fixed]\nepochs = 2\n')
    with pytest.raises(SweepError, match=r'epochs is given both'):
        load_toml(path)
    path.write_text('[vary]\nlr = [0.1]\nlearning-rate = [0.2]\n')
    with pytest.raises(SweepError, match=r'lr is given twice in \[vary\]'):
        load_toml(path)
    # -- the command line still wins over the file, as documented
    path.write_text('lr = 0.1\n[vary]\nactivation = ["relu", "tanh"]\n')
    spec = spec_from_args(parse(['--config', str(path), '--out', 'x', '--vary', 'lr=0.2,0.3',
                                 '--activation', 'sigmoid']))
    assert spec['fixed'] == {'activation': 'sigmoid'} and spec['vary'] == {'lr': ['0.2', '0.3']}


def test_make_grid_checks_every_run(tmp_path):
    from vugrad.lab.sweep import run_sweep
    with pytest.raises(SweepError, match=r'lr=nan .*finite') as e:
        make_grid({'lr': 'nan', 'momentum': -1}, seeds=1)
    assert len(e.value.problems) == 2
    with pytest.raises(SweepError, match=r'epochs=-3'):
        make_grid({'epochs': -3})
    with pytest.raises(SweepError, match='seeds=2.5'):
        make_grid(seeds=2.5)
    with pytest.raises(SweepError, match=r'seed=4294967296 .* \(in 1 run'):
        make_grid({'seed': 2 ** 32 - 1}, seeds=2)
    # -- a dry run checks too, before it creates anything
    out = tmp_path / 'o'
    for options, match in [({'vary': {'activation': ['relu', 'foo']}}, "activation='foo'"),
                           ({'jobs': '4'}, "jobs='4'"), ({'threads': -3}, 'threads=-3'),
                           ({'seeds': 2.5}, 'seeds=2.5'), ({'save': 'a/m.npz'}, 'save=')]:
        with pytest.raises(SweepError, match=match):
            run_sweep(str(out), fixed={'epochs': 1}, dry_run=True, log=None, **options)
    assert not out.exists()
    (tmp_path / 'file').write_text('')
    with pytest.raises(SweepError, match='is a file, not a folder'):
        run_sweep(str(tmp_path / 'file' / 'o'), dry_run=True, log=None)


def test_the_sweep_command_names_every_problem_and_exits_2(tmp_path, capsys):
    from vugrad.lab.cli import main
    out = tmp_path / 'o'
    assert main(['sweep', '--out', str(out), '-l', 'nan', '-j', '-2', '--threads', '0',
                 '--vary', 'activation=relu,foo', '--vary', 'epochs=1,-3', '--dry-run']) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and '5 problems' in err
    for part in ('lr=nan', 'jobs=-2', 'threads=0', "activation='foo'", 'epochs=-3'):
        assert part in err
    assert not out.exists()


def test_every_documented_mnist_sweep_sets_the_courses_learning_rate():
    """The default lr (0.01, for the synthetic data) sends MNIST's raw pixels to a loss of 1e14:
    every sweep the README and the docs show on MNIST sets one (-l 0.0001, or in its TOML)."""
    import glob
    import os
    import shlex
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    commands = []
    for path in [os.path.join(repo, 'README.md')] + glob.glob(os.path.join(repo, 'docs', '*.md')):
        with open(path) as f:
            for line in f:
                if line.startswith('vugrad sweep '):
                    commands.append((path, shlex.split(line.partition(' #')[0])[2:]))
    assert len(commands) >= 5
    cwd = os.getcwd()
    os.chdir(repo)      # -- the commands' TOML files are named from the repository's root
    try:
        for path, argv in commands:
            spec = spec_from_args(parse(argv if '--out' in argv or '--config' in argv
                                        else argv + ['--out', 'x']))
            data = {spec['fixed'].get('data', 'synth'), *spec['vary'].get('data', [])}
            if 'mnist' in data:
                assert 'lr' in spec['fixed'] or 'lr' in spec['vary'], (path, shlex.join(argv))
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------------- the example files

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / 'examples').glob('*.toml'))
CNN_EXAMPLES = ('cnn_lr_batch.toml', 'cnn_optimizers.toml', 'cnn_batchnorm.toml',
                'cnn_residual.toml')


def test_the_cnn_examples_are_there():
    assert set(CNN_EXAMPLES) <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize('path', EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize('backend', [None, 'vugrad', 'torch'])
def test_every_example_loads_and_expands_to_a_valid_grid(path, backend, tmp_path):
    """Each examples/*.toml, as is and with --backend vugrad|torch: a dry run lists its grid."""
    from vugrad.lab.sweep import run_sweep
    argv = ['--config', str(path), '--out', str(tmp_path / 'out')]
    if backend:
        argv += ['--backend', backend]
    spec = spec_from_args(parse(argv))
    lines = []
    results = run_sweep(**spec, dry_run=True, log=lines.append)
    assert results and all(r['status'] == 'pending' for r in results)
    assert sum(line.startswith('## would run: ') for line in lines) == len(results)
    grid = make_grid(spec['fixed'], spec['vary'], spec['seeds'])
    backends = {settings['backend'] for _, settings in grid}
    assert backends == ({backend} if backend else backends)
    if path.name in CNN_EXAMPLES:
        assert all(settings['data'] == 'cifar10' for _, settings in grid)
        assert len({settings['seed'] for _, settings in grid}) >= 2
        if not backend and path.name in ('cnn_optimizers.toml', 'cnn_batchnorm.toml'):
            assert backends == {'vugrad', 'torch'}


def test_the_grid_of_a_cnn_example_resolves_to_the_blitz_recipe(tmp_path):
    from vugrad.lab.config import TrainConfig
    spec = load_toml(next(p for p in EXAMPLES if p.name == 'cnn_optimizers.toml'))
    grid = make_grid(spec['fixed'], spec['vary'], spec['seeds'])
    names = {'optimizer', 'data', 'seed'}
    for _, settings in grid:
        config = TrainConfig(**{k: v for k, v in settings.items() if k in names}).validate()
        assert (config.model, config.batch_size, config.lr, config.epochs) == \
            ('blitz', 4, 0.001, 2)
        assert config.momentum == (0.9 if config.optimizer == 'sgd' else 0.0)


# ---------------------------------------------------------------------- --cluster (its form)

def test_a_toml_files_cluster_is_read_and_checked(tmp_path):
    path = tmp_path / 'c.toml'
    path.write_text('out = "o"\ncluster = "tcp://10.0.0.5:8786"\ndata = "synth"\n')
    assert load_toml(path)['cluster'] == 'tcp://10.0.0.5:8786'
    spec = spec_from_args(parse(['--config', str(path)]))
    assert spec['cluster'] == 'tcp://10.0.0.5:8786' and spec['jobs'] is None
    path.write_text('out = "o"\ncluster = "10.0.0.5:8786"\nthreads = 0\n')
    with pytest.raises(SweepError) as e:
        spec_from_args(parse(['--config', str(path)]))
    assert "cluster='10.0.0.5:8786'" in str(e.value) and 'threads=0' in str(e.value)


def test_run_sweep_takes_a_cluster_and_imports_its_module_only_then(tmp_path):
    """run_sweep picks the pool: vugrad.lab.cluster (and Dask) only with a cluster."""
    import os
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parents[2]
    code = ('import sys\n'
            'from vugrad.lab.sweep import run_sweep\n'
            'lines = []\n'
            'run_sweep("o", fixed={"data": "synth"}, dry_run=True, log=lines.append)\n'
            'print("vugrad.lab.cluster" in sys.modules, "distributed" in sys.modules)\n'
            'lines.clear()\n'
            'run_sweep("o", fixed={"data": "synth"}, cluster="local:2", dry_run=True,\n'
            '          log=lines.append)\n'
            'print("vugrad.lab.cluster" in sys.modules)\n'
            'print(lines[0])\n'
            'print(lines[-1])\n')
    env = {**os.environ, 'PYTHONPATH': str(root)}
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    local, cluster, first, last = proc.stdout.splitlines()[:4]
    assert local == 'False False' and cluster == 'True'
    assert first.endswith('on a local Dask cluster of 2 workers (processes), one thread each')
    assert last == '## would run: seed=0'
    assert not (tmp_path / 'o').exists()


def test_a_cluster_refuses_jobs_and_threads(tmp_path):
    from vugrad.lab.sweep import run_sweep
    with pytest.raises(SweepError, match='do not go with --cluster'):
        run_sweep(str(tmp_path / 'o'), fixed={'data': 'synth'}, cluster='local:2', jobs=2,
                  log=None)
    assert not (tmp_path / 'o').exists()


def test_the_local_pool_runs_no_more_jobs_than_runs():
    from vugrad.lab.sweep import LocalPool
    pool = LocalPool(jobs=8, threads=None)
    assert pool.describe(3).startswith('3 at a time')     # -- no more jobs than runs
