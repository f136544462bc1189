"""
Sweeps: a grid of training runs, in parallel processes, ending in a table and a plot.

    vugrad sweep -D mnist -l 0.0001 -e 5 --vary activation=sigmoid,relu --seeds 3 \
        --out runs/activations
    vugrad sweep --config examples/activations.toml   # the same, from a file
    vugrad plot runs/activations                      # remake the plot and report from the files

Every option of `vugrad train` can be fixed (as a flag, as for `vugrad train`) or varied
(`--vary NAME=V1,V2,...`, by the option's name or its field in vugrad.lab.config.TrainConfig:
`--vary lr=0.001,0.0001`, `--vary learning-rate=...`, `--vary hidden=none,300`). The grid is
every combination of the varied values, each run with `--seeds N` seeds (0 .. N-1, from
`--seed S` on: S .. S+N-1). `--vary backend=vugrad,torch` runs the same grid in both libraries.

Each run gets its own folder, named after its varied settings and seed
(DIR/activation=relu,seed=1/), and its own process, with cores // jobs BLAS threads. In it:
config.json (at the start: every setting, after the data set's recipe, as
TrainConfig.resolved() has them: -D cifar10 records batch_size=4), log.txt, and when it ends
metrics.json (written atomically: a run is
finished when that file exists; its status is 'diverged' where the training loss became NaN or
inf, with the epochs before) or error.txt (the traceback; the other runs go on). Running the
same command again skips the finished runs and reruns the others. Every run's settings, and the
sweep's own, are checked before the first run starts (also by --dry-run). At the end the folder
gets metrics.csv, curves.png and report.md (see vugrad.lab.report).

The runs run in processes here (LocalPool), or, with --cluster ADDRESS (a Dask scheduler's
address, or local:N), as tasks on a Dask cluster: vugrad.lab.cluster, whose pool sends the
runs' files back here, where everything else happens as for a local sweep.

From Python (in a script, under `if __name__ == '__main__':`, as runs start new processes):

    from vugrad.lab.sweep import run_sweep
    run_sweep('runs/activations', fixed=dict(data='mnist', lr=0.0001, epochs=5),
              vary=dict(activation=['sigmoid', 'relu']), seeds=3)

A TOML file holds the same: options of `vugrad train` at the top level (or under [fixed]),
the lists of values under [vary], and the sweep's own out, seeds, jobs, threads:

    out = "runs/activations"
    seeds = 3
    data = "mnist"
    lr = 0.0001
    epochs = 5
    [vary]
    activation = ["sigmoid", "relu"]

Options given on the command line take precedence over the file's.
"""

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import multiprocessing
import multiprocessing.connection
import numbers
import os
import re
import shlex
import signal
import socket
import sys
import threading
import time
import traceback
import types
import typing
from collections import deque

from ..errors import DivergedError, InvalidArgumentError
from ..fileio import atomic_write
from ..malloc import tune_malloc
from . import report
from .config import BACKENDS, TrainConfig, add_train_arguments, path_problem
from . import runner

__all__ = [
    'BACKENDS',
    'LOCK_NAME',
    'SweepError',
    'SweepLockedError',
    'add_plot_arguments',
    'add_sweep_arguments',
    'folder_lock',
    'load_toml',
    'make_grid',
    'parse_value',
    'plot_command',
    'run_id',
    'run_sweep',
    'sweep_command',
]

# -- set by the sweep for every run, so not settings one can fix or vary
RESERVED = ('out', 'progress', 'save')
# -- the sweep's own keys in a TOML file
SWEEP_KEYS = ('out', 'seeds', 'jobs', 'threads', 'save', 'cluster', 'vary', 'fixed')
THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
                    'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS')


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


# ---------------------------------------------------------------------- settings and values

def _types():
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
    types_ = _types()
    key = name.strip().lstrip('-').replace('-', '_')
    key = key if key in types_ else _aliases().get(key, key)
    if key not in types_ or key in RESERVED:
        known = sorted(k for k in types_ if k not in RESERVED)
        raise SweepError(f'unknown setting {name!r}: choose from {", ".join(known)}.')
    return key


def _kinds(name):
    """The types a setting's value may have, None (NoneType) last: int | None -> (int, NoneType)."""
    kind = _types()[name]
    args = typing.get_args(kind) if (typing.get_origin(kind) in (typing.Union, types.UnionType)) \
        else (kind,)
    return tuple(sorted(args, key=lambda t: t is type(None)))


def parse_value(name, value):
    """
    A value for setting `name`, of its TrainConfig type: text is parsed ('0.1' -> 0.1,
    'true' -> True, 'none' -> None where None is allowed); a number or bool from a TOML file is
    checked (an int is fine for a float). Raises SweepError for a value of the wrong type.
    """
    kinds = _kinds(name)
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


