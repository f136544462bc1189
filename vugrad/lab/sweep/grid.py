"""
The grid of a sweep, checked before anything runs: the settings a run has (those of
vugrad.lab.config.TrainConfig, and backend) and how their values are read, the grid of runs
(make_grid) and their folder names (run_id), the sweep's own options, TOML files (load_toml).
Every problem found is named, all at once, in one SweepError.
"""

import argparse
import dataclasses
import itertools
import json
import math
import numbers
import os
import re
import types
import typing

from ...errors import InvalidArgumentError
from ..config import TrainConfig, add_train_arguments, path_problem

__all__ = [
    'CLUSTER_DECIDES',
    'RESERVED',
    'SWEEP_KEYS',
    'SweepError',
    'check_sweep',
    'cluster_problem',
    'format_setting',
    'load_toml',
    'make_grid',
    'option_problems',
    'parse_value',
    'plural',
    'previous_run_id',
    'read_toml',
    'run_id',
    'setting_name',
    'setting_types',
]


# -- set by the sweep for every run, so not settings one can fix or vary
RESERVED = ('out', 'progress', 'save')
# -- the sweep's own keys in a TOML file
SWEEP_KEYS = ('out', 'seeds', 'jobs', 'threads', 'save', 'cluster', 'vary', 'fixed')


class SweepError(InvalidArgumentError):
    """
    A sweep that cannot start: an unknown setting, a value of the wrong type or out of range, a
    clash. Raised before any run starts, with every problem found, one line each (also in
    .problems). An InvalidArgumentError, so a ValueError.
    """

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems) if problems is not None else [message]

    @classmethod
    def of(cls, problems):
        """One SweepError for a list of problems (one line each)."""
        if len(problems) == 1:
            return cls(problems[0], problems)
        return cls(f'{len(problems)} problems:\n  ' + '\n  '.join(problems), problems)


def plural(count, noun):
    """'1 run', '3 runs': `count` and `noun`, with an s unless the count is 1."""
    return f'{count} {noun}{"s" * (count != 1)}'


# ---------------------------------------------------------------------- settings and values

def setting_types():
    """setting name -> its type, for every TrainConfig field and `backend`."""
    hints = typing.get_type_hints(TrainConfig)
    types_ = {f.name: hints[f.name] for f in dataclasses.fields(TrainConfig)}
    types_.setdefault('backend', str)   # -- a TrainConfig field, or the sweep's own
    return types_


def _aliases():
    """Each long option of `vugrad train` (learning-rate, batch-size, ...) -> its setting."""
    parser = argparse.ArgumentParser(add_help=False)
    add_train_arguments(parser)
    aliases = {}
    for action in parser._actions:
        if isinstance(action, argparse._StoreFalseAction):
            continue   # -- --no-shuffle=true would mean shuffle=false: only `shuffle` is clear
        for option in action.option_strings:
            if option.startswith('--'):
                aliases[option[2:].replace('-', '_')] = action.dest
    return aliases


def setting_name(name):
    """The TrainConfig field (or 'backend') that `name` means: 'learning-rate' -> 'lr'."""
    types_ = setting_types()
    key = name.strip().lstrip('-').replace('-', '_')
    key = key if key in types_ else _aliases().get(key, key)
    if key not in types_ or key in RESERVED:
        known = sorted(k for k in types_ if k not in RESERVED)
        raise SweepError(f'unknown setting {name!r}: choose from {", ".join(known)}.')
    return key


def _setting_kinds(name):
    """The types a setting's value may have, None (NoneType) last: int | None -> (int, NoneType)."""
    kind = setting_types()[name]
    args = typing.get_args(kind) if (typing.get_origin(kind) in (typing.Union, types.UnionType)) \
        else (kind,)
    return tuple(sorted(args, key=lambda t: t is type(None)))


