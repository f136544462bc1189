"""
The `vugrad` command: `vugrad train ...`, `vugrad graph ...`, and whatever is registered below.

Each subcommand lives in its own module, imported only when that subcommand runs, so a missing
optional dependency (or module) of one command does not break the others. To add a command,
write a module with two functions and add a line to COMMANDS:

    def add_NAME_arguments(parser):   # fill an argparse parser with the command's options
    def NAME_command(args):           # run it; return an exit status (None counts as 0)
"""

import argparse
import importlib
import sys

from ..malloc import tune_malloc

# name -> (module, add-arguments function, run function, one line of help)
COMMANDS = {
    'train': ('vugrad.lab.runner', 'add_train_arguments', 'train_command',
              'train an MLP (the options of experiments/train_mlp.py)'),
    'graph': ('vugrad.lab.graph', 'add_graph_arguments', 'graph_command',
              'draw a computation graph'),
    # -- a grid of training runs in parallel, and plots of their metrics
    'sweep': ('vugrad.lab.sweep', 'add_sweep_arguments', 'sweep_command',
              'run a grid of training runs'),
    'plot': ('vugrad.lab.sweep', 'add_plot_arguments', 'plot_command',
             'plot the metrics of training runs'),
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
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for name, (_, _, _, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            _load(name, 'add')(p)
    return parser


def main(argv=None):
    """Run the `vugrad` command with argv (default: sys.argv[1:]); return its exit status."""
    tune_malloc()      # -- the command owns its process (VUGRAD_MALLOC_TUNING=0: no change)
    argv = list(sys.argv[1:] if argv is None else argv)
    # -- the command is the first word that is not an option (`vugrad -h` has none)
    command = next((a for a in argv if not a.startswith('-')), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    status = _load(args.command, 'run')(args)
    return 0 if status is None else status


if __name__ == '__main__':
    sys.exit(main())