def _split_vary(text):
    """'activation=sigmoid,relu' -> ('activation', ['sigmoid', 'relu'])."""
    name, sep, values = text.partition('=')
    if not sep or not name.strip() or not values.strip():
        raise SweepError(f'--vary {text!r}: write NAME=VALUE1,VALUE2,... '
                         '(e.g. --vary activation=sigmoid,relu).')
    return name, [v for v in values.split(',')]


def _check_values(name, values):
    values = list(values)
    if not values:
        raise SweepError(f'vary {name}: give at least one value.')
    seen = set()
    for v in values:
        if json.dumps(v) in seen:
            raise SweepError(f'vary {name}: the value {v!r} appears twice.')
        seen.add(json.dumps(v))
    return values


def _format(value):
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return 'none'
    if isinstance(value, float):
        return repr(value)
    return str(value)


def run_id(settings, keys):
    """
    A run's folder name from its varied settings `keys` and its seed, stable and readable:
    'activation=relu,init=normal,seed=1'. Characters other than letters, digits and . _ - + =
    become _.
    """
    parts = [f'{k}={_format(settings[k])}' for k in keys if k != 'seed']
    parts.append(f'seed={_format(settings.get("seed"))}')
    return re.sub(r'[^A-Za-z0-9._+=,-]', '_', ','.join(parts))


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
    problems = []      # -- every problem found, reported together at the end

    def attempt(function, *args):
        try:
            return function(*args)
        except SweepError as e:
            problems.extend(e.problems)
            return _FAILED

    if isinstance(fixed, TrainConfig):
        fixed = {k: v for k, v in dataclasses.asdict(fixed).items() if k not in RESERVED}
    fixed_ = {}
    for k, v in (fixed or {}).items():
        name = attempt(setting_name, k)
        value = _FAILED if name is _FAILED else attempt(parse_value, name, v)
        if value is not _FAILED:
            fixed_[name] = value
    fixed = fixed_
    vary_ = {}
    for k, values in (vary or {}).items():
        name = attempt(setting_name, k)
        if name is _FAILED:
            continue
        if name in vary_:
            problems.append(f'vary {k}: {name} is varied twice.')
            continue
        if isinstance(values, (str, bytes, dict)) or not isinstance(values, typing.Iterable):
            values = [values]
        parsed = [attempt(parse_value, name, v) for v in values]
        if _FAILED not in parsed:
            values = attempt(_check_values, name, parsed)
            if values is not _FAILED:
                vary_[name] = values
    for name in vary_:
        fixed.pop(name, None)   # -- a varied setting overrides a fixed one
    if 'seed' not in vary_:
        first = fixed.pop('seed', None)
        vary_['seed'] = attempt(_seeds, seeds, 0 if first is None else first)
        if vary_['seed'] is _FAILED:
            vary_['seed'] = [first]
    defaults = {k: v for k, v in dataclasses.asdict(TrainConfig()).items() if k not in RESERVED}
    defaults.setdefault('backend', 'vugrad')
    base = {**defaults, **fixed}
    keys = [k for k in vary_ if k != 'seed'] + ['seed']
    grid = []
    for combination in itertools.product(*(vary_[k] for k in keys)):
        settings = {**base, **dict(zip(keys, combination))}
        grid.append((run_id(settings, keys), settings))
    ids = [i for i, _ in grid]
    if len(set(ids)) != len(ids):
        problems.append('two runs of the grid get the same folder name: '
                        + next(i for i in ids if ids.count(i) > 1))
    problems += _grid_problems(grid)
    if problems:
        raise SweepError.of(problems)
    return grid


_FAILED = object()   # -- make_grid's mark of a value that could not be read


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
            f'{problem} (in {_n(len(ids), "run")}: {ids[0]}{", ..." * (len(ids) > 1)})'
            for problem, ids in found.items()]


