"""Every user error is a typed vugrad exception that names the op and the shapes, also under -O."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import vugrad as vg
from vugrad.core import Op
from vugrad.errors import (BackwardError, InputTypeError, NoGradientError, OpDefinitionError,
                           ShapeError, VugradError)


def test_backward_from_non_scalar():
    x = vg.TensorNode(np.ones((2, 3)))
    with pytest.raises(BackwardError, match=r'\(2, 3\)'):
        (x * 2.0).backward()


def test_shapes_that_do_not_broadcast_name_op_and_shapes():
    a = vg.TensorNode(np.ones((2, 3)))
    b = vg.TensorNode(np.ones((4,)))
    with pytest.raises(ShapeError) as e:
        a + b
    assert 'Add' in str(e.value) and '(2, 3)' in str(e.value) and '(4,)' in str(e.value)
    with pytest.raises(ShapeError, match='Multiply'):
        a * b
    with pytest.raises(ShapeError, match='MatrixMultiply'):
        a @ vg.TensorNode(np.ones((2, 3)))


def test_gradient_of_integer_node():
    i = vg.TensorNode(np.arange(3))
    with pytest.raises(NoGradientError, match='int'):
        i.grad
    with pytest.raises(NoGradientError):
        vg.TensorNode(np.arange(3), requires_grad=True)


def test_user_op_backward_wrong_number_of_gradients():
    class Bad(Op):
        @staticmethod
        def forward(context, a, b):
            return a + b

        @staticmethod
        def backward(context, go):
            return go

    x = vg.TensorNode(np.ones(2))
    with pytest.raises(OpDefinitionError, match='Bad.*1 gradient.*2 input'):
        Bad.do_forward(x, x).sum().backward()


def test_user_op_backward_wrong_shape():
    class BadShape(Op):
        @staticmethod
        def forward(context, a):
            return a * 2

        @staticmethod
        def backward(context, go):
            return go.sum(axis=0)

    x = vg.TensorNode(np.ones((3, 2)))
    with pytest.raises(OpDefinitionError, match=r'BadShape.*\(2,\).*\(3, 2\)'):
        BadShape.do_forward(x).sum().backward()


def test_input_of_wrong_type_names_op_and_type():
    x = vg.TensorNode(np.ones(2))
    with pytest.raises(InputTypeError, match="Add.*str"):
        x + 'a'
    with pytest.raises(InputTypeError, match='Sigmoid.*dict'):
        vg.sigmoid({})


def test_all_are_vugrad_errors_and_builtin_kinds():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, VugradError)
    assert issubclass(InputTypeError, TypeError)


def test_errors_raise_under_python_O(tmp_path):
    script = textwrap.dedent('''
        import numpy as np, vugrad as vg
        from vugrad.core import Op
        from vugrad.errors import *
        assert False, 'asserts must be off under -O'
    ''')
    # -- the line above proves -O is in effect: it would raise if asserts ran
    checks = textwrap.dedent('''
        import numpy as np, vugrad as vg
        from vugrad.core import Op
        from vugrad import errors as E
        def expect(kind, fn):
            try:
                fn()
            except kind:
                return
            raise SystemExit(f'{kind.__name__} not raised')
        x = vg.TensorNode(np.ones((2, 3)))
        expect(E.BackwardError, lambda: (x * 2.0).backward())
        expect(E.ShapeError, lambda: x + vg.TensorNode(np.ones(4)))
        expect(E.NoGradientError, lambda: vg.TensorNode(np.arange(3)).grad)
        expect(E.InputTypeError, lambda: x + 'a')
        class Bad(Op):
            @staticmethod
            def forward(context, a):
                return a
            @staticmethod
            def backward(context, go):
                return go[0]
        expect(E.OpDefinitionError, lambda: Bad.do_forward(x).sum().backward())
        print('ok')
    ''')
    probe = tmp_path / 'probe.py'
    probe.write_text(script)
    assert subprocess.run([sys.executable, '-O', str(probe)]).returncode == 0
    path = tmp_path / 'checks.py'
    path.write_text(checks)
    result = subprocess.run([sys.executable, '-O', str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == 'ok'


def test_unknown_reduction_is_an_invalid_argument():
    from vugrad.errors import InvalidArgumentError
    x = vg.TensorNode(np.zeros((2, 3)))
    with pytest.raises(InvalidArgumentError, match="reduction"):
        vg.cross_entropy(x, np.array([0, 1]), reduction='max')
    with pytest.raises(InvalidArgumentError, match="reduction"):
        vg.logceloss(x, np.array([0, 1]), reduction='max')
