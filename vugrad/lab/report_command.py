"""
`vugrad plot DIR`: remake a sweep's outputs (metrics.csv, curves.png, report.md; see
vugrad.lab.report) from the files of its runs alone.

    vugrad plot runs/activations
    vugrad plot runs/activations --title 'sigmoid or relu'
"""

import os
import sys

from . import report
from .sweep.grid import plural
from .sweep.lock import SweepLockedError, folder_lock

__all__ = ['add_plot_arguments', 'plot_command']


def add_plot_arguments(parser):
    """The options of `vugrad plot`."""
    parser.add_argument('folder', metavar='DIR',
                        help='the folder of a sweep (each run in a subfolder with its '
                             'metrics.json)')
    parser.add_argument('--title', default=None, help="the plot's title (default: DIR's name)")
    return parser


def plot_command(args):
    """
    Run `vugrad plot DIR`: remake DIR/metrics.csv, curves.png and report.md, holding the
    folder's lock (vugrad.lab.sweep.lock) as a sweep does. Exit status 0; 1 when DIR holds no
    runs; 2 when it is not a folder, or a sweep runs into it.
    """
    if not os.path.isdir(args.folder):
        print(f'vugrad: error: {args.folder} is not a folder', file=sys.stderr)
        return 2
    try:
        with folder_lock(args.folder, log=print, instead='Wait for it to end (it remakes '
                         'these outputs itself as it ends)'):
            runs, groups, fig = report.write_outputs(
                args.folder, title=args.title, log=print,
                warn=lambda text: print(text, file=sys.stderr))
    except SweepLockedError as e:
        print(f'vugrad: error: {e}', file=sys.stderr)
        return 2
    if not runs:
        print(f'vugrad: error: no runs in {args.folder} (no subfolder with a metrics.json or '
              'config.json)', file=sys.stderr)
        return 1
    print(f'## {plural(len(runs), "run")}, {plural(len(groups), "configuration")}: wrote '
          f'{report.written_files(fig)} in {args.folder}')
    return 0
