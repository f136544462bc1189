"""vugrad.lab.sweep without running anything: settings, values, the grid, TOML files, options."""

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
    assert '(default: sigmoid)' in text and '--backend' in text
