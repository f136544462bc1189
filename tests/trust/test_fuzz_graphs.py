"""
Random-graph fuzzing: hypothesis composes random computation graphs from vugrad's public API,
the same graph is built in PyTorch step by step, and every leaf's gradient must agree (float64).

A graph starts from one to three leaves of shapes that broadcast together. Each step applies an
op to nodes picked from everything computed so far (so intermediate nodes are reused, sometimes
twice in one op): element-wise functions, broadcasting arithmetic, reductions over drawn axes,
basic, integer-array and boolean indexing, reshapes, transposes, matrix products with new weight
leaves, softmaxes, joins and losses. The loss sums the last node and one earlier node, each
weighted by a random constant; nodes that do not reach the loss are left dangling, as in the
classic visit-count bug.
"""

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

torch = pytest.importorskip('torch')   # -- the trust suite compares with PyTorch
F = torch.nn.functional

import vugrad as vg  # noqa: E402
from vugrad import ops

from .optable import _axis, broadcasts, t_getitem, t_max, t_mean, t_sum
from .support import examples

GRAPHS = 200          # -- random graphs per run of the default (CI) profile
MAX_STEPS = 8


# -- element-wise functions, each safe on any real input (no log of negatives, no division by 0)
UNARY = [
    ('tanh', vg.tanh, torch.tanh),
    ('sigmoid', vg.sigmoid, torch.sigmoid),
    ('neg', lambda x: -x, lambda x: -x),
    ('square', lambda x: x ** 2, lambda x: x ** 2),
    ('cube', lambda x: ops.Power.do_forward(x, p=3), lambda x: x ** 3),
    ('relu', vg.relu, torch.relu),
    ('exp(tanh)', lambda x: vg.exp(vg.tanh(x)), lambda x: torch.exp(torch.tanh(x))),
    ('log(1+x^2)', lambda x: vg.log(x * x + 1), lambda x: torch.log(x * x + 1)),
    ('sqrt(1+x^2)', lambda x: vg.sqrt(1 + x * x), lambda x: torch.sqrt(1 + x * x)),
    ('1/(1+x^2)', lambda x: 1 / (x * x + 1), lambda x: 1 / (x * x + 1)),
    ('affine', lambda x: 0.5 * x - 1, lambda x: 0.5 * x - 1),
    ('(1+x^2)^1.5', lambda x: (x * x + 1) ** 1.5, lambda x: (x * x + 1) ** 1.5),
    ('2^tanh', lambda x: 2.0 ** vg.tanh(x), lambda x: 2.0 ** torch.tanh(x)),
]

