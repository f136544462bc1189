"""
vugrad.check_op as a Python function: what it accepts (and the typed errors for what it does
not), the report as data, text and strict JSON, its time limit, check_isolated's child process
(a hang, a huge allocation, a death), and the finite differences it shares with gradcheck.
"""

import json
import os
import signal
import sys

import numpy as np
import pytest

import vugrad as vg
from vugrad.core import Op
from vugrad.errors import InputTypeError, InvalidArgumentError
from vugrad.gradcheck import directional_derivative, numerical_jacobian
from vugrad.opcheck import OpReport, check_isolated

from . import learner_ops as L


# ---------------------------------------------------------------------- arguments

@pytest.mark.parametrize('call, error, words', [
    (lambda: vg.check_op(L.Tanh()), InputTypeError, 'pass the class itself'),
    (lambda: vg.check_op(np.tanh), InputTypeError, 'subclass of vugrad.Op'),
    (lambda: vg.check_op(Op), InputTypeError, 'subclass of vugrad.Op'),
    (lambda: vg.check_op(L.Tanh, (3.5,)), InvalidArgumentError, 'tuple of non-negative ints'),
    (lambda: vg.check_op(L.Tanh, np.array(['a'])), InputTypeError, 'array of numbers'),
    (lambda: vg.check_op(L.Tanh, constants=[1]), InputTypeError, 'constants must be a dict'),
    (lambda: vg.check_op(L.Tanh, seed='1'), InvalidArgumentError, 'seed must be an int'),
    (lambda: vg.check_op(L.Tanh, timeout=0), InvalidArgumentError, 'positive number'),
])
def test_bad_arguments_raise_typed_errors_that_say_what_to_pass(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_example_arrays_are_used_as_given_and_checked_in_float64():
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    report = vg.check_op(L.Tanh, x)
    assert report.ok and report.inputs == [((2, 3),)]
    assert vg.check_op(L.Divide, np.ones((2, 2)), (2, 2)).ok     # -- an array and a shape


def test_an_integer_input_is_passed_as_it_is_and_gets_no_gradient():
    class Pick(Op):
        @staticmethod
        def forward(context, x, rows):
            context['x'], context['rows'] = x, rows
            return x[rows]

        @staticmethod
        def backward(context, go):
            g = np.zeros_like(context['x'])
            np.add.at(g, context['rows'], go)
            return g, None
    assert vg.check_op(Pick, (4, 3), np.array([0, 2, 2])).ok


def test_constants_may_be_computed_from_the_inputs():
    class Centre(Op):
        """x - mean, the mean given as a constant that is a function of x."""
        @staticmethod
        def forward(context, x, *, mean):
            return x - mean

        @staticmethod
        def backward(context, go):
            return go - go.mean()
    assert vg.check_op(Centre, (5,), constants=lambda x: {'mean': x.mean()}).ok
    assert not vg.check_op(Centre, (5,), constants={'mean': 0.3}).ok


def test_the_same_seed_gives_the_same_report_and_another_seed_other_values():
    a, b = vg.check_op(L.SignDivide, seed=1), vg.check_op(L.SignDivide, seed=1)
    assert a.to_dict() == b.to_dict()
    assert vg.check_op(L.SignDivide, seed=2).findings[0].backward != a.findings[0].backward


def test_the_report_is_data_text_and_strict_json():
    report = vg.check_op(L.CountsCalls)       # -- a finding without a numerical value
    assert isinstance(report, OpReport) and not report.ok
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False),
                      parse_constant=lambda c: pytest.fail(f'{c} is not strict JSON'))
    assert data['op'] == 'CountsCalls' and data['ok'] is False
    assert data['inputs'] == [[[3, 4]]]
    f = data['findings'][0]
    assert set(f) >= {'kind', 'input', 'index', 'backward', 'numerical', 'message', 'diagnosis',
                      'trap', 'shapes', 'fix', 'rel_error'}
    assert f['trap'] == 'backward-twice' and f['numerical'] is None and f['rel_error'] is None
    assert OpReport.from_dict(data).to_dict() == data
    text = str(report)
    assert text.splitlines()[0] == 'CountsCalls (1 input: x; checked with shapes (3, 4))'
    assert 'PASS traps: output-used-twice, diamond, long-chain' in text