def _option_problems(**options):
    """
    The problems of the sweep's own options (out, seeds, jobs, threads, save, cluster) given
    here.
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
    problems = _option_problems(out=out, jobs=jobs, threads=threads, save=save,
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
    spec, problems = _read_toml(path)
    if problems:
        raise SweepError.of(problems)
    return spec


def _read_toml(path):
    """load_toml's spec, and its problems (a list of lines) instead of raising them."""
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
            data = tomllib.load(f)
    except OSError as e:
        raise SweepError(f'cannot read {path}: {e.strerror}') from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f'{path}: not valid TOML: {e}') from None
    spec, problems, where = {'fixed': {}, 'vary': {}}, [], {}

    def read(table, key, value, place):
        """Put one setting of the file into spec[table]; note its problems."""
        try:
            name = setting_name(key)
            if name in where:
                twice = (f'twice in {place}' if where[name] == place else
                         f'both in {where[name]} and in {place}')
                problems.append(f'{path}: {name} is given {twice}: give it once, fixed or '
                                'under [vary].')
                return
            where[name] = place
            if table == 'vary':
                values = [parse_value(name, x) for x in (value if isinstance(value, list)
                                                         else [value])]
                spec['vary'][name] = _check_values(name, values)
            else:
                spec['fixed'][name] = parse_value(name, value)
        except SweepError as e:
            problems.extend(f'{path}: {p}' for p in e.problems)

    for key, value in data.items():
        if key in ('vary', 'fixed'):
            if not isinstance(value, dict):
                problems.append(f'{path}: [{key}] must be a table.')
                continue
            for k, v in value.items():
                read(key, k, v, f'[{key}]')
        elif key in SWEEP_KEYS:
            found = _option_problems(**{key: value})
            if key in ('out', 'save', 'cluster') and not isinstance(value, str):
                found = found or [f'{key}={value!r}: expected text.']
            problems.extend(f'{path}: {p}' for p in found)
            if not found:
                spec[key] = value
        else:
            read('fixed', key, value, 'the settings at the top')
    return spec, problems


# ---------------------------------------------------------------------- running

def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # -- macOS, Windows
        return os.cpu_count() or 1


def _write_json(path, data):
    report.write_json(path, data)     # -- strict JSON: NaN and inf as null


def _write_text(path, text):
    with atomic_write(path, newline='') as f:
        f.write(text)


def _comparable(config):
    return {k: v for k, v in config.items() if k not in report.NOT_SETTINGS}


def _resolved(settings):
    """
    A run's settings as it records them (in config.json and metrics.json): those of
    TrainConfig.resolved(), so a data set's recipe (-D cifar10: batch 4, lr 0.001, ...) fills
    the settings that were not given; backend kept.
    """
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    try:
        config = TrainConfig(**{k: v for k, v in settings.items() if k in names}).resolved()
    except (TypeError, ValueError):
        return dict(settings)
    resolved = {k: v for k, v in dataclasses.asdict(config).items() if k in settings}
    return {**settings, **resolved}


def _make_config(settings, folder, save):
    """The TrainConfig of a run (validated) and its backend."""
    settings = dict(settings)
    backend = settings.get('backend', 'vugrad')
    if backend not in BACKENDS:
        raise ValueError(f'backend={backend!r}: choose one of {", ".join(BACKENDS)}.')
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in settings.items() if k in names})
    config = dataclasses.replace(config, out=None, progress=False,
                                 save=os.path.join(folder, save) if save else None)
    return config.validate(), backend


def _die_with_parent():
    """
    End this worker (with SIGTERM) when the sweep's process ends, even if that was killed
    (SIGKILL) and could not stop its workers: Linux's PR_SET_PDEATHSIG does it at once; a
    thread that checks the parent's pid every second does it elsewhere (and where prctl fails).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return                             # -- not started by a sweep (called directly)
    if sys.platform.startswith('linux'):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)   # -- 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def stop_if_orphaned():
        while True:
            if os.getppid() != parent.pid:     # -- reparented: the sweep is gone
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
                os._exit(1)
            time.sleep(1)
    if os.getppid() != parent.pid:             # -- it ended before prctl took effect
        os._exit(1)
    threading.Thread(target=stop_if_orphaned, name='vugrad-parent-watch', daemon=True).start()


@contextlib.contextmanager
def _streams_to(logfile):
    """
    Point this process's stdout and stderr at `logfile` for the block (a run's process: warnings
    and prints of the training go to the run's log).
    """
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = logfile
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams


def run_task(task, redirect=_streams_to):
    """
    Run one run of a sweep in its folder task['folder'] (which exists), where it writes
    log.txt, then metrics.json (written atomically: the run finished; status 'ok' or
    'diverged') or error.txt (the traceback: it failed), and task['save'] if given. The
    local processes and the workers of a cluster (vugrad.lab.cluster) both run this;
    `redirect(logfile)` is the context in which the training's prints and warnings go to the
    log.
    """
    folder = task['folder']
    with open(os.path.join(folder, 'log.txt'), 'w') as logfile:

        def log(*args, **kwargs):
            print(*args, **kwargs, file=logfile, flush=True)
        diverged = None
        try:
            with redirect(logfile):
                config, backend = _make_config(task['settings'], folder, task['save'])
                metrics = runner.run(config, progress=False, log=log)   # -- by config.backend
        except DivergedError as e:
            # -- not a failure but an outcome of these settings: recorded as status 'diverged'
            #    with the epochs before it (rerunning the same settings would diverge again)
            log(f'## diverged: {e}')
            diverged, metrics = e, list(getattr(e, 'metrics', []))
        except Exception:   # noqa: BLE001 - any error of a run is recorded, not raised
            text = traceback.format_exc()
            log(text)
            _write_text(os.path.join(folder, 'error.txt'), text)
            return
    # -- the settings as this process saw them (the code may have changed since the sweep
    #    started; then a rerun of the sweep finds them different, and says so)
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESERVED}
    settings['backend'] = backend
    outcome = ({'status': 'ok'} if diverged is None else
               {'status': 'diverged', 'error': str(diverged), 'epoch': diverged.epoch,
                'batch': diverged.batch})
    _write_json(os.path.join(folder, 'metrics.json'),
                {'id': task['id'], 'index': task['index'], **outcome,
                 'config': settings, 'metrics': metrics})


def _worker(task):
    """Run one training run in this (fresh) process; its outcome goes into its folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # -- the sweep stops us with SIGTERM
    _die_with_parent()
    tune_malloc()      # -- this process is the sweep's own (VUGRAD_MALLOC_TUNING=0: no change)
    run_task(task)


