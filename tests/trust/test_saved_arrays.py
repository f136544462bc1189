"""
Saved arrays: an array an op keeps for its backward must not change in place behind its back.

vugrad's check: `node.value -= x` (which Python runs as `node.value = node.value.__isub__(x)`)
bumps the node's version; an op records its inputs' versions in forward, and its backward raises
SavedArrayModifiedError when an input it saved has changed since. The course's training loop
(backward, then `p.value -= lr * p.grad`, then zero_grad and clear) updates after backward, so it
keeps working. A node that is a view of another (reshape, transpose, basic indexing) shares
the count of in-place changes with it, both ways, as PyTorch's views do.
"""

import numpy as np
import pytest

torch = pytest.importorskip('torch')   # -- the trust suite compares with PyTorch

import vugrad as vg  # noqa: E402
from vugrad.core import Op
from vugrad.errors import SavedArrayModifiedError, VugradError

from course import course_mlp_class

rng = np.random.default_rng(0)
A, B = rng.uniform(0.5, 2.0, (3, 4)), rng.uniform(0.5, 2.0, (4, 2))

# -- (name, build(x) -> loss) for ops that save their input x for backward
SAVING = {
    'Multiply': lambda x: (x * x).sum(),
    'MatrixMultiply': lambda x: (x @ B).sum(),
    'Divide': lambda x: (1.0 / x).sum(),
    'Log': lambda x: vg.log(x).sum(),
    'Max': lambda x: x.max(),
    'Power': lambda x: (x ** 3).sum(),
    'Normalize': lambda x: vg.ops.Normalize.do_forward(x)[:, 0].sum(),
    'Linear': lambda x: vg.ops.Linear.do_forward(x, np.ones((2, 4)), np.zeros(2)).sum(),
}


@pytest.mark.parametrize('update', ['-=', '+=', '*=', '/='])
@pytest.mark.parametrize('name', list(SAVING))
def test_in_place_update_of_a_saved_input_raises(name, update):
    x = vg.TensorNode(A.copy())
    loss = SAVING[name](x)
    if update == '-=':
        x.value -= 0.1
    elif update == '+=':
        x.value += 0.1
    elif update == '*=':
        x.value *= 1.1
    else:
        x.value /= 1.1
    with pytest.raises(SavedArrayModifiedError) as info:
        loss.backward()
    message = str(info.value)
    assert name in message and 'in place' in message and 'backward' in message
    assert isinstance(info.value, VugradError)


def test_an_op_that_saved_nothing_does_not_mind():
    # -- Add keeps no input for backward, so changing one after forward is harmless
    a, b = vg.TensorNode(A.copy()), vg.TensorNode(A.copy())
    loss = (a + b).sum()
    a.value -= 1.0
    loss.backward()
    np.testing.assert_array_equal(a.grad, np.ones_like(A))


def test_assigning_a_new_array_is_not_an_in_place_change():
    # -- the op still holds the old array: the gradient is the one of the forward that ran
    x = vg.TensorNode(A.copy())
    loss = (x * x).sum()
    x.value = x.value - 1.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * A)


def test_after_the_error_a_new_forward_works():
    x = vg.TensorNode(A.copy())
    loss = (x * x).sum()
    x.value -= 1.0
    with pytest.raises(SavedArrayModifiedError):
        loss.backward()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * (A - 1.0))


@pytest.fixture
def float64():
    """New parameters in float64, for a comparison with PyTorch to 1e-12."""
    before = vg.get_default_dtype()
    vg.set_default_dtype(np.float64)
    yield
    vg.set_default_dtype(before)


def test_the_course_training_loop_keeps_working_and_matches_pytorch(float64):
    np.random.seed(1)
    mlp = course_mlp_class()(input_size=5, output_size=3)      # experiments/train_mlp.py's
    assert mlp.layer1.w.value.dtype == np.float64
    data = np.random.default_rng(2)
    x, y = data.standard_normal((40, 5)), data.integers(0, 3, 40)
    tparams = [torch.tensor(p.value, requires_grad=True) for p in mlp.parameters()]
    lr = 0.05

    for step in range(10):
        batch, targets = x[4 * step:4 * step + 4], y[4 * step:4 * step + 4]
        # -- the course's loop, as written in experiments/train_mlp.py
        loss = vg.celoss(mlp(batch), targets)
        loss.backward()
        for parm in mlp.parameters():
            parm.value -= lr * parm.grad
        loss.zero_grad()
        loss.clear()

        w1, b1, w2, b2 = tparams
        h = torch.sigmoid(torch.from_numpy(batch) @ w1.T + b1)
        tl = torch.nn.functional.nll_loss(torch.log(torch.softmax(h @ w2.T + b2, 1)),
                                          torch.from_numpy(targets), reduction='sum')
        tl.backward()
        with torch.no_grad():
            for p in tparams:
                p -= lr * p.grad
                p.grad = None
        np.testing.assert_allclose(loss.value, tl.item(), rtol=1e-12)

    for p, t in zip(mlp.parameters(), tparams):
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert np.all(p.grad == 0)      # -- zero_grad ran


