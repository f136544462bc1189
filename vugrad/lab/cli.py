"""
The `vugrad` command: `vugrad train ...`, `vugrad graph ...`, and whatever is registered below.

Each subcommand lives in its own module, imported only when that subcommand runs, so a missing
optional dependency (or module) of one command does not break the others. To add a command,
write a module with two functions and add a line to COMMANDS:

    def add_NAME_arguments(parser):   # fill an argparse parser with the command's options
    def NAME_command(args):           # run it; return an exit status (None counts as 0)

An error reaches the user as one line on stderr, `vugrad: error: ...` (a VugradError, an
OSError, or any other exception, named by its type); `vugrad --debug COMMAND ...` (or `--debug`
anywhere before a lone `--`) prints the traceback above it. Ctrl-C ends a command with exit
status 130, SIGTERM with 143: both reach the command as KeyboardInterrupt, so that
`finally:` blocks run and atomic writes remove their temporary files. The exit statuses are
listed in docs/cli.md.
"""

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback

from ..errors import VugradError
from ..malloc import tune_malloc

# name -> (module, add-arguments function, run function, one line of help)
COMMANDS = {
    'train': ('vugrad.lab.runner', 'add_train_arguments', 'train_command',
              'train an MLP or a CNN (--model lenet|blitz; -D cifar10: the blitz CNN)'),
    'graph': ('vugrad.lab.graph', 'add_graph_arguments', 'graph_command',
              'draw the computation graph of one training step (MLP or CNN)'),
    # -- a grid of training runs in parallel (here, or with --cluster on a Dask cluster, whose
    #    module vugrad.lab.cluster is imported only then), and plots of their metrics
    'sweep': ('vugrad.lab.sweep.command', 'add_sweep_arguments', 'sweep_command',
              'run a grid of training runs'),
    'plot': ('vugrad.lab.report_command', 'add_plot_arguments', 'plot_command',
             'plot the metrics of training runs'),
    'check': ('vugrad.lab.check', 'add_check_arguments', 'check_command',
              'check your own ops: what is wrong with their backward, and where'),
}


def _load(name, attribute):
    """Import COMMANDS[name]'s module and return one of its functions."""
    module_name = COMMANDS[name][0]
    function_name = COMMANDS[name][1 if attribute == 'add' else 2]
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SystemExit(f'vugrad {name}: not available: {e}') from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise SystemExit(f'vugrad {name}: {module_name} has no function {function_name}') from None


def build_parser(command=None):
    """
    The argument parser. Every command is listed (for --help), but only `command`'s module is
    imported to fill in its options.
    """
    parser = argparse.ArgumentParser(
        prog='vugrad', description='vugrad: a small autodiff library for learning deep learning.')
    # -- taken out of the arguments by main() wherever it is; here for --help
    parser.add_argument('--debug', action='store_true',
                        help='on an error, print the traceback too (also after the command)')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for name, (_, _, _, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            _load(name, 'add')(p)
    return parser


#: The exit status of a command stopped by SIGINT (Ctrl-C) or SIGTERM: 128 + the signal.
STOPPED = {signal.SIGINT: 130, signal.SIGTERM: 143}


def _pop_debug(argv):
    """(whether --debug is in argv before any lone '--', argv without it)."""
    end = argv.index('--') if '--' in argv else len(argv)
    rest = [a for a in argv[:end] if a != '--debug'] + argv[end:]
    return len(rest) != len(argv), rest


def _message(error):
    """One line for an exception: its text (an OSError's reason and file; others' type too)."""
    if isinstance(error, VugradError) and str(error):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        files = [f for f in (error.filename, getattr(error, 'filename2', None)) if f is not None]
        return ': '.join([error.strerror, *map(str, files)])
    return f'{type(error).__name__}: {error}'


class _Signals:
    """
    While active: SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C does, so that
    the command unwinds (its `finally:` blocks and atomic writes clean up) and exits. Only the
    `vugrad` command does this, for the process it owns; the previous handler is put back.
    """

    def __init__(self):
        self.received, self.previous = [], None

    def _stop(self, signum, frame):
        self.received.append(signum)
        raise KeyboardInterrupt(f'signal {signum}')

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._stop)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False

    def stopped(self):
        """The exit status and message of a command stopped by a signal."""
        if signal.SIGTERM in self.received:
            return STOPPED[signal.SIGTERM], 'vugrad: stopped by SIGTERM'
        return STOPPED[signal.SIGINT], 'vugrad: interrupted'


def main(argv=None):
    """Run the `vugrad` command with argv (default: sys.argv[1:]); return its exit status."""
    tune_malloc()      # -- the command owns its process (VUGRAD_MALLOC_TUNING=0: no change)
    debug, argv = _pop_debug(list(sys.argv[1:] if argv is None else argv))
    with _Signals() as signals:
        try:
            # -- the command is the first word that is not an option (`vugrad -h` has none)
            command = next((a for a in argv if not a.startswith('-')), None)
            parser = build_parser(command if command in COMMANDS else None)
            args = parser.parse_args(argv)
            status = _load(args.command, 'run')(args)
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            status, message = signals.stopped()
            print(message, file=sys.stderr)
            return status
        except BrokenPipeError:         # -- `vugrad ... | head`: the reader has gone
            _silence_stdout()
            return 1
        except Exception as e:          # noqa: BLE001 - every error becomes one message
            if debug:
                traceback.print_exc()
            print(f'vugrad: error: {_message(e)}', file=sys.stderr)
            return 1
    if signals.received:                # -- the command caught the interrupt and returned
        status, message = signals.stopped()
        print(message, file=sys.stderr)
    return 0 if status is None else status


def _silence_stdout():
    """Point stdout at /dev/null, so that Python's flush at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == '__main__':
    sys.exit(main())