def start_run(task):
    """
    Make a run's folder ready for its files: made, the outcome of an earlier try (error.txt,
    metrics.json) removed, config.json written. Done as the run starts on this machine; for
    a run on a cluster, as its files arrive.
    """
    os.makedirs(task['folder'], exist_ok=True)
    for stale in ('error.txt', 'metrics.json'):
        path = os.path.join(task['folder'], stale)
        if os.path.exists(path):
            os.remove(path)
    _write_json(os.path.join(task['folder'], 'config.json'),
                {'id': task['id'], 'index': task['index'], 'config': task['settings']})


def _outcome(task, exitcode):
    """
    ('ok', summary), ('diverged', where) or ('failed', message) of a run whose process has
    ended.
    """
    folder = task['folder']
    done = _finished(folder)
    if done is not None and done.get('status') == 'diverged':
        return 'diverged', (done.get('error') or 'training diverged').partition('. Try')[0]
    if done is not None:
        rows = done.get('metrics') or []
        if not rows:
            return 'ok', '(no epochs)'
        seconds = sum(r['seconds'] for r in rows)
        loss = float(rows[-1]['train_loss'])
        return 'ok', (f'val acc {rows[-1]["val_acc"]:.4f}  ({len(rows)} '
                      f'epoch{"s" * (len(rows) != 1)}, {seconds:.1f} s training)'
                      + ('' if math.isfinite(loss) else f'  diverged: training loss {loss}'))
    error = os.path.join(folder, 'error.txt')
    if not os.path.exists(error):
        text = (f"the run's process ended with exit code {exitcode} before it wrote its "
                'metrics (killed, or out of memory?)\n' if exitcode is not None else
                'the run ended without writing its metrics or an error\n')
        _write_text(error, text)
    with open(error, errors='replace') as f:
        lines = [line.strip() for line in f if line.strip()]
    return 'failed', lines[-1] if lines else 'failed'


def _finished(folder):
    """The metrics.json of a finished run in `folder` (report.read_metrics), else None."""
    try:
        return report.read_metrics(os.path.join(folder, 'metrics.json'))
    except report.RunFileError:
        return None          # -- a damaged file: the run is run again (its files replaced)


def _n(count, noun):
    return f'{count} {noun}{"s" * (count != 1)}'


# ---------------------------------------------------------------------- the folder's lock

#: The lock file of a sweep's folder: {"pid", "host", "started"} of the sweep that runs in it.
LOCK_NAME = 'sweep.lock'


class SweepLockedError(SweepError):
    """Another sweep runs into the same folder: it holds the folder's lock."""


