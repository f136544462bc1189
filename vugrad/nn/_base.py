"""
What the modules of vugrad.nn share: PyTorch's repr, and the checks of their arguments.

A module prints as PyTorch prints its own: `Name(settings)`, and a module made of modules with
its children below it, one per line, under their names:

    Sequential(
      (0): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))
      (1): ReLU()
    )

The checks turn a bad argument into a typed error (vugrad.errors) that names the module, the
argument and what it should be, rather than a TypeError from deep inside NumPy.
"""

import numbers

import numpy as np

from ..core import Module, get_default_dtype
from ..errors import InputTypeError, InvalidArgumentError


class ModuleRepr:
    """
    Mixin for the modules of vugrad.nn: `repr(module)` as PyTorch writes it, from the
    module's settings (`extra_repr()`) and its sub-modules (`repr_children()`).
    """

    def extra_repr(self):
        """The module's settings, as PyTorch shows them: '3, 6, kernel_size=(5, 5)' ('' if none)."""
        return ''

    def repr_children(self):
        """(name, module) for every sub-module, in the order they were assigned."""
        return submodules(self)

    def __repr__(self):
        return module_repr(self)


def submodules(module):
    """(name, module) for the sub-modules of any Module: 'block', 'hidden.0', ..."""
    return [(name, m) for name, m in module._children() if isinstance(m, Module)]


def module_repr(module):
    """
    The repr of a Module as PyTorch writes it: 'Name(settings)', or with sub-modules
    'Name(\\n  settings\\n  (name): child\\n)', each child's own lines indented by two more spaces.
    Any Module can be written so: one without extra_repr (a learner's own vg.Module subclass)
    shows its sub-modules only.
    """
    extra = module.extra_repr() if hasattr(module, 'extra_repr') else ''
    children = (module.repr_children() if hasattr(module, 'repr_children')
                else submodules(module))
    lines = extra.split('\n') if extra else []
    for name, child in children:
        text = module_repr(child) if type(child).__repr__ is object.__repr__ else repr(child)
        # -- a learner's module that keeps object's repr is written out like ours
        lines.append(f'({name}): ' + text.replace('\n', '\n  '))
    name = type(module).__name__
    if len(lines) == 1 and not children:
        return f'{name}({lines[0]})'
    return f'{name}(' + ''.join(f'\n  {line}' for line in lines) + ('\n)' if lines else ')')


# ---------------------------------------------------------------------- argument checks

def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def count(module, name, value, smallest=1):
    """value as an int, if it is an int (an np.integer too, a bool not) >= smallest."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= smallest:
        return int(value)
    raise InvalidArgumentError(f'{module}: {name}={value!r}; expected a whole number (an int) >= '
                               f'{smallest}.')


def fraction(module, name, value, other=''):
    """value as a float, if it is a number in [0, 1]; `other` names what else is allowed."""
    if _is_number(value) and 0 <= value <= 1:
        return float(value)
    raise InvalidArgumentError(f'{module}: {name}={value!r}; expected a number in [0, 1]{other}.')


def positive_number(module, name, value):
    """value as a float, if it is a number above 0."""
    if _is_number(value) and value > 0:
        return float(value)
    raise InvalidArgumentError(f'{module}: {name}={value!r}; expected a number above 0.')


def float_dtype(module, dtype):
    """The float type of a module's parameters, np.float32 say (None: the default dtype)."""
    if dtype is None:
        return get_default_dtype()
    try:
        parsed = np.dtype(dtype)
    except TypeError:
        parsed = None
    if parsed is None or parsed.kind != 'f':
        raise InputTypeError(f'{module}: dtype={dtype!r} is not a float dtype; pass np.float32 or '
                             'np.float64 (parameters need float values to have gradients).')
    return parsed.type