def parse_value(name, value):
    """
    A value for setting `name`, of its TrainConfig type: text is parsed ('0.1' -> 0.1,
    'true' -> True, 'none' -> None where None is allowed); a number or bool from a TOML file is
    checked (an int is fine for a float). Raises SweepError for a value of the wrong type.
    """
    kinds = _setting_kinds(name)
    names = ' or '.join('none' if k is type(None) else k.__name__ for k in kinds)
    if isinstance(value, str):
        text = value.strip()
        if type(None) in kinds and text.lower() in ('none', 'null'):
            return None
        for kind in kinds:
            if kind is bool:
                lowered = text.lower()
                if lowered in ('true', 'yes', 'on', '1'):
                    return True
                if lowered in ('false', 'no', 'off', '0'):
                    return False
            elif kind in (int, float):
                try:
                    return kind(text)
                except ValueError:
                    pass
            elif kind is str:
                return text
        raise SweepError(f'{name}={value!r}: expected {names}.')
    if value is None and type(None) in kinds:
        return None
    if isinstance(value, bool):
        if bool in kinds:
            return value
    elif isinstance(value, int) and (int in kinds or float in kinds):
        return value if int in kinds else float(value)
    elif isinstance(value, float) and float in kinds:
        return value
    raise SweepError(f'{name}={value!r}: expected {names}.')


def _check_values(name, values):
    """The list of a varied setting's values, which must be some, none of them twice."""
    values = list(values)
    if not values:
        raise SweepError(f'vary {name}: give at least one value.')
    seen = set()
    for v in values:
        if json.dumps(v) in seen:
            raise SweepError(f'vary {name}: the value {v!r} appears twice.')
        seen.add(json.dumps(v))
    return values


def format_setting(value):
    """
    A setting's value as a run's folder name (run_id) and the help show it: true, none, relu,
    an int in full (1000000), a float as Python's repr writes it (the shortest text that reads
    back as the same float: 0.001, 0.30000000000000004, 1e-05), but in the exponent form from
    1e6 up in size (1e+06, 2.5e+10, as repr has it from 1e16 up and below 1e-4).
    """
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return 'none'
    if isinstance(value, float):
        text = repr(value)
        if not math.isfinite(value) or abs(value) < 1e6 or 'e' in text:
            return text
        # -- repr's digits, in the exponent form: 1234567.5 -> 1.2345675e+06
        whole, _, fraction = text.lstrip('-').partition('.')
        digits = (whole + fraction).rstrip('0')
        return (f'{"-" * (value < 0)}{digits[0]}{"." * (len(digits) > 1)}{digits[1:]}'
                f'e+{len(whole) - 1:02d}')
    return str(value)


def run_id(settings, keys):
    """
    A run's folder name from its varied settings `keys` and its seed, stable and readable:
    'activation=relu,init=normal,seed=1', each value as format_setting writes it. Characters
    other than letters, digits and . _ - + = become _.
    """
    parts = [f'{k}={format_setting(settings[k])}' for k in keys if k != 'seed']
    parts.append(f'seed={format_setting(settings.get("seed"))}')
    return re.sub(r'[^A-Za-z0-9._+=,-]', '_', ','.join(parts))


def previous_run_id(id_, settings):
    """
    The folder name that vugrad 0.2 gave the run `id_` (of the settings `settings`), where
    it differs: it wrote floats from 1e6 up to 1e16 in full (lr=10000000000.0, now lr=1e+10).
    None where it is `id_`.
    """
    parts = []
    for part in id_.split(','):
        key, _, text = part.partition('=')
        value = settings.get(key)
        if isinstance(value, float) and text == format_setting(value):
            part = f'{key}={value!r}'
        parts.append(part)
    previous = ','.join(parts)
    return previous if previous != id_ else None