def _pid_alive(pid):
    """Whether process `pid` of this host runs (a zombie, ended but not reaped, does not)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    if sys.platform == 'win32':
        return True          # -- os.kill(pid, 0) would end it there: assume it runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True          # -- another user's process
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rpartition(')')[2].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):
        return True          # -- no /proc (macOS): kill said it is there


def _describe(holder):
    return (f'pid {holder.get("pid")} on {holder.get("host")}, started '
            f'{holder.get("started")}')


@contextlib.contextmanager
def folder_lock(out, log=print):
    """
    Hold the lock of the sweep folder `out` (its file LOCK_NAME, made with O_CREAT | O_EXCL,
    so that only one process can make it) for the `with` block; release it at the end, also
    on an error or Ctrl-C. Raises SweepLockedError when a live process holds it; takes over the
    lock of a process that is gone, with a note to `log`.
    """
    log = log or (lambda *args, **kwargs: None)
    path = os.path.join(out, LOCK_NAME)
    me = {'pid': os.getpid(), 'host': socket.gethostname(),
          'started': time.strftime('%Y-%m-%d %H:%M:%S %z')}
    text = json.dumps(me) + '\n'
    deadline = time.monotonic() + 10
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        else:
            try:
                with os.fdopen(fd, 'w') as f:
                    f.write(text)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.remove(path)
                raise
            break
        try:
            with open(path) as f:
                seen = f.read()
            age = time.time() - os.stat(path).st_mtime
        except FileNotFoundError:
            continue                      # -- released just now: try again
        try:
            holder = json.loads(seen)
            holder = holder if isinstance(holder, dict) else None
        except ValueError:
            holder = None
        if holder is None and age < 5 and time.monotonic() < deadline:
            time.sleep(0.05)              # -- being written by the sweep that made it
            continue
        if holder is not None and (holder.get('host') != me['host']
                                   or _pid_alive(holder.get('pid'))):
            raise SweepLockedError(
                f'{out} is in use by another sweep ({_describe(holder)}; lock file {path}). '
                'Wait for it to end, or give another --out; if no sweep runs there any more, '
                'delete the lock file.')
        if time.monotonic() > deadline:
            raise SweepLockedError(f'could not take the lock {path} of {out}: delete it if no '
                                   'sweep runs there.')
        _take_over(path, seen)
        log('## took over the stale lock of a sweep that is gone ('
            + (_describe(holder) if holder else 'an unreadable lock file') + ')')
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            with open(path) as f:
                ours = f.read() == text
            if ours:
                os.remove(path)


def _take_over(path, stale):
    """Remove the stale lock file `path` (whose text was `stale`), unless another took it."""
    aside = f'{path}.{os.getpid()}.stale'
    try:
        os.rename(path, aside)            # -- atomic: of two sweeps, one moves it
    except FileNotFoundError:
        return
    try:
        with open(aside) as f:
            moved = f.read()
        if moved != stale:                # -- another sweep's fresh lock: put it back
            with contextlib.suppress(OSError):
                os.link(aside, path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(aside)


# ---------------------------------------------------------------------- running a sweep

class LocalPool:
    """
    How a sweep runs its runs on this machine: each in a new process (spawned), `jobs` at a
    time (None: one per core, no more than there are runs), each with `threads` BLAS/OpenMP
    threads (None: cores // jobs, at least 1).

    A sweep's pool (this one, or vugrad.lab.cluster's) has: describe(count), the line of the
    sweep's first message on how `count` runs will run; open(log) and close(), around the
    running; run(tasks, done), which runs the tasks (dicts: id, index, folder, settings, save)
    in that order as far as it can, calls done(task, status, message, seconds) as each ends
    (status and message from _outcome) and raises KeyboardInterrupt, after stopping what runs,
    when interrupted; and stopped, the note printed after an interruption.
    """

    stopped = 'its runs were stopped'

    def __init__(self, jobs=None, threads=None):
        self.jobs, self.threads, self._saved_env = jobs, threads, None

    def describe(self, count):
        self.jobs = max(1, min(self.jobs or _cores(), max(count, 1)))
        self.threads = self.threads or max(1, _cores() // self.jobs)
        return f'{self.jobs} at a time, {_n(self.threads, "BLAS thread")} each'

    def open(self, log):
        self._saved_env = {k: os.environ.get(k) for k in THREAD_VARIABLES}
        for k in THREAD_VARIABLES:   # -- inherited by the runs' processes
            os.environ[k] = str(self.threads)

    def close(self):
        for k, v in (self._saved_env or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = None

    def run(self, tasks, done):
        pending, running = deque(tasks), {}
        context = multiprocessing.get_context('spawn')
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    task = pending.popleft()
                    start_run(task)
                    process = context.Process(target=_worker, args=(task,),
                                              name=f'vugrad sweep {task["id"]}')
                    process.start()
                    running[process.sentinel] = (process, task, time.perf_counter())
                for sentinel in multiprocessing.connection.wait(list(running)):
                    process, task, start = running.pop(sentinel)
                    process.join()
                    done(task, *_outcome(task, process.exitcode), time.perf_counter() - start)
        finally:
            for process, task, _ in running.values():
                process.terminate()
            for process, task, _ in running.values():
                process.join()


def run_sweep(out, fixed=None, vary=None, seeds=1, jobs=None, threads=None, save=None,
              command=None, dry_run=False, log=print, cluster=None, pool=None):
    """
    Run the grid of make_grid(fixed, vary, seeds) into the folder `out`, `jobs` runs at a time
    (None: one per core), each in a new process with `threads` BLAS/OpenMP threads (None:
    cores // jobs, at least 1); skip the runs that finished before; then write metrics.csv,
    curves.png and report.md.

    The folder is locked while the sweep runs (its file sweep.lock holds the sweep's pid, host
    and start time): a second sweep into it raises SweepLockedError at once, naming the first;
    the lock of a sweep that is gone (its pid not alive on this host) is taken over, with a
    note. A dry run takes no lock.

    :param save: a file name (.npz): save each run's trained parameters under it in the run's
        folder.
    :param command: the command line, shown in the report.
    :param dry_run: only list the runs (and whether they are done); run nothing.
    :param cluster: where the runs run, when not here: a Dask cluster's address, or local:N
        (see cluster_problem); this function checks it, and vugrad.lab.cluster.run_sweep (the
        same arguments) runs it. No jobs or threads then: the cluster's workers decide.
    :param pool: what runs the runs: None for processes on this machine (LocalPool(jobs,
        threads)); the cluster's (vugrad.lab.cluster.ClusterPool) with `cluster`.
    :returns: a list of dicts, one per run in grid order, with id, folder, status ('ok',
        'skipped' (finished before), 'failed', 'diverged' (the training loss became NaN or
        inf: a finished run, with the epochs before), or 'pending' in a dry run) and message.
    """
    check_sweep(out, fixed, vary, seeds, jobs=jobs, threads=threads, save=save,
                cluster=cluster)
    if (cluster is None) != (pool is None or isinstance(pool, LocalPool)):
        raise SweepError(f'cluster={cluster!r}: run a sweep on a cluster with '
                         'vugrad.lab.cluster.run_sweep (the same arguments), as `vugrad sweep '
                         '--cluster` does.' if cluster is not None else
                         "pool: a cluster's pool goes with its cluster=ADDRESS.")
    options = dict(out=out, fixed=fixed, vary=vary, seeds=seeds, jobs=jobs, threads=threads,
                   save=save, command=command, dry_run=dry_run, log=log, pool=pool)
    if dry_run:
        return _run_sweep(**options)
    os.makedirs(out, exist_ok=True)
    with folder_lock(out, log=log):
        return _run_sweep(**options)


def _run_sweep(out, fixed=None, vary=None, seeds=1, jobs=None, threads=None, save=None,
               command=None, dry_run=False, log=print, pool=None):
    """run_sweep's work, in the folder `out` that it has locked (unless a dry run)."""
    log = log or (lambda *args, **kwargs: None)
    # -- every run's settings and the sweep's options, checked before anything runs
    grid = check_sweep(out, fixed, vary, seeds, jobs=jobs, threads=threads, save=save)

    # -- which runs are finished? A finished run with other settings is a clash, not a skip
    results, todo = [], []
    for index, (id_, settings) in enumerate(grid):
        folder = os.path.join(out, id_)
        result = {'id': id_, 'folder': folder, 'status': 'pending', 'message': ''}
        settings = _resolved(settings)   # -- as the run records it: cifar10's recipe applied
        done = _finished(folder)
        if done is not None:
            theirs, ours = _comparable(done.get('config', {})), _comparable(settings)
            if theirs != ours:
                diff = ', '.join(f'{k}: {ours.get(k)!r} here, {theirs.get(k)!r} there'
                                 for k in sorted(set(theirs) | set(ours))
                                 if theirs.get(k) != ours.get(k))
                raise SweepError(f'{folder} holds a finished run with other settings ({diff}); '
                                 'use another --out, or delete that folder to run it again.')
            result.update(status='skipped', message='finished before')
        else:
            todo.append({'id': id_, 'index': index, 'folder': folder, 'settings': settings,
                         'save': save})
        results.append(result)
    by_id = {r['id']: r for r in results}

    pool = pool if pool is not None else LocalPool(jobs, threads)
    configurations = len(grid) // max(len({s['seed'] for _, s in grid}), 1)
    log(f'## sweep: {_n(len(grid), "run")} ({_n(configurations, "configuration")} x '
        f'{_n(len(grid) // max(configurations, 1), "seed")}) in {out}; '
        f'{len(grid) - len(todo)} finished before; {pool.describe(len(todo))}')
    for r in results:
        if r['status'] == 'skipped':
            log(f'## skipped (finished): {r["id"]}')
    if dry_run:
        for task in todo:
            log(f'## would run: {task["id"]}')
        return results

    if todo:
        pool.open(log)        # -- a cluster: connected, its versions checked, before any file
    try:
        os.makedirs(out, exist_ok=True)
        _write_json(os.path.join(out, 'sweep.json'),
                    {'command': command,
                     'fixed': (dataclasses.asdict(fixed) if isinstance(fixed, TrainConfig)
                               else fixed),
                     'vary': vary, 'seeds': seeds})
        # -- the first seed of every configuration first, so an interrupted sweep has them all
        seed_rank = {s: i for i, s in enumerate(dict.fromkeys(s['seed'] for _, s in grid))}
        ordered = sorted(todo, key=lambda t: (seed_rank[t['settings']['seed']], t['index']))
        count, interrupted = 0, False

        def finished(task, status, message, seconds):
            nonlocal count
            by_id[task['id']].update(status=status, message=message)
            count += 1
            log(f'[{count:{len(str(len(todo)))}}/{len(todo)}] '
                f'{"ok" if status == "ok" else status.upper():8}  {task["id"]}  {message}'
                f'  [{seconds:.0f} s]')
        try:
            if ordered:
                pool.run(ordered, finished)
        except KeyboardInterrupt:
            interrupted = True
    finally:
        if todo:
            pool.close()
    if interrupted:
        log(f'## interrupted ({pool.stopped}): run the same command again to finish the sweep '
            '(finished runs are kept)')

    _, groups, _ = report.write_outputs(out, log=log)
    per_class = report.per_class_table(groups)
    if per_class:
        log('## validation accuracy per class (%), after the last epoch, mean over seeds:')
        for line in per_class:
            log(line)
    failed = [r for r in results if r['status'] == 'failed']
    log(f'## wrote {os.path.join(out, "metrics.csv")}, curves.png and report.md')
    if failed:
        log(f'## {len(failed)} run{"s" * (len(failed) != 1)} failed: see error.txt in '
            + ', '.join(r['folder'] for r in failed))
    diverged = [r for r in results if r['status'] == 'diverged']
    if diverged:
        log(f'## {_n(len(diverged), "run")} diverged (the training loss became nan or inf; '
            'try a lower learning rate): ' + ', '.join(r['id'] for r in diverged))
    if interrupted:
        raise KeyboardInterrupt
    return results


# ---------------------------------------------------------------------- the commands

EXAMPLES = """examples:
  vugrad sweep -D mnist -l 0.0001 -e 5 --vary activation=sigmoid,relu --seeds 3 --out runs/act
  vugrad sweep -D mnist -l 0.0001 -e 5 --vary init=glorot,normal,zeros --seeds 3 --out runs/init
  vugrad sweep -D mnist -l 0.0001 -e 3 --vary backend=vugrad,torch --seeds 2 --out runs/both
  vugrad sweep --config examples/activations.toml   (the same options, from a TOML file)
  vugrad sweep --config examples/cnn_batchnorm.toml  (the blitz CNN on CIFAR-10, both backends)
  vugrad sweep --config examples/activations.toml --cluster tcp://HOST:8786
                                                    (on a Dask cluster: docs/cluster.md)
  vugrad plot runs/act                              (redraw the plot and the report)

Each run gets a folder DIR/<its varied settings and seed>/; run the same command again to
finish an interrupted sweep (finished runs are skipped, failed ones run again).
"""


def _train_actions(parser):
    return [a for a in parser._actions if a.dest in _types() and a.option_strings]


def add_sweep_arguments(parser):
    """The options of `vugrad sweep`: those of `vugrad train`, and the sweep's own."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    add_train_arguments(parser)
    if '--backend' not in parser._option_string_actions:
        parser.add_argument('--backend', choices=BACKENDS, default='vugrad',
                            help='the library that trains: vugrad or torch (PyTorch, the same '
                                 'model, weights, batches and optimizer) (default: vugrad)')
    for action in _train_actions(parser):
        # -- show the default in the help, but leave unset options out of the namespace, so
        #    that only the options given on the command line override a TOML file's
        if action.help and '%(default)s' in action.help:
            action.help = action.help.replace('%(default)s', _format(action.default))
        action.default = argparse.SUPPRESS
        if action.dest == 'out':
            action.help = 'the folder of the sweep: a folder per run, the CSV, plot and report'
            action.metavar = 'DIR'
        elif action.dest == 'save':
            action.help = "save each run's trained parameters as FILE (.npz) in its folder"
        elif action.dest == 'seed':
            action.help = 'the first seed (default: 0): the runs get seeds S, S+1, ...'
        elif action.dest == 'progress':
            action.help = argparse.SUPPRESS
    group = parser.add_argument_group('sweep')
    group.add_argument('--vary', action='append', default=[], metavar='NAME=V1,V2,...',
                       help='vary an option of `vugrad train` over these values (repeat for a '
                            'grid): --vary activation=sigmoid,relu --vary lr=0.001,0.0001')
    group.add_argument('--seeds', default=None, metavar='N',
                       help='the number of seeds per configuration (default: 1), or a list '
                            'of seeds: --seeds 0,1,2')
    group.add_argument('--config', default=None, metavar='FILE.toml',
                       help='read the options and [vary] lists from a TOML file; options on '
                            'the command line take precedence')
    group.add_argument('-j', '--jobs', type=int, default=None, metavar='N',
                       help='runs at a time, each in its own process (default: the cores; not '
                            'with --cluster)')
    group.add_argument('--threads', type=int, default=None, metavar='N',
                       help='BLAS/OpenMP threads per run (default: cores // jobs; not with '
                            '--cluster)')
    group.add_argument('--cluster', default=None, metavar='ADDRESS',
                       help="run on a Dask cluster: a scheduler's address (tcp://HOST:PORT, "
                            'tls://HOST:PORT) or local:N (N single-threaded worker processes '
                            "here); needs pip install 'vugrad[cluster]' (see docs/cluster.md)")
    group.add_argument('-n', '--dry-run', action='store_true',
                       help='list the runs, and which are finished, without running them')
    return parser


def spec_from_args(args):
    """
    The arguments of run_sweep (a dict) from parsed `vugrad sweep` options. Options given on the
    command line take precedence over the TOML file's (a --vary over its fixed value, a flag
    over its [vary] list). One SweepError lists every problem found in the options, the file
    and (then) the grid.
    """
    spec, problems = (_read_toml(args.config) if args.config else
                      ({'fixed': {}, 'vary': {}}, []))
    given = {a: getattr(args, a) for a in _types() if hasattr(args, a) and a not in RESERVED}
    vary = {}
    for text in args.vary:
        try:
            name, values = _split_vary(text)
            name = setting_name(name)
        except SweepError as e:
            problems.extend(e.problems)
            continue
        if name in given:
            problems.append(f'{name} is both fixed on the command line and varied '
                            f'(--vary {text}).')
        elif name in vary:
            problems.append(f'--vary {text}: {name} is varied twice.')
        else:
            vary[name] = values
    fixed = dict(spec['fixed'])
    fixed.update(given)
    vary_ = {k: v for k, v in spec['vary'].items() if k not in given}
    vary_.update(vary)
    for name in vary_:
        fixed.pop(name, None)
    out = getattr(args, 'out', None) or spec.get('out')
    if not out:
        problems.append('say where the sweep goes: --out DIR (or out = "DIR" in the TOML file).')
    seeds = args.seeds if args.seeds is not None else spec.get('seeds', 1)
    if 'seed' in vary_ and (args.seeds is not None or 'seeds' in spec):
        problems.append('give the seeds once: --seeds or --vary seed=..., not both.')
    cluster = getattr(args, 'cluster', None)
    # -- a cluster's workers decide the runs at a time and their threads: -j and --threads are
    #    refused with --cluster, and a file's jobs and threads give way to --cluster
    jobs, threads = ((args.jobs, args.threads) if cluster is not None else
                     (args.jobs if args.jobs is not None else spec.get('jobs'),
                      args.threads if args.threads is not None else spec.get('threads')))
    cluster = cluster if cluster is not None else spec.get('cluster')
    if cluster is not None and (jobs is not None or threads is not None):
        problems.append(CLUSTER_DECIDES)
    result = {'out': out, 'fixed': fixed, 'vary': vary_, 'seeds': seeds, 'jobs': jobs,
              'threads': threads, 'save': getattr(args, 'save', None) or spec.get('save'),
              'cluster': cluster}
    problems += _option_problems(cluster=cluster)
    if problems:
        try:   # -- and the problems of the grid, so that one try shows them all
            check_sweep(**{**result, 'out': out or '.'})
        except SweepError as e:
            problems += [p for p in e.problems if p not in problems]
        raise SweepError.of(problems)
    return result


def sweep_command(args, run=None):
    """
    Run `vugrad sweep`: 0 when every run finished, 1 when some failed, 2 for bad options.
    `run` runs the sweep (default: run_sweep); the `vugrad` command runs
    vugrad.lab.cluster.sweep_command, which passes its run_sweep, the one that knows --cluster.
    """
    try:
        spec = spec_from_args(args)
        # -- the command line, for the report (when this process is that command)
        command = shlex.join(['vugrad'] + sys.argv[1:]) if sys.argv[1:2] == ['sweep'] else None
        results = (run or run_sweep)(**spec, command=command, dry_run=args.dry_run)
    except SweepError as e:       # -- SweepLockedError too: another sweep runs in --out
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1 if any(r['status'] == 'failed' for r in results) else 0


def add_plot_arguments(parser):
    """The options of `vugrad plot`."""
    parser.add_argument('folder', metavar='DIR',
                        help='the folder of a sweep (each run in a subfolder with its '
                             'metrics.json)')
    parser.add_argument('--title', default=None, help="the plot's title (default: DIR's name)")
    return parser


def plot_command(args):
    """Run `vugrad plot DIR`: remake DIR/metrics.csv, curves.png and report.md."""
    if not os.path.isdir(args.folder):
        print(f'vugrad: error: {args.folder} is not a folder', file=sys.stderr)
        return 2
    runs, groups, _ = report.write_outputs(args.folder, title=args.title, log=print,
                                           warn=lambda text: print(text, file=sys.stderr))
    if not runs:
        print(f'vugrad: error: no runs in {args.folder} (no subfolder with a metrics.json or '
              'config.json)', file=sys.stderr)
        return 1
    print(f'## {len(runs)} runs, {len(groups)} configurations: wrote metrics.csv, '
          f'curves.png and report.md in {args.folder}')
    return 0
