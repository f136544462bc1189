"""vugrad.trace_backward: the record of what backward does, step by step, and its text view."""

import numpy as np
import pytest

import vugrad as vg
from vugrad.core import OpNode, reverse_topological_order
from vugrad.errors import InputTypeError
from vugrad.trace import BackwardTrace, trace_backward


def mlp_step(seed=0):
    """One training step of a small MLP with the course's sigmoid, the loss and the model."""
    np.random.seed(seed)
    model = vg.nn.MLP(4, 5, 3)
    rng = np.random.default_rng(seed)
    x = vg.TensorNode(rng.standard_normal((6, 4)), requires_grad=False)
    targets = rng.integers(0, 3, 6)
    loss = vg.celoss(vg.softmax(model(x)), targets)
    return loss, model


# ---------------------------------------------------------------------- the course's picture

def test_c_equals_a_plus_b_is_one_add_step_named_after_the_variables():
    a = vg.TensorNode(np.array([[1.0, 2.0], [3.0, 4.0]]))
    b = vg.TensorNode(np.array([[5.0, 6.0], [7.0, 8.0]]))
    c = a + b
    loss = c.sum()
    trace = trace_backward(loss)
    assert [s.op for s in trace.steps] == ['Sum', 'Add']
    add = trace.steps[1]
    assert add.opnode is c.source
    np.testing.assert_array_equal(add.arriving[0], np.ones((2, 2)))
    assert [(f.input, f.node) for f in add.sent] == [(0, a), (1, b)]
    assert add.accumulations == []
    text = str(trace)
    assert 'c = Add(a, b)' in text and 'loss = Sum(c)' in text
    assert 'a.grad = [[1, 1], [1, 1]]' in text and 'b.grad = [[1, 1], [1, 1]]' in text


