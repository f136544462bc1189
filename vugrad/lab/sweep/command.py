"""
`vugrad sweep`: its options (those of `vugrad train`, fixed or varied, and the sweep's own),
read together with a TOML file (spec_from_args) into the arguments of run_sweep.
"""

import argparse
import shlex
import sys

from ..config import BACKENDS, add_train_arguments
from .driver import run_sweep
from .grid import (CLUSTER_DECIDES, RESERVED, SweepError, check_sweep, format_setting,
                   option_problems, read_toml, setting_name, setting_types)

__all__ = ['EXAMPLES', 'add_sweep_arguments', 'spec_from_args', 'sweep_command']


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
    """The options of `vugrad train` in `parser`: those a sweep fixes or varies."""
    return [a for a in parser._actions if a.dest in setting_types() and a.option_strings]


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
            action.help = action.help.replace('%(default)s', format_setting(action.default))
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
    spec, problems = (read_toml(args.config) if args.config else
                      ({'fixed': {}, 'vary': {}}, []))
    given = {a: getattr(args, a) for a in setting_types()
             if hasattr(args, a) and a not in RESERVED}
    vary, found = _vary_options(args.vary, given)
    problems += found
    fixed = {**spec['fixed'], **given}
    vary = {**{k: v for k, v in spec['vary'].items() if k not in given}, **vary}
    for name in vary:
        fixed.pop(name, None)
    out = getattr(args, 'out', None) or spec.get('out')
    if not out:
        problems.append('say where the sweep goes: --out DIR (or out = "DIR" in the TOML file).')
    seeds = args.seeds if args.seeds is not None else spec.get('seeds', 1)
    if 'seed' in vary and (args.seeds is not None or 'seeds' in spec):
        problems.append('give the seeds once: --seeds or --vary seed=..., not both.')
    jobs, threads, cluster = _where_runs_run(args, spec)
    if cluster is not None and (jobs is not None or threads is not None):
        problems.append(CLUSTER_DECIDES)
    result = {'out': out, 'fixed': fixed, 'vary': vary, 'seeds': seeds, 'jobs': jobs,
              'threads': threads, 'save': getattr(args, 'save', None) or spec.get('save'),
              'cluster': cluster}
    problems += option_problems(cluster=cluster)
    if problems:
        try:   # -- and the problems of the grid, so that one try shows them all
            check_sweep(**{**result, 'out': out or '.'})
        except SweepError as e:
            problems += [p for p in e.problems if p not in problems]
        raise SweepError.of(problems)
    return result


def _vary_options(texts, given):
    """
    ({setting: [values as text]}, problems) of the --vary options `texts`; a setting that is
    also `given` (fixed on the command line) or varied twice is a problem.
    """
    vary, problems = {}, []
    for text in texts:
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
    return vary, problems


def _split_vary(text):
    """'activation=sigmoid,relu' -> ('activation', ['sigmoid', 'relu'])."""
    name, sep, values = text.partition('=')
    if not sep or not name.strip() or not values.strip():
        raise SweepError(f'--vary {text!r}: write NAME=VALUE1,VALUE2,... '
                         '(e.g. --vary activation=sigmoid,relu).')
    return name, [v for v in values.split(',')]


def _where_runs_run(args, spec):
    """
    (jobs, threads, cluster) from the options and the TOML file's `spec`. A cluster's workers
    decide the runs at a time and their threads: -j and --threads are refused with --cluster
    (by the caller), and a file's jobs and threads give way to --cluster.
    """
    cluster = getattr(args, 'cluster', None)
    if cluster is not None:
        return args.jobs, args.threads, cluster
    return (args.jobs if args.jobs is not None else spec.get('jobs'),
            args.threads if args.threads is not None else spec.get('threads'),
            spec.get('cluster'))


def sweep_command(args):
    """
    Run `vugrad sweep`: 0 when every run finished, 1 when some failed, 2 for bad options (and
    for a cluster that cannot be used, or a folder another sweep runs into). The runs run here,
    or with --cluster on a Dask cluster (run_sweep picks the pool: vugrad.lab.cluster is
    imported only then).
    """
    try:
        spec = spec_from_args(args)
        # -- the command line, for the report (when this process is that command)
        command = shlex.join(['vugrad'] + sys.argv[1:]) if sys.argv[1:2] == ['sweep'] else None
        results = run_sweep(**spec, command=command, dry_run=args.dry_run)
    except SweepError as e:       # -- SweepLockedError and ClusterError too
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1 if any(r['status'] == 'failed' for r in results) else 0