def _seeds(seeds, first):
    """The list of seeds: an int n gives first .. first + n - 1; a list is used as it is."""
    how = ('give a number of seeds (--seeds 3; seeds = 3 in a TOML file) or a list of seeds '
           '(--seeds 0,1,2; seeds = [0, 1, 2]).')
    if isinstance(seeds, str):
        try:
            seeds = [parse_value('seed', s) for s in seeds.split(',') if s.strip()] \
                if ',' in seeds else parse_value('seed', seeds)
        except SweepError:
            raise SweepError(f'seeds={seeds!r}: {how}') from None
    if isinstance(seeds, (bool, str, bytes, dict)) or not isinstance(
            seeds, (numbers.Integral, list, tuple, range)):
        raise SweepError(f'seeds={seeds!r}: {how}')
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise SweepError(f'seeds={seeds}: the number of seeds must be at least 1 (for '
                             f'the one seed {seeds}, give --seed {seeds}, or --seeds {seeds},).')
        return list(range(first, first + seeds))
    out = [parse_value('seed', s) for s in seeds]
    if not out or any(s is None or s < 0 for s in out):
        raise SweepError(f'seeds={seeds!r}: give non-negative integers.')
    return _check_values('seed', out)


def make_grid(fixed=None, vary=None, seeds=1):
    """
    The runs of a sweep, in grid order: a list of (id, settings) where settings holds every
    TrainConfig field (the defaults, then `fixed`, then one combination of the `vary` values,
    then the seed) and `backend`.

    :param fixed: {setting: value}: the same in every run (a TrainConfig is fine too).
    :param vary: {setting: [values]}: the grid is every combination, the first setting
        changing slowest. Names are as for the command line ('learning-rate' or 'lr').
    :param seeds: a number of seeds (from fixed['seed'], default 0, on) or a list of seeds;
        ignored if `vary` has 'seed'.
    """
    problems = _Problems()      # -- every problem found, reported together at the end
    fixed = _read_fixed(fixed, problems)
    vary = _read_vary(vary, problems)
    for name in vary:
        fixed.pop(name, None)   # -- a varied setting overrides a fixed one
    if 'seed' not in vary:
        first = fixed.pop('seed', None)
        vary['seed'] = problems.attempt(_seeds, seeds, 0 if first is None else first)
        if vary['seed'] is _FAILED:
            vary['seed'] = [first]
    grid = _combinations(fixed, vary)
    ids = [i for i, _ in grid]
    if len(set(ids)) != len(ids):
        problems.append('two runs of the grid get the same folder name: '
                        + next(i for i in ids if ids.count(i) > 1))
    problems += _grid_problems(grid)
    if problems:
        raise SweepError.of(problems)
    return grid


_FAILED = object()   # -- make_grid's mark of a value that could not be read


class _Problems(list):
    """make_grid's problems (a list of lines), and attempt(), which notes those of a step."""

    def attempt(self, function, *args):
        """function(*args), or _FAILED with the problems of its SweepError noted."""
        try:
            return function(*args)
        except SweepError as e:
            self.extend(e.problems)
            return _FAILED


def _read_fixed(fixed, problems):
    """make_grid's `fixed` as {setting: value}, each name and value read (a TrainConfig too)."""
    if isinstance(fixed, TrainConfig):
        fixed = {k: v for k, v in dataclasses.asdict(fixed).items() if k not in RESERVED}
    read = {}
    for k, v in (fixed or {}).items():
        name = problems.attempt(setting_name, k)
        value = _FAILED if name is _FAILED else problems.attempt(parse_value, name, v)
        if value is not _FAILED:
            read[name] = value
    return read


def _read_vary(vary, problems):
    """make_grid's `vary` as {setting: [values]}, each name and value read; one value is a list."""
    read = {}
    for k, values in (vary or {}).items():
        name = problems.attempt(setting_name, k)
        if name is _FAILED:
            continue
        if name in read:
            problems.append(f'vary {k}: {name} is varied twice.')
            continue
        if isinstance(values, (str, bytes, dict)) or not isinstance(values, typing.Iterable):
            values = [values]
        parsed = [problems.attempt(parse_value, name, v) for v in values]
        if _FAILED not in parsed:
            values = problems.attempt(_check_values, name, parsed)
            if values is not _FAILED:
                read[name] = values
    return read


