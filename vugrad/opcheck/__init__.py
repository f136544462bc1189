"""
The op checker: tells a learner what is wrong with their Op, and where.

    report = vugrad.check_op(MyDivide)       # or check_op(MyDivide, (3, 4), (3, 4))
    print(report)                            # PASS, or each finding with the place and the fix
    report.ok, report.findings               # the same findings as data

Finite differences are the oracle: the checker holds no reference implementation of any op.
The modules, in the order a check runs:

    inputs      the inputs tried when none are given, and their values
    calls       forward and backward called directly, as the learner wrote them
    contract    the rules of an op: count, None, shape and dtype of the gradients; nothing
                changed in place; the same gradients twice
    compare     gradients against finite differences (whole Jacobians, or random directions)
    diagnose    the likely mistake behind a wrong gradient
    values      the gradients' values, each finding confirmed on fresh values
    traps       the op inside small graphs
    checker     check_op, which runs the above
    isolate     check_op in a child process, with a time limit and a memory cap
    findings    the vocabulary (KINDS, DIAGNOSES, TRAPS), Finding, OpReport, the text report
"""

from .checker import check_op
from .findings import DIAGNOSES, KINDS, TRAPS, Finding, OpReport
from .isolate import check_isolated

__all__ = ['check_op', 'check_isolated', 'OpReport', 'Finding', 'KINDS', 'DIAGNOSES', 'TRAPS']
