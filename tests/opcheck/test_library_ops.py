"""
The library's own ops pass vugrad.check_op with no finding: every op of vugrad.ops (the four
of vugrad.core among them), on the shapes, input domains, integer targets and constants of its
rows in the op table (tests/trust/optable.py).
"""

import numpy as np
import pytest

pytest.importorskip('torch')     # -- the op table holds the PyTorch references too

import vugrad as vg  # noqa: E402
from vugrad import ops  # noqa: E402
from vugrad.ops.norm import batch_axes  # noqa: E402

from trust.optable import ROWS, TARGETS, case_kwargs, make_inputs  # noqa: E402

#: The keyword under which each op that takes integer targets gets them (a constant).
TARGET_NAMES = {ops.Select: 'indices', ops.NLLLoss: 'targets', ops.CrossEntropy: 'targets'}
CASES_PER_ROW = 3


def _statistics(x, w, b):
    """BatchNorm's mean and var: constants, but functions of x (as the layer computes them)."""
    axes = batch_axes(x)
    return {'mean': x.mean(axis=axes), 'var': x.var(axis=axes)}


def _call(row, case, rng):
    """(inputs, constants) for check_op from one case of a row."""
    arrays = make_inputs(row, case, rng)
    inputs = [a for i, a in enumerate(arrays) if row.domain(i) != TARGETS]
    constants = case_kwargs(case.kwargs, np.float64)
    targets = [a for i, a in enumerate(arrays) if row.domain(i) == TARGETS]
    if targets:
        constants[TARGET_NAMES[row.op]] = targets[0]
    if row.op is ops.BatchNorm:
        return inputs, lambda x, w, b: {**_statistics(x, w, b), **constants}
    return inputs, constants


OP_ROWS = [row for row in ROWS if row.op is not None]


def test_every_op_of_the_library_has_a_row():
    covered = {row.op for row in OP_ROWS}
    assert {getattr(ops, name) for name in ops.__all__} <= covered
    assert {vg.core.Add, vg.core.Sub, vg.core.Multiply, vg.core.MatrixMultiply} <= covered


@pytest.mark.parametrize('row', OP_ROWS, ids=lambda row: row.name)
def test_library_ops_pass(row):
    rng = np.random.default_rng(0)
    for case in row.cases[:CASES_PER_ROW]:
        inputs, constants = _call(row, case, rng)
        report = vg.check_op(row.op, *inputs, constants=constants)
        assert report.ok, f'{case.id()}:\n{report}'
        assert report.inputs == [tuple(x.shape for x in inputs)]
