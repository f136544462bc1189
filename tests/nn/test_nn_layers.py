"""Linear and its initialization schemes, MLP, Sequential, Dropout, activation modules."""

import itertools

import numpy as np
import pytest

import vugrad as vg
from vugrad.nn import (
    MLP,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    init,
)

try:
    import torch
except ImportError:
    torch = None


@pytest.fixture
def default_float64():
    before = vg.get_default_dtype()
    vg.set_default_dtype(np.float64)
    yield
    vg.set_default_dtype(before)


# ---------------------------------------------------------------------- init schemes

SHAPE = (300, 500)      # (fan_out, fan_in)


@pytest.mark.parametrize('name, std', [
    ('glorot', np.sqrt(2 / (500 + 300))),
    ('he', np.sqrt(2 / 500)),
    ('normal', 1.0),
    ('uniform', 1 / np.sqrt(500) / np.sqrt(3)),
])
def test_random_schemes_have_the_documented_spread(name, std):
    np.random.seed(0)
    w = init.SCHEMES[name](SHAPE)
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 0.05 * std
    assert w.std() == pytest.approx(std, rel=0.02)


def test_uniform_is_pytorchs_default_bound():
    np.random.seed(0)
    w = init.uniform(SHAPE)
    k = 1 / np.sqrt(500)
    assert w.min() >= -k and w.max() <= k and w.max() > 0.99 * k
    lin = Linear(500, 300, init='uniform')
    assert 0 < np.abs(lin.b.value).max() <= k       # the bias is drawn too, as in PyTorch


def test_zeros_and_bias_defaults():
    lin = Linear(4, 3, init='zeros')
    assert not lin.w.value.any() and not lin.b.value.any()
    for name in ('glorot', 'he', 'normal'):
        assert not Linear(4, 3, init=name).b.value.any()


def test_fans_and_unknown_scheme():
    assert init.fans((3, 7)) == (7, 3)
    with pytest.raises(ValueError, match='glorot'):
        Linear(2, 2, init='xavier_bogus')
    with pytest.raises(ValueError):
        init.glorot((2, 3, 4))


def test_custom_scheme_and_seeded_repeatability():
    lin = Linear(2, 3, init=lambda shape, dtype: np.full(shape, 0.5, dtype=dtype))
    assert np.all(lin.w.value == 0.5)
    np.random.seed(3)
    a = Linear(5, 4).w.value
    np.random.seed(3)
    b = Linear(5, 4, dtype=np.float64).w.value
    np.testing.assert_array_equal(a, b.astype(np.float32))    # same draw in either precision


def test_parameter_dtypes(default_float64):
    assert Linear(2, 3).w.value.dtype == np.float64
    assert MLP(2, 3, hidden=4).output.b.value.dtype == np.float64
    assert Linear(2, 3, dtype=np.float32).w.value.dtype == np.float32


def test_default_dtype_is_float32():
    assert Linear(2, 3).w.value.dtype == np.float32
    assert Linear(2, 3).b.value.shape == (1, 3)


# ---------------------------------------------------------------------- Linear

