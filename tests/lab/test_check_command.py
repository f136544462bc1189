"""
`vugrad check`: the command over a learner's file of ops. Exit status 0 when every op passes,
1 when there is a finding, 2 for a usage error (one line, no traceback); the text report and
the strict JSON; --shape and --const; an op that hangs or crashes while the others are still
checked.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vugrad.lab import cli

REPO = Path(__file__).resolve().parents[2]

OPS = '''
import numpy as np
import vugrad as vg
from vugrad.ops import Sigmoid       # -- imported, not defined here: not checked

print('importing the ops')           # -- must not reach stdout


class GoodTanh(vg.Op):
    @staticmethod
    def forward(context, x):
        y = np.tanh(x)
        context['y'] = y
        return y

    @staticmethod
    def backward(context, go):
        return go * (1 - context['y'] ** 2)


class SignDivide(vg.Op):
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a / b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        return go / b, go * a / b ** 2


class ScaledAdd(vg.Op):
    @staticmethod
    def forward(context, a, b, *, alpha):
        context['alpha'] = alpha
        return a + alpha * b

    @staticmethod
    def backward(context, go):
        return go, context['alpha'] * go


class MatMul(vg.Op):
    @staticmethod
    def forward(context, a, b):
        context['a'], context['b'] = a, b
        return a @ b

    @staticmethod
    def backward(context, go):
        return go @ context['b'].T, context['a'].T @ go
'''

TROUBLE = '''
import numpy as np
import vugrad as vg


class Hangs(vg.Op):
    @staticmethod
    def forward(context, x):
        return x * 2

    @staticmethod
    def backward(context, go):
        while True:
            pass


class Allocates(vg.Op):
    @staticmethod
    def forward(context, x):
        return np.ones((4, 10 ** 9))[:3, :4] * x

    @staticmethod
    def backward(context, go):
        return go


class Double(vg.Op):
    @staticmethod
    def forward(context, x):
        return x * 2

    @staticmethod
    def backward(context, go):
        return go * 2
'''


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def vugrad(*args, cwd):
    env = {**os.environ, 'PYTHONPATH': str(REPO)}
    return subprocess.run([sys.executable, '-m', 'vugrad.lab.cli', 'check', *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
                          check=False)


def test_a_file_with_a_wrong_op_exits_1_and_reports_every_op(tmp_path):
    write(tmp_path, 'ops.py', OPS)
    proc = vugrad('ops.py', '--const', 'ScaledAdd:alpha=3', cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert out.index('GoodTanh (') < out.index('SignDivide (') < out.index('ScaledAdd (') \
        < out.index('MatMul (')
    assert 'Sigmoid' not in out and 'importing the ops' not in out
    assert 'importing the ops' in proc.stderr
    assert 'FAIL wrong-values, input 1 (b), element [0, 0] -- diagnosis: sign:' in out
    assert out.count('FAIL') == 1
    assert out.strip().endswith('4 ops checked: 3 passed, 1 with findings.')


def test_the_json_is_strict_and_follows_the_schema(tmp_path):
    write(tmp_path, 'ops.py', OPS)
    proc = vugrad('ops.py:SignDivide,GoodTanh', '--json', cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f'{c}: not strict JSON'))
    assert [d['op'] for d in data] == ['SignDivide', 'GoodTanh']
    assert [d['ok'] for d in data] == [False, True]
    sign, good = data
    assert sign['inputs'] == [[[3, 4], [3, 4]]] and good['findings'] == []
    f = sign['findings'][0]
    assert (f['kind'], f['input'], f['index'], f['diagnosis'], f['trap']) == \
        ('wrong-values', 1, [0, 0], 'sign', None)
    assert f['backward'] == pytest.approx(-f['numerical']) and f['shapes'] == [[3, 4], [3, 4]]
    assert f['message'] and f['fix']


def test_passing_ops_exit_0_and_shapes_and_constants_are_given(tmp_path, capsys):
    path = write(tmp_path, 'ops.py', OPS)
    assert cli.main(['check', f'{path}:GoodTanh,MatMul,ScaledAdd', '--shape', 'MatMul=2x3,3x5',
                     '--shape', 'GoodTanh=scalar', '--const', 'ScaledAdd:alpha=-0.5']) == 0
    out = capsys.readouterr().out
    assert 'MatMul (2 inputs: a, b; checked with shapes (2, 3) & (3, 5))' in out
    assert 'GoodTanh (1 input: x; checked with shapes ())' in out
    assert 'FAIL' not in out
    # -- without its constant, ScaledAdd's forward cannot run
    assert cli.main(['check', f'{path}:ScaledAdd']) == 1
    assert "missing 1 required keyword-only argument: 'alpha'" in capsys.readouterr().out


@pytest.mark.parametrize('args, words', [
    (['missing.py'], 'no such file: missing.py'),
    (['ops.py:Nope'], 'has no Op named Nope (the Ops it defines: GoodTanh, SignDivide, '
                      'ScaledAdd, MatMul)'),
    (['ops.py', '--shape', 'MatMul=3by4'], "'3by4' is not a shape"),
    (['ops.py', '--shape', 'Other=3x4'], 'no op Other among those checked'),
    (['ops.py', '--shape', 'MatMul=3x4,4x2', '--shape', 'MatMul=3x4,4x2'], 'one --shape per op'),
    (['ops.py', '--const', 'ScaledAdd=3'], 'write OP:NAME=VALUE'),
    (['ops.py', '--timeout', '0'], '--timeout must be a positive number'),
    (['empty.py'], 'defines no Op subclass'),
    (['broken.py'], "cannot import broken.py: NameError: name 'np' is not defined "
                    '(broken.py:3, in <module>)'),
    (['syntax.py'], 'cannot import syntax.py: SyntaxError: '),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args, words):
    write(tmp_path, 'ops.py', OPS)
    write(tmp_path, 'empty.py', 'x = 1\n')
    write(tmp_path, 'broken.py', 'import vugrad\n\nx = np.zeros(3)\n')
    write(tmp_path, 'syntax.py', 'def f(:\n    pass\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', list(sys.path))     # -- the command adds the file's folder
    assert cli.main(['check', *args]) == 2
    err = capsys.readouterr().err.replace('importing the ops\n', '')    # -- ops.py's own print
    assert err.count('\n') == 1 and err.startswith('vugrad check: ') and words in err, err
    assert 'Traceback' not in err


def test_a_file_that_does_not_import_is_one_line_from_the_command_too(tmp_path):
    write(tmp_path, 'broken.py', 'import vugrad\n\nx = np.zeros(3)\n')
    proc = vugrad('broken.py', cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ''
    assert proc.stderr == ("vugrad check: cannot import broken.py: NameError: name 'np' is not "
                           'defined (broken.py:3, in <module>)\n')


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the memory cap is for Linux')
def test_an_op_that_hangs_or_crashes_does_not_stop_the_others(tmp_path):
    write(tmp_path, 'trouble.py', TROUBLE)
    proc = vugrad('trouble.py', '--timeout', '1', '--json', cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    data = {d['op']: d for d in json.loads(proc.stdout)}
    assert [f['kind'] for f in data['Hangs']['findings']] == ['timed-out']
    assert [f['kind'] for f in data['Allocates']['findings']] == ['crashed']
    assert 'MemoryError' in data['Allocates']['findings'][0]['message']
    assert data['Double']['ok']
