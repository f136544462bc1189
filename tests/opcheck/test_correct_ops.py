"""
A correct op never fails: learner-style ops written right pass vugrad.check_op with no finding,
over many seeds, on the values the checker draws and on example arrays with values next to a
pole or on a kink (where finite differences cannot be trusted, and the checker must see it).
"""

import numpy as np
import pytest

import vugrad as vg

from . import learner_ops as L


@pytest.mark.parametrize('op', L.CORRECT, ids=lambda op: op.__name__)
def test_correct_ops_pass_on_every_seed(op):
    for seed in range(5):
        report = vg.check_op(op, seed=seed)
        assert report.ok, f'seed {seed}:\n{report}'
        assert report.traps and all(s == 'passed' or s.startswith('not run')
                                    for s in report.traps.values())


@pytest.mark.parametrize('op', [L.Divide, L.RowNormalize, L.Softplus],
                         ids=lambda op: op.__name__)
def test_the_tricky_ones_pass_on_twenty_seeds(op):
    for seed in range(5, 25):
        assert vg.check_op(op, seed=seed).ok, seed


def test_division_by_values_next_to_zero_is_no_false_alarm():
    # -- divisors from 1e-7 (a step of the finite differences crosses 0) to 1e-2
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2.0, (3, 4))
    b = rng.choice([-1, 1], (3, 4)) * np.logspace(-7, -2, 12).reshape(3, 4)
    report = vg.check_op(L.Divide, a, b)
    assert report.ok, str(report)


def test_a_kink_under_an_example_value_is_not_compared():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 0.5, -0.25]])
    report = vg.check_op(L.Kink, x)
    assert report.ok, str(report)
    assert any('cannot be trusted at 2 element' in n for n in report.notes)


def test_ops_that_need_positive_values_get_them_and_say_so():
    report = vg.check_op(L.LogOp)
    assert report.ok
    assert any('positive values' in n for n in report.notes)


def test_broadcasting_ops_are_tried_on_broadcasting_pairs_and_may_return_unsummed_gradients():
    report = vg.check_op(L.BroadcastAdd)
    assert report.ok
    assert report.inputs == [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1))]


def test_a_matrix_product_is_tried_on_fitting_shapes():
    report = vg.check_op(L.MatMul)
    assert report.ok and report.inputs == [((3, 4), (4, 2))]
    assert vg.check_op(L.MatMul, (2, 3), (3, 5)).ok


def test_constants_are_passed_to_forward():
    assert vg.check_op(L.ScaledAdd, constants={'alpha': -3.0}).ok
    assert vg.check_op(L.Softplus, (5,), constants={'beta': 4.0}).ok
    assert not vg.check_op(L.ScaleAdd, constants={'alpha': -3.0}).ok
    assert vg.check_op(L.ScaleAdd, constants={'alpha': 1.0}).ok      # -- the bug does not show


def test_a_multi_output_op_is_checked_through_every_output():
    assert vg.check_op(L.SinCos, (2, 3)).ok

    class SinCosWrong(L.SinCos):
        @staticmethod
        def backward(context, gsin, gcos):
            return gsin * np.cos(context['x'])      # -- forgets the second output
    f = vg.check_op(SinCosWrong).findings[0]
    assert f.kind == 'wrong-values' and f.input == 0
