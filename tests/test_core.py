"""The graph, the backward pass and the course text's snippets (Questions 5 to 9)."""

import sys
import weakref

import numpy as np
import pytest

import vugrad as vg
import vugrad.core
from vugrad.core import Op, OpNode, TensorNode


# ----------------------------------------------------------------- the course text, verbatim

def test_question5_graph_of_c_equals_a_plus_b():
    x = vg.TensorNode(np.random.randn(2, 2))
    assert x.value.shape == (2, 2)
    a = vg.TensorNode(np.random.randn(2, 2))
    b = vg.TensorNode(np.random.randn(2, 2))
    c = a + b
    np.testing.assert_array_equal(c.value, a.value + b.value)
    assert isinstance(c.source, OpNode)
    assert c.source.op is vg.Add
    assert c.source.inputs[0].value is a.value
    assert c.source.inputs[1] is b
    assert c.source.outputs == [c]
    # -- before backward, a.grad reads as zeros of a's shape
    np.testing.assert_array_equal(a.grad, np.zeros((2, 2)))
    assert a._grad is None          # ... without an array having been allocated


def test_question6_7_op_is_a_class_and_backward_calls_op_backward():
    a = vg.TensorNode(np.ones((2, 2)))
    c = a + a
    assert issubclass(c.source.op, Op)
    c.sum().backward()
    np.testing.assert_array_equal(a.grad, 2 * np.ones((2, 2)))


class ReLU(Op):
    """Question 9: a user-written op, two static methods over plain arrays."""

    @staticmethod
    def forward(context, input):
        context['input'] = input
        return np.maximum(input, 0)

    @staticmethod
    def backward(context, goutput):
        return goutput * (context['input'] > 0)


def test_question9_user_relu_trains_in_an_mlp():
    np.random.seed(0)
    (xtrain, ytrain), (xval, yval), num_classes = vg.load_synth(num_train=2000, num_val=500)

    class MLP(vg.Module):
        def __init__(self, input_size, output_size):
            super().__init__()
            self.layer1 = vg.Linear(input_size, 16)
            self.layer2 = vg.Linear(16, output_size)

        def forward(self, input):
            return vg.logsoftmax(self.layer2(ReLU.do_forward(self.layer1(input))))

        def parameters(self):
            return self.layer1.parameters() + self.layer2.parameters()

    mlp = MLP(2, num_classes)
    for epoch in range(15):
        for fr in range(0, 2000, 100):
            batch = vg.TensorNode(xtrain[fr:fr + 100], requires_grad=False)
            loss = vg.logceloss(mlp(batch), ytrain[fr:fr + 100])
            loss.backward()
            for p in mlp.parameters():
                p.value -= 0.01 * p.grad
            loss.zero_grad()
            loss.clear()
    with vg.no_grad():
        acc = (mlp(xval).value.argmax(axis=1) == yval).mean()
    assert acc > 0.9


def test_original_linear_trains_with_tensor_node_batch():
    """The original script wraps the batch in a TensorNode (a float node: it needs a gradient)."""
    x = vg.TensorNode(np.random.randn(4, 3))
    lin = vg.Linear(3, 2)
    out = vg.logsoftmax(lin(x))
    loss = vg.logceloss(out, np.array([0, 1, 1, 0]))
    loss.backward()
    assert x.grad.shape == (4, 3) and np.any(x.grad != 0)
    assert lin.w.grad.shape == (2, 3) and lin.b.grad.shape == (1, 2)


# ----------------------------------------------------------------- the traversal

def test_chain_of_100000_ops_backpropagates():
    assert sys.getrecursionlimit() <= 10_000
    x = vg.TensorNode(np.array(1.0))
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0        # -- two ops per step: 200,000 ops
    y.backward()
    assert x.grad == pytest.approx(1.0)
    y.zero_grad()
    assert x._grad is None
    y.clear()
    assert y.source is None


def test_diamond():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    a = x * 2.0
    b = x * 3.0
    (a * b).sum().backward()      # d(6 x^2)/dx = 12 x
    np.testing.assert_allclose(x.grad, 12 * x.value)


def test_node_reused_by_many_ops():
    x = vg.TensorNode(np.array([0.5, -1.5]))
    total = x
    for _ in range(10):
        total = total + x
    total.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(2, 11.0))