def _combinations(fixed, vary):
    """The grid: (id, settings) for every combination of the `vary` values, seed last."""
    defaults = {k: v for k, v in dataclasses.asdict(TrainConfig()).items() if k not in RESERVED}
    defaults.setdefault('backend', 'vugrad')
    base = {**defaults, **fixed}
    keys = [k for k in vary if k != 'seed'] + ['seed']
    grid = []
    for combination in itertools.product(*(vary[k] for k in keys)):
        settings = {**base, **dict(zip(keys, combination))}
        grid.append((run_id(settings, keys), settings))
    return grid


def _grid_problems(grid):
    """
    The problems of every run's settings, as TrainConfig.validate finds them: each one once,
    with the runs it is in where that is not all of them.
    """
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    found = {}
    for id_, settings in grid:
        config = TrainConfig(**{k: v for k, v in settings.items() if k in names})
        for problem in config.problems():
            found.setdefault(problem, []).append(id_)
    return [problem if len(ids) == len(grid) else
            f'{problem} (in {plural(len(ids), "run")}: {ids[0]}{", ..." * (len(ids) > 1)})'
            for problem, ids in found.items()]


def option_problems(**options):
    """
    The problems (a list of lines; [] when all is well) of the sweep's own options given here
    as keywords: out, seeds, jobs, threads, save, cluster (its form: see cluster_problem).
    """
    problems = []
    for key, value in options.items():
        if key in ('jobs', 'threads') and value is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                what = ('runs at a time' if key == 'jobs' else 'BLAS threads per run')
                problems.append(f'{key}={value!r}: give a whole number of at least 1 ({what}), '
                                'or leave it out for the default.')
        elif key == 'seeds':
            try:
                _seeds(value, 0)
            except SweepError as e:
                problems.extend(e.problems)
        elif key == 'save' and value is not None:
            if not isinstance(value, str) or not value.endswith('.npz') \
                    or os.path.basename(value) != value:
                problems.append(f'save={value!r}: give a file name ending in .npz (no folder): '
                                "it is saved in each run's folder.")
        elif key == 'cluster' and value is not None:
            problem = cluster_problem(value)
            if problem:
                problems.append(problem)
        elif key == 'out':
            if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                problems.append(f'out={value!r}: give the folder of the sweep as text '
                                '(--out DIR; out = "DIR" in a TOML file).')
            elif path_problem(value, folder=True):
                problems.append(f'out={os.fspath(value)!r}: {path_problem(value, folder=True)}')
    return problems


#: The message for -j or --threads given with --cluster.
CLUSTER_DECIDES = ('-j/--jobs and --threads do not go with --cluster: the workers of the '
                   'cluster decide how many runs go at a time and with how many threads (start '
                   'them with `dask worker --nthreads 1` and OPENBLAS_NUM_THREADS=1).')

_ADDRESS = re.compile(r'(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})')


def cluster_problem(cluster):
    """
    What is wrong with a --cluster value, or None: 'local:N' (a cluster of N single-threaded
    worker processes on this machine, N >= 1) or the address of a Dask scheduler,
    'tcp://HOST:PORT' or 'tls://HOST:PORT'.
    """
    how = ("give local:N (N worker processes on this machine) or a Dask scheduler's address, "
           'tcp://HOST:PORT or tls://HOST:PORT (e.g. tcp://127.0.0.1:8786).')
    if not isinstance(cluster, str) or not cluster.strip():
        return f'cluster={cluster!r}: {how}'
    text = cluster.strip()
    if text.startswith('local:'):
        count = text[len('local:'):]
        if not count.isdigit() or int(count) < 1:
            return f'cluster={cluster!r}: local:N needs a whole number of workers N >= 1.'
        return None
    match = _ADDRESS.fullmatch(text)
    if match is None:
        return f'cluster={cluster!r}: {how}'
    if not 0 < int(match.group(3)) < 65536:
        return f'cluster={cluster!r}: the port must be 1 .. 65535.'
    return None


