"""
Memory: the graph is freed by reference counting alone, after `loss.clear()` or when the last
reference to the loss goes. Every check runs with the cycle collector disabled (after one
collection to start clean), so it proves the graph holds no reference cycles: OpNodes hold their
outputs by weak reference.

The benchmark benchmarks/memory_flat.py shows the resident memory over 1,000 training steps.
"""

import contextlib
import gc
import weakref

import numpy as np
import pytest

import vugrad as vg
import vugrad.core
from vugrad.core import OpNode, TensorNode
from vugrad.errors import SavedArrayModifiedError

from course import course_mlp_class


@contextlib.contextmanager
def no_cycle_collector():
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def live():
    """(live TensorNodes, live OpNodes): every gc-tracked instance of each."""
    objects = gc.get_objects()
    return (sum(1 for o in objects if type(o) is TensorNode),
            sum(1 for o in objects if type(o) is OpNode))


def graph_refs(root):
    """Weak references to every TensorNode and OpNode below root (root excluded)."""
    refs, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        source = node.source
        if source is None:
            continue
        refs.append(weakref.ref(source))
        for inp in source.inputs:
            if id(inp) not in seen:
                seen.add(id(inp))
                shared = any(inp is n for n in vugrad.core._numbers.values())
                if inp.source is not None or not (inp.requires_grad or shared):
                    refs.append(weakref.ref(inp))    # -- not parameters, not the shared nodes
                    #                                     of Python numbers: they stay alive
                stack.append(inp)
    return refs


def course_mlp():
    """The course's MLP (experiments/train_mlp.py) for 6 features and 3 classes."""
    return course_mlp_class()(input_size=6, output_size=3)


def step(mlp, batch, targets):
    loss = vg.celoss(mlp(batch), targets)
    loss.backward()
    return loss


rng = np.random.default_rng(0)
BATCH, TARGETS = rng.standard_normal((8, 6)).astype(np.float32), rng.integers(0, 3, 8)


def test_clear_frees_the_graph_below_the_loss():
    mlp = course_mlp()
    with no_cycle_collector():
        baseline = live()
        loss = step(mlp, BATCH, TARGETS)
        refs = graph_refs(loss)
        assert len(refs) >= 10 and all(r() is not None for r in refs)
        loss.clear()
        assert all(r() is None for r in refs)
        assert live() == (baseline[0] + 1, baseline[1])    # -- only the loss node itself
        del loss
        assert live() == baseline


def test_dropping_the_loss_frees_the_graph_without_clear():
    mlp = course_mlp()
    with no_cycle_collector():
        baseline = live()
        loss = step(mlp, BATCH, TARGETS)
        refs = graph_refs(loss)
        assert live()[1] > baseline[1]
        del loss
        assert all(r() is None for r in refs)
        assert live() == baseline


def test_a_forward_without_backward_is_freed_too():
    mlp = course_mlp()
    with no_cycle_collector():
        baseline = live()
        out = mlp(BATCH)
        refs = graph_refs(out)
        del out
        assert all(r() is None for r in refs) and live() == baseline


def test_an_intermediate_kept_by_the_user_keeps_only_what_is_below_it():
    x = vg.TensorNode(np.ones(3))
    with no_cycle_collector():
        h = vg.tanh(x * 2.0)
        loss = (vg.exp(h) * 3.0).sum()
        above = [weakref.ref(loss.source), weakref.ref(loss.source.inputs[0])]
        below = graph_refs(h)
        del loss
        assert all(r() is None for r in above)       # -- nothing holds a node from below
        assert all(r() is not None for r in below)
        assert h.source.outputs == [h]
        del h
        assert all(r() is None for r in below)


def test_the_course_loop_keeps_the_number_of_nodes_flat():
    mlp = course_mlp()
    with no_cycle_collector():
        baseline = live()
        for i in range(30):
            loss = step(mlp, BATCH, TARGETS)
            for p in mlp.parameters():
                p.value -= 0.01 * p.grad
            loss.zero_grad()
            loss.clear()
            if i % 10 == 9:
                assert live() == (baseline[0] + 1, baseline[1])
        del loss
        assert live() == baseline


def test_no_grad_builds_no_graph():
    mlp = course_mlp()
    with no_cycle_collector():
        baseline = live()
        with vg.no_grad():
            out = mlp(BATCH)
        assert out.source is None and not out.requires_grad
        assert live() == (baseline[0] + 1, baseline[1])


def test_a_graph_built_in_anomaly_mode_is_freed():
    mlp = course_mlp()
    with no_cycle_collector():
        baseline = live()
        with vg.detect_anomaly():
            loss = step(mlp, BATCH, TARGETS)
        refs = graph_refs(loss)
        assert loss.source.saved.created_at is not None
        del loss
        assert all(r() is None for r in refs) and live() == baseline


def test_a_graph_whose_backward_raised_is_freed_once_the_error_is_gone():
    x = vg.TensorNode(np.ones(3))
    with no_cycle_collector():
        baseline = live()
        loss = (x * x).sum()
        refs = graph_refs(loss)
        x.value -= 1.0
        with pytest.raises(SavedArrayModifiedError) as info:
            loss.backward()
        del loss, info     # -- the traceback's frames held the graph
        assert all(r() is None for r in refs) and live() == baseline


def test_a_deep_chain_is_freed_without_recursion():
    x = vg.TensorNode(np.ones(2))
    with no_cycle_collector():
        baseline = live()
        y = x
        for _ in range(50_000):
            y = y * 1.0
        first = weakref.ref(x * 1.0)    # -- (a throwaway: dies at once)
        assert first() is None
        ref = weakref.ref(y.source)
        del y                            # -- 100,000 objects released one by one
        assert ref() is None and live() == baseline