def test_linear_forward_and_without_bias():
    np.random.seed(0)
    x = np.random.randn(5, 4).astype(np.float32)
    lin = Linear(4, 3)
    lin.b.value = np.arange(3, dtype=np.float32).reshape(1, 3)
    np.testing.assert_allclose(lin(x).value, x @ lin.w.value.T + lin.b.value, rtol=1e-6)
    nobias = Linear(4, 3, bias=False)
    assert nobias.b is None and len(nobias.parameters()) == 1
    out = nobias(x)
    np.testing.assert_allclose(out.value, x @ nobias.w.value.T, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(nobias.w.grad, np.ones((5, 3)).T @ x, rtol=1e-5)


def test_linear_input_gets_no_gradient_when_constant():
    lin = Linear(4, 3)
    out = lin(np.ones((2, 4), dtype=np.float32))
    out.sum().backward()
    assert lin.w.grad.shape == (3, 4) and lin.b.grad.shape == (1, 3)
    np.testing.assert_array_equal(lin.b.grad, np.full((1, 3), 2))


# ---------------------------------------------------------------------- MLP

@pytest.mark.parametrize('activation, residual, layers',
                         list(itertools.product(['sigmoid', 'relu', 'tanh'], [False, True],
                                                [0, 1, 3])))
def test_mlp_shapes_and_gradients(activation, residual, layers):
    np.random.seed(0)
    m = MLP(6, 4, hidden=5, layers=layers, activation=activation, residual=residual, init='he')
    assert len(m.parameters()) == 2 * (layers + 1)
    x = np.random.randn(7, 6).astype(np.float32)
    out = m(x)
    assert out.value.shape == (7, 4) and out.value.dtype == np.float32
    vg.cross_entropy(out, np.arange(7) % 4).backward()
    for p in m.parameters():
        assert p.grad.shape == p.value.shape
        assert np.any(p.grad != 0)


def test_mlp_defaults_are_the_courses():
    m = MLP(784, 10)
    assert [layer.output_size for layer in m.hidden] == [3136]
    assert isinstance(m.activations[0], Sigmoid) and not m.residual and not m.dropouts
    assert m.output.w.value.shape == (10, 3136)


def test_mlp_computes_the_documented_function():
    np.random.seed(1)
    x = np.random.randn(3, 4)
    m = MLP(4, 2, hidden=5, layers=3, activation='tanh', residual=True, dtype=np.float64)
    h = np.tanh(x @ m.hidden[0].w.value.T + m.hidden[0].b.value)        # no skip: 4 -> 5
    for layer in m.hidden[1:]:
        h = h + np.tanh(h @ layer.w.value.T + layer.b.value)             # skip: 5 -> 5
    expected = h @ m.output.w.value.T + m.output.b.value                  # logits
    np.testing.assert_allclose(m(x).value, expected, rtol=1e-12)


def test_residual_mlp_gradient_matches_finite_differences():
    np.random.seed(2)
    x, y = np.random.randn(4, 3), np.array([0, 1, 2, 1])
    m = MLP(3, 3, hidden=4, layers=3, activation='sigmoid', residual=True, dtype=np.float64)

    def loss():
        return vg.cross_entropy(m(x), y).value.item()

    vg.cross_entropy(m(x), y).backward()
    for p in m.parameters():
        flat = p.value.reshape(-1)
        for j in range(0, flat.size, 3):
            orig = flat[j]
            flat[j] = orig + 1e-6
            plus = loss()
            flat[j] = orig - 1e-6
            minus = loss()
            flat[j] = orig
            assert p.grad.reshape(-1)[j] == pytest.approx((plus - minus) / 2e-6, abs=1e-7)


def test_mlp_hidden_list_and_bad_arguments():
    m = MLP(3, 2, hidden=[8, 8, 4], layers=None, residual=True)
    assert [(h.input_size, h.output_size) for h in m.hidden] == [(3, 8), (8, 8), (8, 4)]
    assert m(np.ones((2, 3), dtype=np.float32)).value.shape == (2, 2)
    with pytest.raises(ValueError):
        MLP(3, 2, hidden=[4, 4], layers=3)
    with pytest.raises(ValueError):
        MLP(3, 2, layers=-1)
    with pytest.raises(ValueError, match='activation'):
        MLP(3, 2, activation='swish')


def test_mlp_dropout_only_in_training():
    np.random.seed(0)
    m = MLP(3, 2, hidden=50, dropout=0.5)
    x = np.ones((4, 3), dtype=np.float32)
    assert not np.array_equal(m(x).value, m(x).value)          # fresh masks
    m.eval()
    np.testing.assert_array_equal(m(x).value, m(x).value)


# ---------------------------------------------------------------------- Sequential, activations

def test_sequential_applies_in_order():
    seq = Sequential(Linear(3, 4), ReLU(), Linear(4, 2), LogSoftmax())
    assert len(seq) == 4 and isinstance(seq[1], ReLU)
    assert {n for n, _ in seq.named_parameters()} == {'layers.0.w', 'layers.0.b', 'layers.2.w',
                                                       'layers.2.b'}
    x = np.random.randn(5, 3).astype(np.float32)
    h = np.maximum(x @ seq[0].w.value.T + seq[0].b.value, 0) @ seq[2].w.value.T + seq[2].b.value
    np.testing.assert_allclose(np.exp(seq(x).value), np.exp(h) / np.exp(h).sum(1, keepdims=True),
                               rtol=1e-5)
    assert Sequential([Identity(), Identity()])(x) is x
    with pytest.raises(TypeError):
        Sequential(Linear(2, 2), np.tanh)


def test_activation_modules_match_functions():
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    np.testing.assert_allclose(Sigmoid()(x).value, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(Tanh()(x).value, np.tanh(x))
    np.testing.assert_allclose(ReLU()(x).value, np.maximum(x, 0))


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('relu', [vg.relu, vg.ops.ReLU.do_forward, ReLU()],
                         ids=['function', 'op', 'module'])
def test_relu_gradient_at_exactly_zero_is_zero_as_in_pytorch(relu, dtype):
    values = np.array([-1.0, -0.0, 0.0, 1.0], dtype=dtype)
    x = vg.TensorNode(values.copy())
    out = relu(x)
    out.backward(np.full(4, 3.0, dtype=dtype))
    np.testing.assert_array_equal(out.value, [0, 0, 0, 1])
    np.testing.assert_array_equal(x.grad, [0, 0, 0, 3])     # -- 0 at 0.0 and at -0.0
    if torch is not None:
        t = torch.from_numpy(values.copy()).requires_grad_()
        torch.relu(t).backward(torch.full((4,), 3.0, dtype=t.dtype))
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


# ---------------------------------------------------------------------- bad arguments

BAD = [
    (lambda: Linear(-1, 3), r'Linear: input_size=-1; expected a whole number'),
    (lambda: Linear(3, 2.5), r'Linear: output_size=2\.5'),
    (lambda: Linear(3, 2, dtype='foo'), r"Linear: dtype='foo' is not a float dtype; pass"),
    (lambda: Linear(3, 2, dtype=np.int64), r'Linear: dtype=.*int64.* is not a float dtype'),
    (lambda: MLP(4, 'a'), r"MLP: output_size='a'"),
    (lambda: MLP(4, 2, hidden=[8, '8']), r"MLP: hidden='8'"),
    (lambda: MLP(4, 2, layers=1.5), r'MLP: layers=1\.5; expected a whole number \(an int\) >= 0'),
    (lambda: MLP(4, 2, dropout='a'), r"MLP: dropout='a'; expected a number in \[0, 1\]"),
    (lambda: Dropout(None), r'Dropout: p=None; expected a number in \[0, 1\]'),
    (lambda: BatchNorm1d(True), r'BatchNorm1d: num_features=True'),
    (lambda: BatchNorm2d(3, eps=-1), r'BatchNorm2d: eps=-1; expected a number above 0'),
    (lambda: Conv2d(True, 6, 5), r'Conv2d: in_channels=True'),
    (lambda: Conv2d(3, 6, 5, dtype='foo'), r"Conv2d: dtype='foo'"),
    (lambda: MaxPool2d(-1), r'MaxPool2d: kernel_size=-1; expected an int >= 1'),
    (lambda: AvgPool2d(2, stride=0), r'AvgPool2d: stride=0; expected an int >= 1'),
    (lambda: Flatten()(np.float64(1.0)), r'Flatten: expects a batch \(N, \.\.\.\)'),
]


@pytest.mark.parametrize('build, match', BAD,
                         ids=[f'{i}-{match.split(":")[0]}' for i, (_, match) in enumerate(BAD)])
def test_bad_arguments_raise_typed_errors_naming_the_module(build, match):
    """A mistake is a vugrad error that names the module and the argument, never a TypeError or
    ValueError from inside NumPy (and it is raised at once, not at the first forward)."""
    with pytest.raises(vg.VugradError, match=match):
        build()


# ---------------------------------------------------------------------- Dropout

def test_dropout_zeroes_and_rescales_in_training():
    np.random.seed(0)
    x = vg.TensorNode(np.ones((200, 500), dtype=np.float32))
    out = Dropout(0.3)(x)
    kept = out.value != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(out.value[kept], 1 / 0.7, rtol=1e-6)
    assert out.value.dtype == np.float32
    assert out.value.mean() == pytest.approx(1.0, abs=0.01)       # expectation preserved
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.value)               # dy/dx is the mask


def test_dropout_identity_in_eval_and_edge_probabilities():
    x = vg.TensorNode(np.random.randn(3, 4))
    d = Dropout(0.5).eval()
    assert d(x) is x
    assert Dropout(0.0)(x) is x
    assert not np.any(Dropout(1.0)(x).value)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            Dropout(p)