def test_a_passing_report_says_pass_and_lists_the_traps():
    text = str(vg.check_op(L.Divide))
    assert '  PASS: ' in text
    assert 'PASS traps: same-input-twice, output-used-twice, diamond, backward-twice' in text
    assert 'not run (the op has more than one input): long-chain' in text


def test_no_warning_or_output_leaks_from_a_check(capsys, recwarn):
    vg.check_op(L.LogOp)      # -- log of negative values on the first try
    assert capsys.readouterr() == ('', '') and len(recwarn) == 0


# ---------------------------------------------------------------------- a child process

class Allocates(L.Tanh):
    @staticmethod
    def forward(context, x):
        big = np.ones((4, 10 ** 9))      # -- 32 GB, written: only a memory cap stops it
        return big[:x.shape[0], :x.shape[1]] * np.tanh(x)


class Exits(L.Tanh):
    @staticmethod
    def backward(context, go):
        os._exit(3)


class Killed(L.Tanh):
    @staticmethod
    def backward(context, go):
        os.kill(os.getpid(), signal.SIGKILL)


class Prints(L.Tanh):
    @staticmethod
    def forward(context, x):
        print('a line from forward')
        return L.Tanh.forward(context, x)


linux_only = pytest.mark.skipif(not sys.platform.startswith('linux'),
                                reason='the memory cap and fork are tested on Linux')


@linux_only
def test_check_isolated_reports_like_check_op_and_keeps_stdout_clean(capfd):
    assert check_isolated(L.MatMul).to_dict() == vg.check_op(L.MatMul).to_dict()
    assert check_isolated(Prints).ok
    out, err = capfd.readouterr()
    assert out == '' and 'a line from forward' in err


@linux_only
@pytest.mark.parametrize('op, kind, words', [
    (L.Hangs, 'timed-out', 'longer than 1 s'),
    (Allocates, 'crashed', 'MemoryError'),
    (Exits, 'crashed', 'exit status 3'),
    (Killed, 'crashed', 'signal SIGKILL'),
])
def test_an_op_that_hangs_or_dies_is_reported(op, kind, words):
    report = check_isolated(op, timeout=1)
    assert [f.kind for f in report.findings] == [kind] and words in report.findings[0].message
    assert report.input_names == ('x',)


# ---------------------------------------------------------------------- finite differences

def test_numerical_jacobian_of_a_linear_map_is_its_matrix():
    m = np.arange(6.0).reshape(2, 3)
    x = np.ones(3)
    assert np.allclose(numerical_jacobian(lambda v: m @ v, [x], 0), m)
    assert np.array_equal(x, np.ones(3))          # -- put back as it was


def test_directional_derivatives_and_one_sided_ones_see_a_kink():
    x = np.array([0.0, 1.0])
    d = np.array([1.0, 0.0])
    assert directional_derivative(np.abs, [x], 0, d)[0] == pytest.approx(0.0)
    assert directional_derivative(np.abs, [x], 0, d, side=1)[0] == pytest.approx(1.0)
    assert directional_derivative(np.abs, [x], 0, d, side=-1)[0] == pytest.approx(-1.0)


def test_finite_differences_need_an_array_they_can_change():
    with pytest.raises(InvalidArgumentError, match='C-contiguous'):
        numerical_jacobian(np.sin, [np.ones((3, 4)).T], 0)


def test_an_op_without_inputs_is_told_where_inputs_go():
    class NoInputs(Op):
        @staticmethod
        def forward(context):
            return np.ones(3)

        @staticmethod
        def backward(context, go):
            return ()
    f = vg.check_op(NoInputs).findings[0]
    assert f.kind == 'forward-fails' and 'positional arguments' in f.message
