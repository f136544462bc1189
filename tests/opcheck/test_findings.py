"""
Every finding kind, diagnosis and trap of vugrad.check_op, each found on an op written to have
exactly that mistake (tests/opcheck/learner_ops.py), with the input, the element and the
diagnosis named; and the vocabulary is covered: no kind, diagnosis or trap without such an op.
"""

import pytest

import vugrad as vg
from vugrad.opcheck import DIAGNOSES, KINDS, TRAPS

from . import learner_ops as L

ANY = object()      # -- the element is not asserted (no single element, or many)

# op, inputs, check_op options, then what the finding must be:
# kind, input, element, diagnosis, trap
CASES = [
    (L.OneGradient, (), {}, 'wrong-count', None, None, None, None),
    (L.NoneForB, (), {}, 'none-for-needed-input', 1, None, None, None),
    (L.AddNotSummed, ((3, 4), (4,)), {}, 'wrong-shape', 1, None, 'not-summed-over-broadcast', None),
    (L.AddNotSummed, ((3, 4), (3, 1)), {}, 'wrong-shape', 1, None, 'not-summed-over-broadcast',
     None),
    (L.MatMulGradTransposed, (), {}, 'wrong-shape', 1, None, 'transposed', None),
    (L.MatMulFactorsSwapped, (), {}, 'wrong-shape', 1, None, None, None),
    (L.Flattened, (), {}, 'wrong-shape', 0, None, None, None),
    (L.Float32Tanh, (), {}, 'wrong-dtype', 0, None, None, None),
    (L.ReturnsNode, (), {}, 'wrong-dtype', 0, None, None, None),
    (L.ChangesGo, (), {}, 'modifies-upstream-gradient', None, None, None, None),
    (L.ChangesInput, (), {}, 'modifies-input', 0, None, None, None),
    (L.ChangesSaved, (), {}, 'modifies-input', None, None, None, None),
    (L.Noisy, (), {}, 'not-deterministic', None, None, None, None),
    (L.FailsForward, (), {}, 'forward-fails', None, None, None, None),
    (L.FailsBackward, (), {}, 'backward-fails', None, None, None, None),
    (L.Hangs, (), {'timeout': 0.5}, 'timed-out', None, None, None, None),
    (L.Huge, (), {}, 'crashed', None, None, None, None),
    (L.OffByOneElement, (), {}, 'wrong-values', 0, (1, 2), None, None),
    (L.SignDivide, (), {}, 'wrong-values', 1, (0, 0), 'sign', None),
    (L.ScaleAdd, (), {}, 'wrong-values', 1, (0, 0), 'scale', None),
    (L.TransposedMatMul, ((3, 3), (3, 3)), {}, 'wrong-values', 0, (0, 1), 'transposed', None),
    (L.AddSlice, ((3, 4), (4,)), {}, 'wrong-values', 1, (0,), 'not-summed-over-broadcast', None),
    (L.LocalTanh, (), {}, 'wrong-values', 0, (0, 0), 'ignores-upstream-gradient', None),
    (L.CubeAtOutput, (), {}, 'wrong-values', 0, (0, 0), 'uses-output-as-input', None),
    (L.SameArrayTwice, (), {}, 'wrong-values', 0, ANY, None, 'same-input-twice'),
    (L.ClipsGo, (), {}, 'wrong-values', 0, ANY, None, 'output-used-twice'),
    (L.ClassState, (), {}, 'wrong-values', 0, ANY, None, 'diamond'),
    (L.CountsCalls, (), {}, 'wrong-values', 0, ANY, None, 'backward-twice'),
    (L.Limited, (), {}, 'forward-fails', None, None, None, 'long-chain'),
]


def _id(case):
    op, inputs = case[0], case[1]
    return op.__name__ + (str(inputs).replace(' ', '') if inputs else '')