def test_same_node_twice_to_one_op():
    x = vg.TensorNode(np.array([1.0, -2.0, 3.0]))
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.value)
    y = vg.TensorNode(np.random.randn(3, 3))
    (y @ y).sum().backward()
    ones = np.ones((3, 3))
    np.testing.assert_allclose(y.grad, ones @ y.value.T + y.value.T @ ones)


def test_branch_that_does_not_reach_the_loss_changes_nothing():
    np.random.seed(1)
    w = vg.TensorNode(np.random.randn(3, 3))
    x = np.random.randn(4, 3)

    def loss_fn(side_branch):
        h = vg.sigmoid(vg.TensorNode(x, requires_grad=False) @ w)
        if side_branch:
            unused = (h * 5.0).sum()      # a side branch that never reaches the loss
            assert unused.requires_grad
        return (h * h).sum()

    loss_fn(False).backward()
    g_without = w.grad.copy()
    w.grad = None
    loss_fn(True).backward()
    np.testing.assert_array_equal(w.grad, g_without)


def test_stacked_diamonds_zero_grad_and_clear_are_linear():
    x = vg.TensorNode(np.array(1.0))
    y = x
    for _ in range(60):           # 2^60 paths: an exponential walk would never finish
        y = y * 0.5 + y * 0.5
    y.backward()
    assert x.grad == pytest.approx(1.0)
    y.zero_grad()
    y.clear()
    assert x._grad is None


def test_gradients_accumulate_across_backward_calls():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    for _ in range(3):
        (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])


def test_second_backward_propagates_only_the_new_gradient():
    x = vg.TensorNode(np.array([1.0]))
    h = x * 3.0
    loss = (h * h).sum()
    loss.backward()
    loss.backward()               # -- not doubled again through h's accumulated gradient
    np.testing.assert_allclose(x.grad, [2 * 18.0 * 1.0])
    np.testing.assert_allclose(h.grad, [2 * 6.0 * 1.0])


def test_shared_gradient_arrays_are_not_corrupted_by_accumulation():
    a = vg.TensorNode(np.ones(3))
    b = vg.TensorNode(np.ones(3))
    c = a + b                     # Add returns the same array for a and b
    d = c + a                     # a gets a second contribution
    d.sum().backward()
    np.testing.assert_array_equal(a.grad, [2, 2, 2])
    np.testing.assert_array_equal(b.grad, [1, 1, 1])


def test_multi_output_op_with_an_unused_output():
    class Split(Op):
        @staticmethod
        def forward(context, x):
            return x[:2].copy(), x[2:].copy()

        @staticmethod
        def backward(context, g1, g2):
            return np.concatenate([g1, g2])

    x = vg.TensorNode(np.arange(5.0))
    first, rest = Split.do_forward(x)
    (first * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2, 2, 0, 0, 0])


def test_backward_on_a_leaf():
    x = vg.TensorNode(np.array(3.0))
    x.backward()
    assert x.grad == 1.0


def test_graph_is_freed_without_clear():
    x = vg.TensorNode(np.random.randn(3))
    h = vg.sigmoid(x)
    loss = (h * 2.0).sum()
    ref_h, ref_op = weakref.ref(h), weakref.ref(h.source)
    del h
    loss.backward()
    del loss
    import gc
    gc.disable()
    try:
        assert ref_h() is None and ref_op() is None
    finally:
        gc.enable()


# ----------------------------------------------------------------- constants and requires_grad

def test_constants_numbers_and_arrays():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y = 2 * x + 1 - x / 2 + x * np.ones(2) + 3 - (1 / (x + 1))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 - 0.5 + 1 + 1 / (x.value + 1) ** 2)


def test_reflected_ops_with_array_on_the_left():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y = np.array([3.0, 4.0]) - x
    assert isinstance(y, TensorNode)
    z = np.eye(2) @ x
    assert isinstance(z, TensorNode)
    (y + z).sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0])


def test_default_requires_grad():
    assert vg.TensorNode(np.zeros(2)).requires_grad
    assert not vg.TensorNode(np.zeros(2, dtype=int)).requires_grad
    assert not vg.TensorNode(np.zeros(2, dtype=bool)).requires_grad
    assert not vg.TensorNode(np.zeros(2), requires_grad=False).requires_grad


def test_no_gradient_computed_for_constants():
    seen = {}

    class Spy(Op):
        @staticmethod
        def forward(context, a, b):
            return a * b

        @staticmethod
        def backward(context, go):
            seen['needs'] = context['needs_input_grad']
            return go, None

    w = vg.TensorNode(np.ones(3))
    Spy.do_forward(w, np.full(3, 2.0)).sum().backward()
    assert seen['needs'] == (True, False)