def test_x_times_x_shows_one_node_two_gradients_one_accumulation():
    x = vg.TensorNode(np.array([1.0, 2.0, 3.0]))
    y = x * x
    trace = trace_backward(y.sum())
    mul = trace.steps[-1]
    assert mul.op == 'Multiply' and [f.input for f in mul.sent] == [0, 1]
    first, second = mul.sent
    assert first.node is x and second.node is x
    assert first.before is None                       # -- x's first gradient
    np.testing.assert_array_equal(second.before, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(second.total, [2.0, 4.0, 6.0])
    assert mul.accumulations == [second]
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
    assert 'x accumulates: [1, 2, 3] + [1, 2, 3] = [2, 4, 6]' in str(trace)


def test_an_accumulation_across_two_ops_is_recorded_at_the_second():
    x = vg.TensorNode(np.array([0.5, -1.0]))
    h = vg.sigmoid(x)
    out = (h * 3.0 + h.exp()).sum()      # -- h feeds two ops: a diamond
    trace = trace_backward(out)
    acc = [(s.op, f.node) for s in trace.steps for f in s.accumulations]
    assert len(acc) == 1 and acc[0][1] is h and acc[0][0] in ('Multiply', 'Exp')
    second = [s for s in trace.steps if s.op == acc[0][0]][0]
    first = [s for s in trace.steps if s.op == {'Multiply': 'Exp', 'Exp': 'Multiply'}[acc[0][0]]]
    assert first[0].number < second.number       # -- the second use adds to the first's


# ---------------------------------------------------------------------- the engine's own walk

def test_the_steps_are_the_engines_order_and_one_backward_per_op(monkeypatch):
    loss, _ = mlp_step()
    order = reverse_topological_order(loss)
    calls = []
    original = OpNode.backward

    def counting(self, pending):
        calls.append(self)
        return original(self, pending)

    monkeypatch.setattr(OpNode, 'backward', counting)
    trace = trace_backward(loss)
    assert [s.opnode for s in trace.steps] == order == calls


def test_the_trace_fills_the_same_grads_as_backward():
    loss, model = mlp_step(seed=3)
    trace_backward(loss, module=model)
    traced = [p.grad.copy() for p in model.parameters()]
    loss2, model2 = mlp_step(seed=3)
    loss2.backward()
    for ours, plain in zip(traced, [p.grad for p in model2.parameters()]):
        np.testing.assert_array_equal(ours, plain)


def test_module_parameters_are_labelled_by_their_names():
    loss, model = mlp_step()
    trace = trace_backward(loss, module=model, names=None)
    labels = {trace.name(p) for p in model.parameters()}
    assert labels == {name for name, _ in model.named_parameters()}
    assert any(f'{name}.grad = ' in str(trace) for name in labels)


def test_what_each_gradient_was_is_kept_even_if_an_op_changes_it_later():
    """The trace copies what it records: the arrays do not change with the engine's."""
    x = vg.TensorNode(np.array([1.0, 2.0]))
    loss = (x * 2.0).sum()
    trace = trace_backward(loss)
    recorded = trace.steps[-1].sent[0].gradient.copy()
    x.grad += 100.0
    np.testing.assert_array_equal(trace.steps[-1].sent[0].gradient, recorded)


def test_an_output_that_does_not_reach_the_root_arrives_as_nothing():
    class Split(vg.Op):
        @staticmethod
        def forward(context, x):
            return x * 2.0, x * 3.0

        @staticmethod
        def backward(context, g1, g2):
            return 2.0 * g1 + 3.0 * g2

    x = vg.TensorNode(np.array([1.0, 2.0]))
    first, second = Split.do_forward(x)
    trace = trace_backward(first.sum())
    split = trace.steps[-1]
    assert split.arriving[0] is not None and split.arriving[1] is None
    assert 'arrives at second: nothing: zeros' in str(trace)
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_constant_input_is_sent_nothing():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    data = vg.TensorNode(np.array([3.0, 4.0]), requires_grad=False)
    trace = trace_backward((x * data).sum())
    mul = trace.steps[-1]
    assert [f.input for f in mul.sent] == [0]
    assert 'sends nothing to data (input 1): it needs no gradient' in str(trace)


def test_a_long_chain_is_traced_without_recursion():
    x = vg.TensorNode(np.array([1.0]))
    y = x
    for _ in range(3000):
        y = y * 1.0
    trace = trace_backward(y.sum(), names=None)
    assert len(trace.steps) == 3001
    np.testing.assert_array_equal(x.grad, [1.0])


def test_a_leaf_root_has_no_steps():
    x = vg.TensorNode(np.array(2.0))
    trace = trace_backward(x)
    assert trace.steps == [] and trace.root is x
    assert trace.frame_count() == 2 and 'no leaf needed a gradient' in str(trace)


def test_gradient_and_names_arguments():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y = x * 3.0
    trace = trace_backward(y, gradient=np.array([1.0, -1.0]), names={x: 'input', y: 'output'})
    assert 'output = Multiply(input, #' in str(trace)
    np.testing.assert_array_equal(x.grad, [3.0, -3.0])
    with pytest.raises(InputTypeError, match='names must be'):
        trace_backward(y, gradient=np.ones(2), names=['x'])
    with pytest.raises(InputTypeError, match='expected a TensorNode'):
        trace_backward(np.ones(2))


def test_a_trace_passed_to_backward_records_a_backward_you_run():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    loss = (x * x).sum()
    trace = BackwardTrace(names={x: 'x'})
    loss.backward(trace=trace)
    assert trace.root is loss and len(trace.steps) == 2
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_large_arrays_print_as_shape_and_norm():
    x = vg.TensorNode(np.ones((10, 10)))
    text = str(trace_backward((x * 2.0).sum()))
    assert 'x.grad = shape (10, 10), norm 20' in text


# ---------------------------------------------------------------------- frames for the picture

def test_frames_mark_the_op_its_outputs_and_the_accumulating_input():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y = x * x
    loss = y.sum()
    trace = trace_backward(loss)
    names = {id(loss): 't0', id(loss.source): 'o0', id(y): 't1', id(y.source): 'o1',
             id(x): 't2'}
    frames = trace.frames(names)
    assert len(frames) == trace.frame_count() == 4
    assert frames[0]['arriving'] == ['t0'] and frames[0]['op'] == []
    assert frames[1]['op'] == ['o0'] and frames[1]['arriving'] == ['t0']
    assert frames[1]['sending'] == ['t1'] and frames[1]['accumulating'] == []
    assert frames[2]['op'] == ['o1'] and frames[2]['sending'] == ['t2']
    assert frames[2]['accumulating'] == ['t2']
    assert frames[2]['done'] == ['t0', 't1']
    assert frames[3]['arriving'] == ['t2'] and 't2' in frames[3]['done']
    assert all(f['text'] for f in frames)


def test_frames_leave_out_what_is_not_drawn():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    loss = (x * x).sum()
    frames = trace_backward(loss).frames({id(loss): 't0'})
    assert frames[2]['op'] == [] and frames[2]['sending'] == []