def check_sweep(out, fixed=None, vary=None, seeds=1, jobs=None, threads=None, save=None,
                cluster=None):
    """
    The grid of make_grid(fixed, vary, seeds), once every run's settings (as
    TrainConfig.validate checks them) and the sweep's own options are checked: one SweepError
    lists every problem, before any run starts (run_sweep calls it, also for a dry run).
    `cluster` (an address, see cluster_problem) is checked for its form only, and refused
    with jobs or threads: a cluster's workers decide those.
    """
    problems = option_problems(out=out, jobs=jobs, threads=threads, save=save,
                                cluster=cluster)
    if cluster is not None and (jobs is not None or threads is not None):
        problems.append(CLUSTER_DECIDES)
    try:
        grid = make_grid(fixed, vary, seeds)
    except SweepError as e:
        problems = e.problems + problems
    if problems:
        raise SweepError.of(problems)
    return grid


# ---------------------------------------------------------------------- TOML files

def load_toml(path):
    """
    Read a sweep's TOML file: returns {'fixed': {...}, 'vary': {...}} and whichever of out,
    seeds, jobs, threads, save it sets. Names, types and the sweep's own options are checked,
    and a setting given twice (fixed and varied, say) is an error: one SweepError lists every
    problem. (The values' ranges are checked with the grid: check_sweep.)
    """
    spec, problems = read_toml(path)
    if problems:
        raise SweepError.of(problems)
    return spec


def read_toml(path):
    """load_toml's spec, and its problems (a list of lines) instead of raising them."""
    spec, problems, where = {'fixed': {}, 'vary': {}}, [], {}
    for key, value in _parse_toml(path).items():
        if key in ('vary', 'fixed'):
            if not isinstance(value, dict):
                problems.append(f'{path}: [{key}] must be a table.')
                continue
            for k, v in value.items():
                found = _read_setting(spec, where, key, k, v, f'[{key}]')
                problems.extend(f'{path}: {p}' for p in found)
        elif key in SWEEP_KEYS:
            found = option_problems(**{key: value})
            if key in ('out', 'save', 'cluster') and not isinstance(value, str):
                found = found or [f'{key}={value!r}: expected text.']
            problems.extend(f'{path}: {p}' for p in found)
            if not found:
                spec[key] = value
        else:
            found = _read_setting(spec, where, 'fixed', key, value, 'the settings at the top')
            problems.extend(f'{path}: {p}' for p in found)
    return spec, problems


def _parse_toml(path):
    """The TOML file `path` as a dict; a SweepError where it cannot be read or parsed."""
    try:
        import tomllib
    except ImportError:   # -- Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SweepError('reading a TOML file needs Python 3.11 or the tomli package '
                             '(pip install tomli).') from None
    try:
        with open(path, 'rb') as f:
            return tomllib.load(f)
    except OSError as e:
        raise SweepError(f'cannot read {path}: {e.strerror}') from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f'{path}: not valid TOML: {e}') from None


def _read_setting(spec, where, table, key, value, place):
    """
    Put one setting of a TOML file into spec[table] ('fixed' or 'vary'), and into `where`
    ({setting: the place in the file that gives it}) `place`; return its problems.
    """
    try:
        name = setting_name(key)
        if name in where:
            twice = (f'twice in {place}' if where[name] == place else
                     f'both in {where[name]} and in {place}')
            return [f'{name} is given {twice}: give it once, fixed or under [vary].']
        where[name] = place
        if table == 'vary':
            values = [parse_value(name, x) for x in (value if isinstance(value, list)
                                                     else [value])]
            spec['vary'][name] = _check_values(name, values)
        else:
            spec['fixed'][name] = parse_value(name, value)
    except SweepError as e:
        return e.problems
    return []
