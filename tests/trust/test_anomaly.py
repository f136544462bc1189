"""
Anomaly mode: `with vugrad.detect_anomaly():` raises on the first NaN or inf produced in forward
or in backward, naming the op and the line of user code (this file, this line) that made it.
"""

import sys

import numpy as np
import pytest

import vugrad as vg
from vugrad.errors import AnomalyError, VugradError


def _here(offset=1):
    """'this file:the line after the call' (offset lines below the caller's line)."""
    frame = sys._getframe(1)
    return f'{__file__}:{frame.f_lineno + offset}'


def test_forward_nan_names_the_op_and_the_line():
    x = vg.TensorNode(np.array([1.0, -1.0]))
    with vg.detect_anomaly(), pytest.raises(AnomalyError) as info:
        where = _here()
        vg.sqrt(x)
    message = str(info.value)
    assert 'Sqrt.forward' in message and where in message


def test_forward_inf_names_the_op_and_the_line():
    x = vg.TensorNode(np.array([0.0, 2.0]))
    with vg.detect_anomaly(), pytest.raises(AnomalyError) as info:
        where = _here()
        x.log()
    assert 'Log.forward' in str(info.value) and where in str(info.value)


def test_forward_raises_on_the_first_anomaly_not_a_later_one():
    x = vg.TensorNode(np.array([1000.0]))
    with vg.detect_anomaly():
        y = x * 2                       # -- finite
        with pytest.raises(AnomalyError, match=r'^Exp\.forward'):
            z = vg.exp(y)               # -- inf: the first anomaly
            vg.log(z - z)               # -- never reached


def test_backward_nan_names_the_op_and_the_line_that_created_it():
    x = vg.TensorNode(np.array([0.0, 4.0]))
    with vg.detect_anomaly():
        where = _here()
        y = vg.sqrt(x)                  # -- finite forward (0 and 2), inf gradient at 0
        loss = (y * 3.0).sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert 'Sqrt.backward' in message and where in message
    assert 'Multiply' not in message    # -- the op after it in backward order was fine


def test_backward_raises_on_the_first_anomaly_in_backward_order():
    # -- log(x) at x = 0 and sqrt(x) at x = 0 both have an infinite gradient; backward reaches the
    #    sqrt (the later op in forward) first
    x = vg.TensorNode(np.array([0.0]))
    with vg.detect_anomaly():
        a = vg.exp(x)                   # -- 1: log(a) = 0 and its gradient is finite
        b = vg.sqrt(x * 1.0)
        where = _here()
        c = vg.sqrt(b)                  # -- 0 in forward, inf gradient
        loss = (vg.log(a) + c).sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    assert 'Sqrt.backward' in str(info.value) and where in str(info.value)


def test_the_user_line_is_found_through_functions_and_operators():
    # -- vg.softmax, vg.log and `/` live in vugrad; the line named is this file's
    x = vg.TensorNode(np.array([[1.0, 2.0]]))
    with vg.detect_anomaly(), pytest.raises(AnomalyError) as info:
        where = _here()
        x / (x - x)
    assert 'Divide.forward' in str(info.value) and where in str(info.value)


def test_no_checks_outside_the_context():
    x = vg.TensorNode(np.array([0.0, 1.0]))
    y = vg.log(x)                       # -- -inf, no error
    y.sum().backward()                  # -- inf gradient, no error
    assert y.value[0] == -np.inf and x.grad[0] == np.inf


def test_the_context_restores_the_previous_state_after_an_error():
    x = vg.TensorNode(np.array([0.0]))
    with pytest.raises(AnomalyError), vg.detect_anomaly():
        vg.log(x)
    assert np.isneginf(vg.log(x).value[0])     # -- checks are off again


def test_anomaly_error_is_a_vugrad_error_and_a_floating_point_error():
    assert issubclass(AnomalyError, VugradError) and issubclass(AnomalyError, FloatingPointError)


def test_finite_graphs_pass_through_anomaly_mode_unchanged():
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))

    def run():
        x, w = vg.TensorNode(xv.copy()), vg.TensorNode(wv.copy())
        vg.cross_entropy(x @ w.T, np.array([0, 1, 1, 0])).backward()
        return x.grad, w.grad

    plain = run()
    with vg.detect_anomaly():
        checked = run()
    for a, b in zip(plain, checked):
        np.testing.assert_array_equal(a, b)


def test_backward_of_a_graph_built_outside_anomaly_mode_says_so():
    x = vg.TensorNode(np.array([0.0]))
    loss = vg.sqrt(x).sum()
    with vg.detect_anomaly(), pytest.raises(AnomalyError) as info:
        loss.backward()
    assert 'None' not in str(info.value) and 'detect_anomaly' in str(info.value)
