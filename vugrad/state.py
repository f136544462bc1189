"""
The saved state of a Module: buffers, `state_dict`, `load_state_dict`, `save` and `load`.

`vugrad.core.Module` inherits these from `ModuleState`, so that every module, a learner's own
`class MLP(vg.Module)` included, can be saved and loaded, while core.py keeps only what a module
is: parameters, sub-modules, forward. A module's state is its parameters' arrays and its
buffers (arrays saved with the parameters that no optimizer updates: a batch norm's running
mean and variance), by name: `hidden.0.w`, `layers.1.running_mean`.

The file format is NumPy's `.npz`, written atomically (see vugrad.fileio).
"""

import numpy as np

from .errors import InputTypeError, InvalidArgumentError, ShapeError
from .fileio import load_arrays, save_arrays


class ModuleState:
    """
    Buffers, state dicts and files, for vugrad.core.Module. The methods use Module's
    `named_parameters()` and `_named_modules()`.
    """

    def register_buffer(self, name, array):
        """
        Keep a NumPy array as `self.<name>`, saved and loaded with the parameters but never
        given to an optimizer: a batch norm's running mean and variance, say.
        """
        self.__dict__.setdefault('_buffer_names', []).append(name)
        setattr(self, name, np.asarray(array))

    def named_buffers(self, prefix=''):
        """(name, array) for every buffer of this module and its sub-modules."""
        return [(f'{pre}{name}', getattr(m, name)) for pre, m in self._named_modules(prefix)
                for name in m.__dict__.get('_buffer_names', ())]

    def state_dict(self):
        """A dict from parameter and buffer name to a copy of its array."""
        return {name: np.array(a) for name, a in self._named_arrays().items()}

    def _named_arrays(self):
        return ({name: p.value for name, p in self.named_parameters()}
                | dict(self.named_buffers()))

    def load_state_dict(self, state, strict=True):
        """
        Copy arrays into the parameters and buffers, by name: all of them, or none when one does
        not fit. With strict=True (the default) the names must match exactly.
        """
        arrays = state_arrays(self._named_arrays(), state, strict)   # -- checked first
        params = dict(self.named_parameters())
        buffers = {f'{pre}{name}': (m, name) for pre, m in self._named_modules()
                   for name in m.__dict__.get('_buffer_names', ())}
        for name, array in arrays.items():
            if name in params:
                params[name].value, params[name].grad = array, None
            else:
                setattr(*buffers[name], array)

    def save(self, path):
        """Save the parameters to an .npz file, atomically (a temporary file, then a rename)."""
        save_arrays(path, self.state_dict())

    def load(self, path, strict=True):
        """Load parameters saved by save(path); names and shapes are checked from the headers."""
        expected = {name: (a.shape, 'biuf') for name, a in self._named_arrays().items()}
        self.load_state_dict(load_arrays(path, expected, strict), strict=strict)
        return self


def state_arrays(params, state, strict):
    """
    The arrays of a state dict to copy into parameters and buffers (`params`: name -> the
    current array), checked all at once before any is copied: names (with strict), shapes, and
    numeric values, converted to each current array's dtype.
    """
    missing = sorted(set(params) - set(state))
    unexpected = sorted(set(state) - set(params))
    if strict and (missing or unexpected):
        raise InvalidArgumentError(
            f'load_state_dict: missing keys {missing}, unexpected keys {unexpected}. Load into '
            'a model built with the same settings, or pass strict=False.')
    arrays = {}
    for name, current in params.items():
        if name not in state:
            continue
        array = np.asarray(state[name])
        if array.shape != current.shape:
            raise ShapeError(f'load_state_dict: {name} has shape {array.shape} in the state but '
                             f'{current.shape} in the module.')
        if array.dtype.kind not in 'biuf':
            raise InputTypeError(f'load_state_dict: {name} holds {array.dtype} values; a '
                                 'parameter needs numbers.')
        arrays[name] = array.astype(current.dtype, copy=True)
    return arrays
