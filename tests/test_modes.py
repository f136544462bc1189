"""vugrad/modes.py: grad mode and anomaly mode are per thread and restore what was before."""

import threading

import numpy as np
import pytest

import vugrad as vg
from vugrad.errors import AnomalyError


def _needs_graph():
    return (vg.TensorNode(np.ones(2)) * 2.0).source is not None


def test_nested_no_grad_restores_the_previous_mode():
    with vg.no_grad():
        with vg.no_grad():
            assert not vg.is_grad_enabled()
        assert not vg.is_grad_enabled() and not _needs_graph()    # -- still off: the outer one
    assert vg.is_grad_enabled() and _needs_graph()


def test_no_grad_restores_the_mode_when_its_block_raises():
    with pytest.raises(ZeroDivisionError):
        with vg.no_grad():
            1 / 0
    assert vg.is_grad_enabled() and _needs_graph()


def test_enable_grad_inside_no_grad_builds_a_graph():
    with vg.no_grad():
        with vg.enable_grad():
            assert vg.is_grad_enabled() and _needs_graph()
        assert not _needs_graph()


def test_no_grad_in_one_thread_leaves_another_threads_graph_alone():
    inside, release = threading.Event(), threading.Event()

    def hold_no_grad():
        with vg.no_grad():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=hold_no_grad)
    t.start()
    try:
        assert inside.wait(10)
        assert vg.is_grad_enabled() and _needs_graph()      # -- this thread is unaffected
    finally:
        release.set()
        t.join(10)


def test_threads_leaving_no_grad_out_of_order_leave_grad_mode_on():
    first_in, second_in, first_out = (threading.Event() for _ in range(3))

    def first():          # enters first, leaves first
        with vg.no_grad():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():         # enters second, leaves last
        first_in.wait(10)
        with vg.no_grad():
            second_in.set()
            first_out.wait(10)

    threads = [threading.Thread(target=f) for f in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert vg.is_grad_enabled() and _needs_graph()


def test_detect_anomaly_in_one_thread_does_not_raise_in_another():
    inside, release = threading.Event(), threading.Event()

    def hold_anomaly():
        with vg.detect_anomaly():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=hold_anomaly)
    t.start()
    try:
        assert inside.wait(10)
        with np.errstate(divide='ignore'):
            y = vg.log(vg.TensorNode(np.zeros(2)))     # -inf: fine outside anomaly mode
        assert np.isneginf(y.value).all()
    finally:
        release.set()
        t.join(10)
    with pytest.raises(AnomalyError), vg.detect_anomaly(), np.errstate(divide='ignore'):
        vg.log(vg.TensorNode(np.zeros(2)))


def test_two_threads_train_two_models_at_once_beside_a_no_grad_thread():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = (x @ np.array([1.0, -2.0, 0.5]) > 0).astype(int)
    losses = {}
    start, done = threading.Barrier(3), threading.Event()

    def evaluate_forever():          # -- a third thread sits inside no_grad the whole time
        with vg.no_grad():
            start.wait(10)
            done.wait(60)

    def train(name):
        model = vg.nn.Linear(3, 2)
        params = model.parameters()
        start.wait(10)
        first = last = None
        for _ in range(200):
            loss = vg.cross_entropy(model(vg.TensorNode(x)), y, reduction='mean')
            loss.backward()
            for p in params:
                p.value -= 0.5 * p.grad
            loss.zero_grad()
            loss.clear()
            first = loss.item() if first is None else first
            last = loss.item()
        losses[name] = (first, last)

    threads = [threading.Thread(target=evaluate_forever)]
    threads += [threading.Thread(target=train, args=(n,)) for n in 'ab']
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join(60)
    done.set()
    threads[0].join(10)
    assert len(losses) == 2
    for first, last in losses.values():
        assert last < 0.5 * first        # -- both learned: every parameter got its gradients


def test_the_default_dtype_is_one_setting_for_the_process():
    seen = []
    vg.set_default_dtype(np.float64)
    try:
        t = threading.Thread(target=lambda: seen.append(vg.get_default_dtype()))
        t.start()
        t.join(10)
        assert seen == [np.float64]
    finally:
        vg.set_default_dtype(np.float32)
