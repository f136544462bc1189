"""
`vugrad check PATH[:OpName,...]`: check a learner's own ops, and say what is wrong, and where.

    vugrad check ops.py                          # every Op defined in ops.py
    vugrad check ops.py:MyDivide,MyTanh          # these ones
    vugrad check ops.py --shape MyMatMul=3x4,4x2 --const MyScale:alpha=2.0
    vugrad check ops.py --json > report.json     # for a grader: one JSON array, one object per op

Each op is checked by vugrad.opcheck in a process of its own, with a time limit (--timeout)
and a memory cap, so that an op that hangs or crashes is reported and the others are still
checked. Exit status: 0 when every op passes, 1 when there is a finding, 2 for a usage error
(a file that does not import, an unknown op, a malformed --shape or --const).
"""

import ast
import contextlib
import importlib.util
import inspect
import json
import os
import re
import sys

import numpy as np

from ..core import Op
from ..opcheck import check_isolated
from ..opcheck.calls import describe


class UsageError(Exception):
    """A mistake in the command line or the file: one line, exit status 2."""


def add_check_arguments(parser):
    parser.add_argument('target', metavar='PATH[:OpName,...]',
                        help='a Python file that defines Op subclasses; after a colon, the names '
                             'of the ones to check (default: every Op the file defines)')
    parser.add_argument('--shape', action='append', default=[], metavar='OP=SHAPES',
                        help='the input shapes of an op, one per input: MyMatMul=3x4,4x2 '
                             '(a scalar is "scalar"); default: the checker chooses')
    parser.add_argument('--const', action='append', default=[], metavar='OP:NAME=VALUE',
                        help='a keyword constant of an op: MyScale:alpha=2.0 (a Python literal: '
                             '16, 0.5, (2, 3), [0, 2, 1] for an integer array, or a word)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random values (0)')
    parser.add_argument('--timeout', type=float, default=10.0,
                        help='seconds each op may take before it counts as timed out (10)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON array, one object per op, for graders')


def check_command(args):
    """Check the ops; 0 when all pass, 1 when there is a finding, 2 for a usage error."""
    try:
        ops, shapes, constants = _setup(args)
    except UsageError as e:
        print(f'vugrad check: {e}', file=sys.stderr)
        return 2
    reports = []
    for op in ops:
        report = check_isolated(op, *shapes.get(op.__name__, ()),
                                constants=constants.get(op.__name__), seed=args.seed,
                                timeout=args.timeout)
        reports.append(report)
        if not args.json:
            print(f'{report}\n', flush=True)
    if args.json:
        objects = [json.dumps(r.to_dict(), allow_nan=False) for r in reports]
        print('[\n' + ',\n'.join(objects) + '\n]')     # -- one op per line
    else:
        failed = sum(not r.ok for r in reports)
        print(f'{len(reports)} op{"s" if len(reports) != 1 else ""} checked: '
              f'{len(reports) - failed} passed, {failed} with findings.')
    return 0 if all(r.ok for r in reports) else 1


def _setup(args):
    """(the ops to check, {op name: shapes}, {op name: constants}), or a UsageError."""
    if not args.timeout > 0:
        raise UsageError(f'--timeout must be a positive number of seconds, got {args.timeout}')
    path, names = _split(args.target)
    ops = _select(_import(path), names, path)
    known = {op.__name__ for op in ops}
    return ops, _shapes(args.shape, known), _constants(args.const, known)


def _split(target):
    """'ops.py:A,B' -> ('ops.py', ['A', 'B']); 'ops.py' -> ('ops.py', None)."""
    head, colon, tail = target.rpartition(':')
    if colon and head and all(n.isidentifier() for n in tail.split(',')):
        return head, tail.split(',')
    return target, None


def _import(path):
    """Import the learner's file as a module, its prints sent to stderr."""
    if not os.path.isfile(path):
        raise UsageError(f'no such file: {path}')
    name = '_vugrad_check_' + re.sub(r'\W', '_', os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise UsageError(f'cannot import {path}: not a Python file (it must end in .py)')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module      # -- dataclasses and pickle look the module up by its name
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))   # -- its own helper modules
    try:
        with contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as e:      # noqa: BLE001 - SystemExit too: the file is the learner's
        del sys.modules[name]
        raise UsageError(f'cannot import {path}: {describe(e, path)}') from None
    return module


def _line(cls):
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 0


def _select(module, names, path):
    """The Op subclasses to check: the named ones, else every one the file defines."""
    defined = sorted((v for v in vars(module).values()
                      if inspect.isclass(v) and issubclass(v, Op) and v is not Op
                      and v.__module__ == module.__name__ and v.forward is not Op.forward),
                     key=_line)
    if names is None:
        if not defined:
            raise UsageError(f'{path} defines no Op subclass (class MyOp(vugrad.Op): ... with a '
                             'forward and a backward)')
        return defined
    ops = []
    for name in names:
        op = getattr(module, name, None)
        if not (inspect.isclass(op) and issubclass(op, Op)):
            have = ', '.join(op.__name__ for op in defined) or 'none'
            raise UsageError(f'{path} has no Op named {name} (the Ops it defines: {have})')
        ops.append(op)
    return ops


def _op_name(text, known, option):
    if text not in known:
        raise UsageError(f'{option}: no op {text} among those checked ({", ".join(sorted(known))})')
    return text


def _shape(text, option):
    if text in ('scalar', '()'):
        return ()
    try:
        shape = tuple(int(n) for n in text.split('x'))
    except ValueError:
        shape = None
    if not shape or any(n < 0 for n in shape):
        raise UsageError(f'{option}: {text!r} is not a shape; write its sizes joined by x, '
                         'as 3x4 (or scalar)')
    return shape


def _shapes(options, known):
    """{op name: (shape, ...)} from --shape OP=3x4,4x2 options."""
    shapes = {}
    for text in options:
        name, equals, value = text.partition('=')
        option = f'--shape {text}'
        if not equals or not value:
            raise UsageError(f'{option}: write OP=SHAPES, as MyMatMul=3x4,4x2')
        name = _op_name(name, known, option)
        if name in shapes:
            raise UsageError(f'{option}: give one --shape per op')
        shapes[name] = tuple(_shape(s, option) for s in value.split(','))
    return shapes


def _constants(options, known):
    """{op name: {constant: value}} from --const OP:NAME=VALUE options."""
    constants = {}
    for text in options:
        m = re.fullmatch(r'(\w+):(\w+)=(.*)', text)
        if m is None:
            raise UsageError(f'--const {text}: write OP:NAME=VALUE, as MyScale:alpha=2.0')
        name = _op_name(m.group(1), known, f'--const {text}')
        try:
            value = ast.literal_eval(m.group(3))
        except (ValueError, SyntaxError):
            value = m.group(3)      # -- a word: reduction=mean
        constants.setdefault(name, {})[m.group(2)] = (np.array(value) if isinstance(value, list)
                                                      else value)
    return constants