def test_updating_before_backward_is_caught_in_the_course_loop(float64):
    np.random.seed(1)
    mlp = course_mlp_class()(input_size=5, output_size=3)
    loss = vg.celoss(mlp(np.ones((2, 5))), np.array([0, 1]))
    for parm in mlp.parameters():
        parm.value -= 0.1                # -- a step before backward: the wrong order
    with pytest.raises(SavedArrayModifiedError, match='Linear'):
        loss.backward()


# ---------------------------------------------------------------------- beyond the inputs
# -- Outputs an op saved (Exp, Sigmoid, ...) are version-checked too; element writes
#    (x.value[0] = 5), which bypass the version counter, are caught by detect_anomaly()'s
#    checksums; outside anomaly mode they stay unseen (documented).

@pytest.mark.parametrize('fn', [vg.exp, vg.sigmoid, vg.tanh, vg.sqrt, vg.softmax],
                         ids=['exp', 'sigmoid', 'tanh', 'sqrt', 'softmax'])
def test_in_place_change_of_a_saved_output_raises(fn):
    x = vg.TensorNode(A.copy())
    y = fn(x)
    loss = y.sum()                      # -- Sum saves nothing; y's op saved y's array
    y.value *= 2.0
    with pytest.raises(SavedArrayModifiedError):
        loss.backward()


def test_element_write_to_a_saved_array_is_caught_in_anomaly_mode():
    x = vg.TensorNode(A.copy())
    with vg.detect_anomaly():
        loss = (x * x).sum()
        x.value[0, 0] = 5.0
        with pytest.raises(SavedArrayModifiedError):
            loss.backward()


class SaveView(Op):
    """A user op (the course's exercise style) that saves a view of its input."""

    @staticmethod
    def forward(context, x):
        context['flat'] = x.reshape(-1)
        return x * x

    @staticmethod
    def backward(context, go):
        return go * 2 * context['flat'].reshape(go.shape)


def test_in_place_change_seen_through_a_saved_view():
    x = vg.TensorNode(A.copy())
    loss = SaveView.do_forward(x).sum()
    x.value -= 1.0
    with pytest.raises(SavedArrayModifiedError):
        loss.backward()


def test_in_place_change_through_a_view_node_is_caught_in_anomaly_mode():
    # -- y = x.reshape(-1) holds a view of x's array: changing x changes y, which Multiply saved
    x = vg.TensorNode(A.copy())
    with vg.detect_anomaly():
        y = x.reshape(-1)
        loss = (y * y).sum()
        x.value -= 1.0
        with pytest.raises(SavedArrayModifiedError, match='Multiply'):
            loss.backward()


def test_in_place_change_through_a_view_node_is_caught():
    x = vg.TensorNode(A.copy())
    y = x.reshape(-1)
    loss = (y * y).sum()
    x.value -= 1.0
    with pytest.raises(SavedArrayModifiedError):
        loss.backward()


def test_changing_the_base_of_a_saved_view_is_caught():
    a = vg.TensorNode(np.array([[1.0, 2.0]]))
    r = a.reshape(2)                   # -- a view of a's array
    loss = (r * r).sum()               # -- Multiply saved r's value, the view
    a.value *= 10                      # -- changes what Multiply saved, through the base
    with pytest.raises(SavedArrayModifiedError, match='Multiply'):
        loss.backward()


def test_changing_a_view_of_a_saved_array_is_caught():
    a = vg.TensorNode(np.array([1.0, 2.0, 3.0]))
    loss = (a * a).sum()               # -- Multiply saved a's array
    v = a[1:]                          # -- a view of it, made afterwards (no_grad or not)
    v.value *= 10
    with pytest.raises(SavedArrayModifiedError, match='Multiply'):
        loss.backward()


def test_views_that_nobody_changed_cost_nothing_and_pass():
    a = vg.TensorNode(np.arange(6.0))
    loss = (a.reshape(2, 3).T * 2.0).sum() + (a[::2] * a[::2]).sum()
    loss.backward()
    np.testing.assert_array_equal(a.grad, 2.0 + np.array([0, 0, 4, 0, 8, 0]) * [1, 0, 1, 0, 1, 0])
