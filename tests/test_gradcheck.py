"""vugrad.gradcheck: passes correct gradients, catches wrong ones and names the element."""

import re

import numpy as np
import pytest

import vugrad as vg
from vugrad.core import Op
from vugrad.errors import GradcheckError


def test_passes_on_correct_gradients():
    rng = np.random.default_rng(0)
    assert vg.gradcheck(lambda a, b: vg.sigmoid(a @ b), rng.normal(size=(3, 4)),
                        rng.normal(size=(4, 2)))
    assert vg.gradcheck(lambda x: vg.logsoftmax(x), rng.normal(size=(3, 5)))
    t = np.array([1, 0, 2])
    assert vg.gradcheck(lambda x, t: vg.cross_entropy(x, t), rng.normal(size=(3, 4)), t)


def _square_off_by(factor):
    class Square(Op):
        @staticmethod
        def forward(context, x):
            context['x'] = x
            return x * x

        @staticmethod
        def backward(context, go):
            return go * 2 * context['x'] * factor
    return Square


WrongSquare = _square_off_by(1.5)     # -- backward gives 3x instead of 2x


def test_catches_a_wrong_gradient_and_names_the_element():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(GradcheckError) as e:
        vg.gradcheck(lambda x: WrongSquare.do_forward(x), x)
    msg = str(e.value)
    assert 'input 0' in msg and 'finite differences' in msg
    assert not vg.gradcheck(lambda x: WrongSquare.do_forward(x), x, raise_exception=False)


def test_checks_in_float64_even_for_float32_inputs():
    x = np.random.default_rng(1).normal(size=(3,)).astype(np.float32)
    assert vg.gradcheck(lambda x: (x * x * x).sum(), x)


@pytest.mark.parametrize('error', [0.01, 0.005, -0.005])
def test_catches_gradients_off_by_a_percent_or_less(error):
    # -- with PyTorch's rtol 1e-3, an error of half a percent is well outside the tolerance
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    op = _square_off_by(1 + error)
    with pytest.raises(GradcheckError):
        vg.gradcheck(lambda x: op.do_forward(x), x)
    assert vg.gradcheck(lambda x: _square_off_by(1.0).do_forward(x), x)


class NanAtOneElement(_square_off_by(1.0)):
    """x * x, whose backward gives nan for element (1, 0) (a planted bug: 0 / 0, say)."""

    @staticmethod
    def backward(context, go):
        g = go * 2 * context['x']
        if go[1, 0] != 0:
            g[1, 0] = np.nan        # -- only where a gradient arrives: one Jacobian element
        return g


def test_catches_nan_from_backward_where_finite_differences_give_a_number():
    # -- |nan - 6| > tolerance is False: without mapping nan to inf the check would pass
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(GradcheckError) as e:
        vg.gradcheck(lambda x: NanAtOneElement.do_forward(x), x)
    msg = str(e.value)
    assert 'output element 2 with respect to input 0 at index (1, 0)' in msg
    assert re.search(r'is (np\.float64\()?nan\)? by backward but (np\.float64\()?6\.0', msg), msg
    assert not vg.gradcheck(lambda x: NanAtOneElement.do_forward(x), x, raise_exception=False)
