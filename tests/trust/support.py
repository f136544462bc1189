"""Helpers of the trust suite: tolerances, running a row in vugrad and PyTorch side by side."""

import numpy as np
import torch
from hypothesis import settings

import vugrad as vg

from .optable import case_kwargs, make_inputs, torch_kwargs

# -- Tolerances, as (atol, rtol): an element passes when |vugrad - torch| <= atol + rtol |torch|
#    (the convention of vugrad.gradcheck and numpy.allclose). float64 is tight: a few ulps of
#    the values this suite uses (magnitudes around 1). float32 takes the numbers read as
#    atol/rtol: forward 1e-6/1e-3, gradients 1e-4/1e-3; both sides compute in float32, so the
#    bound covers differences in summation order, not algorithmic error.
TOL = {
    np.float64: {'forward': (1e-12, 1e-10), 'grad': (1e-12, 1e-10)},
    np.float32: {'forward': (1e-6, 1e-3), 'grad': (1e-4, 1e-3)},
}


def examples(n):
    """Hypothesis settings for n examples (ten times as many under the trust-explore profile)."""
    return settings(max_examples=n * (1 if settings().derandomize else 10))


def close(actual, expected, tol, what):
    atol, rtol = tol
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True,
                               err_msg=what)


def torch_grad(t):
    return np.zeros(tuple(t.shape), dtype=t.detach().numpy().dtype) if t.grad is None \
        else t.grad.numpy()


def run_vugrad(row, case, arrays, dtype, constant=()):
    """Call the row's vugrad op: differentiable inputs as leaves (unless listed in constant)."""
    diff = row.diff(case)
    inputs = [vg.TensorNode(a.copy(), requires_grad=True) if d and i not in constant else a.copy()
              for i, (a, d) in enumerate(zip(arrays, diff))]
    return row.fn(*inputs, **case_kwargs(case.kwargs, dtype)), inputs


def run_torch(row, case, arrays, dtype, constant=()):
    diff = row.diff(case)
    inputs = [torch.from_numpy(a.copy()).requires_grad_(bool(d) and i not in constant)
              for i, (a, d) in enumerate(zip(arrays, diff))]
    return row.ref(*inputs, **torch_kwargs(case_kwargs(case.kwargs, dtype))), inputs


def check_against_torch(row, case, seed, dtype=np.float64, constant=()):
    """
    Forward values, output dtype and shape, and the gradient of every differentiable input for a
    random upstream gradient (a vector-Jacobian product), vugrad against PyTorch.
    """
    rng = np.random.default_rng(seed)
    arrays = make_inputs(row, case, rng, dtype)
    out, inputs = run_vugrad(row, case, arrays, dtype, constant)
    tout, tinputs = run_torch(row, case, arrays, dtype, constant)
    expected = tout.detach().numpy()
    label = f'{row.name} {case.id()} {np.dtype(dtype).name}'
    assert isinstance(out, vg.TensorNode), label
    shape, dtype_ = out.value.shape, out.value.dtype
    assert shape == expected.shape, f'{label}: shape {shape} != {expected.shape}'
    assert dtype_ == expected.dtype, f'{label}: dtype {dtype_} != {expected.dtype}'
    close(out.value, expected, TOL[dtype]['forward'], f'{label}: forward')

    gout = rng.standard_normal(expected.shape).astype(dtype)
    out.backward(gradient=gout)
    tout.backward(torch.from_numpy(gout.copy()))
    for i, (x, t) in enumerate(zip(inputs, tinputs)):
        if not isinstance(x, vg.TensorNode):
            continue
        assert x.grad.shape == x.value.shape, f'{label}: grad {i} shape {x.grad.shape}'
        assert x.grad.dtype == x.value.dtype, f'{label}: grad {i} dtype {x.grad.dtype}'
        close(x.grad, torch_grad(t), TOL[dtype]['grad'], f'{label}: gradient of input {i}')
    return out, inputs