BINARY = [
    ('add', lambda a, b: a + b, lambda a, b: a + b),
    ('sub', lambda a, b: a - b, lambda a, b: a - b),
    ('mul', lambda a, b: a * b, lambda a, b: a * b),
    ('div', lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    ('pow', lambda a, b: (a * a + 1) ** vg.tanh(b), lambda a, b: (a * a + 1) ** torch.tanh(b)),
    ('Add op', lambda a, b: ops.Add.do_forward(a, b), torch.add),
]


class Graph:
    """The graph built so far, in vugrad and in PyTorch side by side."""

    def __init__(self, draw, rng):
        self.draw, self.rng = draw, rng
        self.pool = []       # (vugrad node, torch tensor), everything computed so far
        self.leaves = []     # (vugrad leaf, torch leaf)
        self.ops = []        # names of the steps, for the failure message

    def leaf(self, shape):
        value = self.rng.standard_normal(shape)
        v = vg.TensorNode(value.copy(), requires_grad=True)
        t = torch.from_numpy(value.copy()).requires_grad_(True)
        self.leaves.append((v, t))
        return v, t

    def pick(self):
        return self.draw(st.sampled_from(self.pool))

    def add(self, name, v, t):
        self.ops.append(f'{name} -> {v.value.shape}')
        self.pool.append((v, t))

    # -- the steps: each adds one node to the pool, or returns without one where it cannot apply

    def unary(self):
        name, fv, ft = self.draw(st.sampled_from(UNARY))
        v, t = self.pick()
        self.add(name, fv(v), ft(t))

    def binary(self):
        name, fv, ft = self.draw(st.sampled_from(BINARY))
        (va, ta), (vb, tb) = self.pick(), self.pick()
        if broadcasts(va.value.shape, vb.value.shape):
            self.add(name, fv(va, vb), ft(ta, tb))

    def reduce(self):
        v, t = self.pick()
        axis = self.draw(_axis(v.value.ndim))
        keepdims = self.draw(st.booleans())
        kind = self.draw(st.sampled_from(['sum', 'mean', 'max']))
        axes = range(v.value.ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
        if kind != 'sum' and any(v.value.shape[a] == 0 for a in axes):
            return    # -- no mean or max over nothing
        fv = {'sum': vg.sum, 'mean': vg.mean, 'max': vg.max}[kind]
        ft = {'sum': t_sum, 'mean': t_mean, 'max': t_max}[kind]
        self.add(f'{kind}(axis={axis}, keepdims={keepdims})', fv(v, axis, keepdims),
                 ft(t, axis, keepdims))

    def index(self):
        v, t = self.pick()
        shape = v.value.shape
        kind = self.draw(st.sampled_from(['basic', 'integer', 'boolean']))
        if kind == 'basic':
            index = self.draw(hnp.basic_indices(shape, allow_newaxis=True))
        elif kind == 'integer' and shape and 0 not in shape:
            index = self.draw(hnp.integer_array_indices(
                shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)))
        else:
            index = v.value > 0     # -- a mask computed from the values, as users write it
        self.add(f'[{kind}]', v[index], t_getitem(t, index))

    def reshape(self):
        v, t = self.pick()
        shape = v.value.shape
        new = self.draw(st.sampled_from([(-1,), shape[::-1], (1,) + shape]))
        self.add(f'reshape{new}', v.reshape(new), t.reshape(new))

    def transpose(self):
        v, t = self.pick()
        n = v.value.ndim
        if self.draw(st.booleans()):
            self.add('.T', v.T, t.permute(tuple(reversed(range(n)))))
        else:
            perm = self.draw(st.permutations(range(n)))
            self.add(f'transpose{tuple(perm)}', v.transpose(*perm), t.permute(tuple(perm)))

    def matmul(self):
        v, t = self.pick()
        if v.value.ndim == 0:
            return
        m = self.draw(st.integers(1, 3))
        if self.draw(st.booleans()):
            wv, wt = self.leaf((v.value.shape[-1], m))
            self.add('@ W', v @ wv, t @ wt)
        else:
            wv, wt = self.leaf((m, v.value.shape[0]) if v.value.ndim == 1 else
                               (m, v.value.shape[-2]))
            self.add('W @', wv @ v, wt @ t)

    def linear(self):
        v, t = self.pick()
        if v.value.ndim != 2:
            return
        m = self.draw(st.integers(1, 3))
        wv, wt = self.leaf((m, v.value.shape[1]))
        bv, bt = self.leaf((m,))
        self.add('Linear', ops.Linear.do_forward(v, wv, bv), t @ wt.T + bt)

    def softmax(self):
        v, t = self.pick()
        if v.value.ndim == 0:
            return
        axis = self.draw(st.integers(-v.value.ndim, v.value.ndim - 1))
        if self.draw(st.booleans()):
            self.add(f'softmax({axis})', vg.softmax(v, axis), torch.softmax(t, axis))
        else:
            self.add(f'logsoftmax({axis})', vg.logsoftmax(v, axis), torch.log_softmax(t, axis))

    def join(self):
        (va, ta), (vb, tb) = self.pick(), self.pick()
        if va.value.shape != vb.value.shape:
            vb, tb = va, ta       # -- join a node with itself: one input used twice
        n = va.value.ndim
        if self.draw(st.booleans()) and n:
            axis = self.draw(st.integers(-n, n - 1))
            self.add(f'concatenate({axis})', vg.concatenate([va, vb], axis),
                     torch.cat([ta, tb], axis))
        else:
            axis = self.draw(st.integers(-n - 1, n))
            self.add(f'stack({axis})', vg.stack([va, vb], axis), torch.stack([ta, tb], axis))

    def loss(self):
        v, t = self.pick()
        if v.value.ndim != 2 or 0 in v.value.shape:
            return
        targets = self.rng.integers(0, v.value.shape[1], v.value.shape[0])
        reduction = self.draw(st.sampled_from(['sum', 'mean']))
        tt = torch.from_numpy(targets)
        if self.draw(st.booleans()):
            self.add('cross_entropy', vg.cross_entropy(v, targets, reduction),
                     F.cross_entropy(t, tt, reduction=reduction))
        else:
            self.add('logceloss(logsoftmax)', vg.logceloss(vg.logsoftmax(v), targets, reduction),
                     F.nll_loss(torch.log_softmax(t, 1), tt, reduction=reduction))


STEPS = ['unary', 'binary', 'reduce', 'index', 'reshape', 'transpose', 'matmul', 'linear',
         'softmax', 'join', 'loss']


@examples(GRAPHS)
@given(data=st.data(),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, min_side=1,
                                                max_side=4),
       num_leaves=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_random_graphs_match_pytorch(data, shapes, num_leaves, seed):
    graph = Graph(data.draw, np.random.default_rng(seed))
    for shape in shapes.input_shapes[:num_leaves]:
        graph.pool.append(graph.leaf(shape))

    for _ in range(data.draw(st.integers(1, MAX_STEPS))):
        getattr(graph, data.draw(st.sampled_from(STEPS)))()
    assume(all(np.all(np.isfinite(v.value)) for v, _ in graph.pool))

    # -- the loss: the last node and one node drawn from the pool (maybe the same one)
    (v1, t1), (v2, t2) = graph.pool[-1], graph.pick()
    w1, w2 = (graph.rng.standard_normal(v.value.shape) for v in (v1, v2))
    loss = (v1 * w1).sum() + (v2 * w2).sum()
    tloss = (t1 * torch.from_numpy(w1)).sum() + (t2 * torch.from_numpy(w2)).sum()
    note = ' ; '.join(graph.ops)
    np.testing.assert_allclose(loss.value, tloss.detach().numpy(), rtol=1e-9, atol=1e-10,
                               err_msg=f'forward: {note}')

    loss.backward()
    tloss.backward()
    for i, (v, t) in enumerate(graph.leaves):
        expected = np.zeros(v.value.shape) if t.grad is None else t.grad.numpy()
        assert v.grad.shape == v.value.shape
        np.testing.assert_allclose(v.grad, expected, rtol=1e-8, atol=1e-10,
                                   err_msg=f'gradient of leaf {i}: {note}')


def test_a_branch_that_does_not_reach_the_loss_does_not_stop_gradients():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y = x * 2
    _unused = vg.tanh(y) + 1    # -- a branch away from the loss
    loss = (y * 3).sum() + (y * y).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 6 + 8 * x.value)


def test_a_node_used_by_many_ops_gets_every_contribution():
    x = vg.TensorNode(np.array([0.5, -1.0, 2.0]))
    parts = [x * k for k in range(1, 6)] + [x[[0, 0, 2]], x.reshape(3, 1).T]
    loss = vg.sum(vg.concatenate([p.reshape(-1) for p in parts]))
    loss.backward()
    np.testing.assert_array_equal(x.grad, [15 + 2 + 1, 15 + 1, 15 + 1 + 1])
