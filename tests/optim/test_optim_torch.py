"""The optimizers and schedules against PyTorch's, step by step."""

import numpy as np
import pytest

import vugrad as vg
from vugrad.nn import MLP
from vugrad.optim import SGD, Adam, AdamW, CosineAnnealingLR, StepLR

torch = pytest.importorskip('torch')

SHAPES = [(4, 3), (1, 3), (5,)]
STEPS = 7

CASES = [
    (SGD, 'SGD', {'lr': 0.1}),
    (SGD, 'SGD', {'lr': 0.1, 'momentum': 0.9}),
    (SGD, 'SGD', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.3}),
    (SGD, 'SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True}),
    (SGD, 'SGD', {'lr': 0.1, 'weight_decay': 0.1}),
    (SGD, 'SGD', {'lr': 0.1, 'momentum': 0.8, 'nesterov': True, 'weight_decay': 0.05}),
    (SGD, 'SGD', {'lr': 0.1, 'momentum': 0.8, 'dampening': 0.5, 'weight_decay': 0.05}),
    (Adam, 'Adam', {'lr': 0.01}),
    (Adam, 'Adam', {'lr': 0.01, 'betas': (0.8, 0.9), 'eps': 1e-6}),
    (Adam, 'Adam', {'lr': 0.01, 'weight_decay': 0.1}),
    (Adam, 'Adam', {'lr': 0.01, 'weight_decay': 0.1, 'amsgrad': True}),
    (AdamW, 'AdamW', {'lr': 0.01}),
    (AdamW, 'AdamW', {'lr': 0.01, 'weight_decay': 0.3, 'betas': (0.7, 0.95)}),
    (AdamW, 'AdamW', {'lr': 0.01, 'weight_decay': 0.1, 'amsgrad': True}),
]


def _ids(case):
    return case[1] + '-' + '-'.join(f'{k}={v}' for k, v in case[2].items())


@pytest.mark.parametrize('dtype, rtol', [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize('case', CASES, ids=[_ids(c) for c in CASES])
def test_matches_torch_step_by_step(case, dtype, rtol):
    cls, torch_name, kwargs = case
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    params = [vg.TensorNode(a.copy()) for a in init]
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = cls(params, **kwargs)
    topt = getattr(torch.optim, torch_name)(tparams, **kwargs)
    arrays = [p.value for p in params]
    for step in range(STEPS):
        grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
        for p, tp, g in zip(params, tparams, grads):
            p.grad = g.copy()
            tp.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
        for p, tp, g in zip(params, tparams, grads):
            np.testing.assert_allclose(p.value, tp.detach().numpy(), rtol=rtol, atol=rtol,
                                       err_msg=f'step {step}')
            np.testing.assert_array_equal(p.grad, g)       # the gradient is left alone
            assert p.value.dtype == dtype
    assert all(a is p.value for a, p in zip(arrays, params))       # updated in place
    for state in opt.state:
        assert all(v.dtype == dtype for v in state.values() if isinstance(v, np.ndarray))


def test_a_model_trained_by_both_stays_the_same():
    """Backprop and Adam with momentum-like state, in vugrad and PyTorch, from the same start."""
    np.random.seed(0)
    model = MLP(5, 3, hidden=8, layers=2, activation='tanh', dtype=np.float64)
    lin = [model.hidden[0], model.hidden[1], model.output]
    tlin = [torch.nn.Linear(layer.input_size, layer.output_size).double() for layer in lin]
    with torch.no_grad():
        for layer, t in zip(lin, tlin):
            t.weight.copy_(torch.tensor(layer.w.value))
            t.bias.copy_(torch.tensor(layer.b.value[0]))
    tmodel = torch.nn.Sequential(tlin[0], torch.nn.Tanh(), tlin[1], torch.nn.Tanh(), tlin[2])
    opt = AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=0.01, weight_decay=0.1)
    for _ in range(5):
        x = np.random.randn(16, 5)
        y = np.random.randint(0, 3, 16)
        loss = vg.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y),
                                                  reduction='sum')
        topt.zero_grad()
        tloss.backward()
        topt.step()
        assert loss.value.item() == pytest.approx(tloss.item(), rel=1e-10)
    for layer, t in zip(lin, tlin):
        np.testing.assert_allclose(layer.w.value, t.weight.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(layer.b.value[0], t.bias.detach().numpy(), rtol=1e-10)


def test_parameters_without_gradient_are_skipped():
    a, b = vg.TensorNode(np.ones(3)), vg.TensorNode(np.ones(3))
    for cls in (SGD, Adam, AdamW):
        opt = cls([a, b], lr=0.1, weight_decay=0.1)
        (a * 2).sum().backward()
        opt.step()
        opt.zero_grad()
        assert a._grad is None
        assert np.all(b.value == 1) and np.all(a.value < 1)
        a.value[:] = 1


def test_step_builds_no_graph_and_accepts_a_module():
    model = MLP(3, 2, hidden=4)
    opt = SGD(model, lr=0.1, momentum=0.9)
    assert opt.params == model.parameters()
    vg.cross_entropy(model(np.ones((2, 3), dtype=np.float32)), np.array([0, 1])).backward()
    opt.step()
    assert all(p.source is None for p in model.parameters())


def test_invalid_settings_raise():
    p = [vg.TensorNode(np.ones(2))]
    with pytest.raises(ValueError, match='Nesterov'):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match='Nesterov'):
        SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError):
        SGD(p, lr=-1)
    with pytest.raises(ValueError):
        Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError):
        Adam([], lr=0.1)
    with pytest.raises(ValueError, match='more than once'):
        SGD(p + p, lr=0.1)
    with pytest.raises(ValueError, match='not a parameter'):
        SGD([p[0] * 2], lr=0.1)
    with pytest.raises(TypeError):
        SGD([np.ones(2)], lr=0.1)


# ---------------------------------------------------------------------- schedules

@pytest.mark.parametrize('make, tmake', [
    (lambda o: StepLR(o, step_size=3, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    (lambda o: StepLR(o, step_size=1),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1)),
    (lambda o: CosineAnnealingLR(o, T_max=10),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
    (lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
])
def test_schedules_match_torch(make, tmake):
    opt = SGD([vg.TensorNode(np.ones(2))], lr=0.1)
    topt = torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1)
    sched, tsched = make(opt), tmake(topt)
    for epoch in range(25):
        assert opt.lr == pytest.approx(tsched.get_last_lr()[0], rel=1e-9, abs=1e-15), epoch
        assert sched.get_last_lr() == opt.lr
        topt.step()
        sched.step()
        tsched.step()


def test_schedule_changes_the_step():
    p = vg.TensorNode(np.zeros(1))
    opt = SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    for expected in (-1.0, -1.1, -1.11):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
        assert p.value[0] == pytest.approx(expected)