@pytest.mark.parametrize('case', CASES, ids=[_id(c) for c in CASES])
def test_each_mistake_is_found_and_named(case):
    op, inputs, options, kind, input_, index, diagnosis, trap = case
    if op is L.Limited:
        L.Limited.uses = 0
    report = vg.check_op(op, *inputs, **options)
    assert not report.ok
    assert len(report.findings) == 1 or op in (L.ChangesSaved,), str(report)
    f = report.findings[0]
    assert (f.kind, f.input, f.diagnosis, f.trap) == (kind, input_, diagnosis, trap), str(report)
    if index is not ANY:
        assert f.index == index, str(report)
    assert f.message and f.fix
    text = str(report)
    assert f'FAIL {kind}' in text and f.fix.split(':')[0] in ' '.join(text.split())
    if diagnosis:
        assert f'diagnosis: {diagnosis}' in text


def test_every_kind_diagnosis_and_trap_has_an_op_with_that_mistake():
    assert {c[3] for c in CASES} == set(KINDS)
    assert {c[6] for c in CASES} - {None} == set(DIAGNOSES)
    assert {c[7] for c in CASES} - {None} == set(TRAPS)


def test_a_wrong_value_is_reported_with_both_numbers_and_the_relative_error():
    f = vg.check_op(L.SignDivide).findings[0]
    assert f.backward == pytest.approx(-f.numerical, rel=1e-6)
    assert f.rel_error == pytest.approx(2.0, rel=1e-6)
    assert f.shapes == ((3, 4), (3, 4))
    assert f'{f.backward:.4g}' in f.message and f'{f.numerical:.4g}' in f.message


def test_the_scale_is_named():
    f = vg.check_op(L.ScaleAdd).findings[0]
    assert '0.5 times the right value' in f.message


def test_the_axes_to_sum_over_are_named():
    f = vg.check_op(L.AddNotSummed, (3, 4), (4,)).findings[0]
    assert 'has shape (3, 4); the input has shape (4,): sum over axis 0' in f.message
    f = vg.check_op(L.AddNotSummed, (2, 3, 4), (3, 1)).findings[0]
    assert 'sum over axis 0, then sum over axis 2 keeping it as size 1 (keepdims=True)' in \
        f.message
    assert 'broadcasting = True' in f.fix


def test_an_exception_names_the_line_of_the_ops_own_file():
    f = vg.check_op(L.FailsBackward).findings[0]
    assert "KeyError: 'out'" in f.message
    assert 'learner_ops.py:' in f.message and 'in backward' in f.message


def test_a_finding_found_again_with_other_shapes_is_reported_once():
    report = vg.check_op(type('SignDiv', (L.SignDivide,), {'broadcasting': True}))
    assert len(report.inputs) == 3                  # -- same shapes, and two broadcasting pairs
    assert [f.kind for f in report.findings] == ['wrong-values']


@pytest.mark.parametrize('op, shapes, index, diagnosis', [
    (L.SignDivide, ((40, 30), (40, 30)), None, 'sign'),
    (L.OffByOneElement, ((40, 30),), (1, 2), None),
    (L.LocalTanh, ((40, 30),), None, 'ignores-upstream-gradient'),
])
def test_large_inputs_are_checked_along_random_directions_and_located(op, shapes, index, diagnosis):
    report = vg.check_op(op, *shapes)
    f = report.findings[0]
    assert f.kind == 'wrong-values' and f.diagnosis == diagnosis and f.index is not None
    if index is not None:
        assert f.index == index         # -- found by bisection: 1200 elements, one of them wrong
    assert any('random directions' in n for n in report.notes)


def test_the_guide_lists_every_kind_diagnosis_and_trap():
    from pathlib import Path
    page = (Path(__file__).resolve().parents[2] / 'docs' / 'check-your-op.md').read_text()
    for name in [*KINDS, *DIAGNOSES, *TRAPS]:
        assert f'| `{name}` |' in page, name


def test_a_shape_error_in_backward_names_the_shapes_to_fit():
    """A product that does not fit in backward: the fix says the shapes of go and the inputs."""
    class NoTranspose(L.MatMul):
        @staticmethod
        def backward(context, go):
            return go @ context['b'], context['a'].T @ go     # -- (3, 2) @ (4, 2) fails

    report = vg.check_op(NoTranspose, (3, 4), (4, 2))
    (finding,) = report.findings
    assert finding.kind == 'backward-fails' and 'ValueError' in finding.message
    assert 'go has shape (3, 2)' in finding.fix and 'a (3, 4), b (4, 2)' in finding.fix
    assert "must have that input's shape" in finding.fix