def test_constant_data_batch_costs_no_input_gradient():
    lin = vg.Linear(5, 3)
    x = vg.TensorNode(np.random.randn(4, 5).astype(np.float32), requires_grad=False)
    lin(x).sum().backward()
    assert x._grad is None
    assert lin.w._grad is not None


def test_no_grad_builds_nothing():
    x = vg.TensorNode(np.ones(3))
    with vg.no_grad():
        y = vg.sigmoid(x * 2.0)
        assert not vg.is_grad_enabled()
    assert vg.is_grad_enabled()
    assert y.source is None and not y.requires_grad


def test_dtype_is_kept():
    x = vg.TensorNode(np.ones((2, 3), dtype=np.float32))
    y = vg.logsoftmax(vg.sigmoid(x * 2.0 + 1) / 3.0 - x ** 2)
    assert y.value.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# ----------------------------------------------------------------- broadcasting

@pytest.mark.parametrize('sa,sb', [((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (2, 2)),
                                   ((1, 2), (3, 1)), ((2, 1, 4), (3, 1))])
@pytest.mark.parametrize('op', ['+', '-', '*', '/'])
def test_broadcasting_gradients_keep_input_shapes(sa, sb, op):
    rng = np.random.default_rng(0)
    a = vg.TensorNode(rng.uniform(1, 2, sa))
    b = vg.TensorNode(rng.uniform(1, 2, sb))
    out = {'+': a + b, '-': a - b, '*': a * b, '/': a / b}[op]
    assert out.value.shape == np.broadcast_shapes(sa, sb)
    out.sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    fn = {'+': lambda p, q: p + q, '-': lambda p, q: p - q,
          '*': lambda p, q: p * q, '/': lambda p, q: p / q}[op]
    assert vg.gradcheck(fn, rng.uniform(1, 2, sa), rng.uniform(1, 2, sb))


# ----------------------------------------------------------------- Module

def test_module_finds_parameters_automatically():
    class Net(vg.Module):
        def __init__(self):
            super().__init__()
            self.a = vg.Linear(2, 3)
            self.blocks = [vg.Linear(3, 3), vg.Linear(3, 3)]

        def forward(self, x):
            return self.blocks[1](self.blocks[0](self.a(x)))

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert len(net.parameters()) == 6
    assert sorted(names) == sorted(['a.w', 'a.b', 'blocks.0.w', 'blocks.0.b',
                                    'blocks.1.w', 'blocks.1.b'])


# ---------------------------------------------------------------- iterating, complex, targets

def test_iterating_a_node_yields_its_rows_as_nodes_of_the_graph():
    x = TensorNode(np.arange(6.0).reshape(3, 2))
    rows = list(x)
    assert len(rows) == 3 and all(isinstance(r, TensorNode) for r in rows)
    np.testing.assert_array_equal(rows[1].value, [2.0, 3.0])
    a, b, c = x                                   # -- unpacking works too
    (a.sum() * 2 + c.sum()).backward()
    np.testing.assert_array_equal(x.grad, [[2, 2], [0, 0], [1, 1]])
    assert [r.value.tolist() for r in TensorNode(np.arange(3.0))] == [0.0, 1.0, 2.0]


def test_iterating_a_0d_node_is_a_type_error():
    with pytest.raises(TypeError, match='0-d'):
        iter(TensorNode(np.array(1.0)))


def test_indexing_past_the_end_is_an_index_error():
    x = TensorNode(np.zeros((2, 3)))
    with pytest.raises(IndexError, match='GetItem'):
        x[2]
    with pytest.raises(vg.errors.ShapeError):
        x[:, 5]


@pytest.mark.parametrize('value', [np.array([1 + 2j]), 1 + 2j, np.complex64(3)])
def test_complex_values_are_refused(value):
    with pytest.raises(vg.errors.InputTypeError, match='complex|real'):
        vg.sigmoid(TensorNode(value) if isinstance(value, np.ndarray) else value)
    with pytest.raises(vg.errors.InputTypeError):
        TensorNode(np.ones(2)) * value


def test_a_node_as_targets_asks_for_a_numpy_array():
    logits = TensorNode(np.zeros((3, 2)))
    with pytest.raises(vg.errors.InputTypeError, match=r'\.value'):
        vg.cross_entropy(logits, TensorNode(np.array([0, 1, 1])))


def test_an_op_returning_a_node_from_forward_is_told_to_return_an_array():
    class Wrong(Op):
        @staticmethod
        def forward(context, x):
            return TensorNode(x)

        @staticmethod
        def backward(context, go):
            return go

    with pytest.raises(vg.errors.OpDefinitionError, match='NumPy'):
        Wrong.do_forward(TensorNode(np.ones(2)))


def test_a_python_numbers_constant_node_is_shared_and_read_only():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y, z = x * 2.0, x * 2.0
    shared = y.source.inputs[1]
    assert shared is z.source.inputs[1] and not shared.value.flags.writeable
    with pytest.raises(ValueError):
        shared.value += 1     # -- a shared constant cannot be changed behind other graphs' backs
    # -- zeros (0.0 and -0.0 compare equal), NaN and float32 graphs get nodes of their own
    assert (x * 0.0).source.inputs[1] is not (x * -0.0).source.inputs[1]
    assert (x * float('nan')).source.inputs[1] is not (x * float('nan')).source.inputs[1]
    x32 = vg.TensorNode(np.ones(2, dtype=np.float32))
    assert (x32 * 2.0).source.inputs[1].value.dtype == np.float32
    for i in range(3000):      # -- the cache stays bounded
        x * float(i + 1)
    assert len(vugrad.core._numbers) <= 1024


def test_an_op_leaves_at_most_four_objects_for_the_cycle_collector():
    """Output node, OpNode, inputs tuple, weak reference to the output: the context dict, its
    needs_input_grad tuple and the shared constant of 1.0 are not tracked."""
    # -- in a fresh interpreter: threads an earlier test left running (a Dask client's, say)
    #    would create objects of their own while we count
    import subprocess
    code = '\n'.join([
        'import gc', 'import numpy as np', 'import vugrad as vg',
        'x = vg.TensorNode(np.array(1.0))', 'y = x * 1.0', 'gc.collect()',
        'before = len(gc.get_objects())',
        'for _ in range(100):', '    y = y * 1.0',
        'gc.collect()',
        'print(len(gc.get_objects()) - before, gc.is_tracked(y.source.context))'])
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert int(out[0]) <= 400 and out[1] == 'False', out


# ---------------------------------------------------------------------- truth and numbers

@pytest.mark.parametrize('value, expected', [
    (np.zeros(1), False), (np.array(0.), False), (np.array([[0.5]]), True),
    (np.array([3]), True), (np.array(False), False), (np.ones((1, 1, 1), np.float32), True)])
def test_bool_of_a_one_element_node_is_its_value(value, expected):
    assert bool(vg.TensorNode(value)) is expected


@pytest.mark.parametrize('value', [np.array(2.5), np.array([2.5]), np.array([[2.5]], np.float32)])
def test_float_of_a_one_element_node_is_its_value(value):
    assert float(vg.TensorNode(value)) == 2.5


@pytest.mark.parametrize('convert', [bool, float])
@pytest.mark.parametrize('shape', [(3,), (2, 2), (0,)])
def test_bool_and_float_of_larger_nodes_raise_a_clear_error(convert, shape):
    with pytest.raises(vg.errors.ShapeError, match=rf'{convert.__name__}\(\).*shape \({shape[0]},'):
        convert(vg.TensorNode(np.zeros(shape)))


def test_only_core_stores_gradients():
    """
    Outside core.py nothing in the package assigns a gradient (`x.grad = g`, `x._grad = g`,
    `x._grad += g`): the checks validate, optimizers and gradcheck may only clear (None).
    """
    import ast
    import pathlib
    package = pathlib.Path(vg.__file__).parent
    stores = []
    for path in package.rglob('*.py'):
        if path.name == 'core.py':
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            targets, value = [], None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AugAssign):
                targets, value = [node.target], node.value
            for t in targets:
                for leaf in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(leaf, ast.Attribute) and leaf.attr in ('grad', '_grad'):
                        cleared = isinstance(value, ast.Constant) and value.value is None or (
                            isinstance(value, ast.Tuple) and isinstance(t, ast.Tuple) and
                            isinstance(value.elts[t.elts.index(leaf)], ast.Constant) and
                            value.elts[t.elts.index(leaf)].value is None)
                        if not cleared or isinstance(node, ast.AugAssign):
                            stores.append(f'{path.relative_to(package)}:{node.lineno}')
    assert stores == []
