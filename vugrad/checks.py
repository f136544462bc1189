"""
The checks the engine in `vugrad/core.py` makes, each behind one short call, so that the core
reads as the algorithm.

- Input: values that are not numbers, constants given as numbers and arrays, NumPy's own
  complaints about shapes and dtypes turned into errors that name the op.
- Saved arrays: an op saves arrays in its context for backward. If one of them is changed in
  place between forward and backward (`w.value -= ...` too early), backward would silently use
  the new values; every node counts its in-place changes (`node._version`), and backward
  compares. A node whose value is a view of another node's array (from reshape, transpose,
  indexing) shares the count with it both ways, as PyTorch's views share a version counter.
- Anomaly mode (`vugrad.detect_anomaly()`): NaN and inf in forward and backward, the line of
  user code that created each op, and checksums of saved arrays.
- Gradients an op's backward returns: one per input, arrays of the input's shape and dtype;
  broadcasting undone for ops that broadcast; which array a leaf may keep as its .grad.

The checks validate and raise; they never store a gradient: core.py does that.
"""

import os
import sys
import zlib

import numpy as np

from .errors import (AnomalyError, BackwardError, InputTypeError, NoGradientError,
                     OpDefinitionError, SavedArrayModifiedError, ShapeError, VugradError)
from .modes import modes

# ---------------------------------------------------------------------- input


def as_array(value):
    """A user's value for a TensorNode as a numeric NumPy array."""
    if type(value).__name__ == 'TensorNode':
        raise InputTypeError(
            'TensorNode: value is already a TensorNode; pass its .value to copy the array, '
            'or use the node itself.')
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise InputTypeError(
            f'TensorNode: cannot make an array of {type(value).__name__} ({e}). '
            'Pass a NumPy array, a number or a (nested) list of numbers.') from None
    if array.dtype == object:
        raise InputTypeError(
            f'TensorNode: value of type {type(value).__name__} gives an object array; '
            'pass a NumPy array, a number or a nested list of numbers.')
    return array


def numeric(array):
    """A TensorNode holds real numbers: complex numbers, strings, objects, dates are refused."""
    if array.dtype.kind == 'c':
        raise InputTypeError(
            f'TensorNode: complex values ({array.dtype}) are not supported: vugrad differentiates '
            'real functions. Pass the real and imaginary parts as two float arrays (x.real, '
            'x.imag), or x.real alone if the imaginary part is zero.')
    if array.dtype.kind not in 'biuf':
        raise InputTypeError(
            f'TensorNode: values of dtype {array.dtype} are not numbers. Pass a numeric array '
            '(e.g. np.asarray(x, dtype=np.float32)).')


def one_element(node, what):
    """The value of a one-element node, for bool(node) and float(node), as NumPy and PyTorch."""
    if node.value.size == 0:
        raise ShapeError(f'{what}() of an empty TensorNode (shape {node.value.shape}): it has '
                         'no value. Check the shape it was made with.')
    if node.value.size != 1:
        raise ShapeError(
            f'{what}() of a TensorNode with {node.value.size} elements (shape {node.value.shape}) '
            'is ambiguous: only a one-element node has one truth value or number. Reduce it '
            'first (x.sum(), x.max()) or compare element-wise on x.value (x.value.any(), '
            '(x.value > 0).all()).')
    return node.value.reshape(()).item()


def fail_requires_grad(value):
    raise NoGradientError(
        f'TensorNode: requires_grad=True on a node of dtype {value.dtype}: only float '
        'nodes can have gradients. Convert first, e.g. TensorNode(x.astype(np.float32)).')


def has_gradient(node):
    """Reading .grad of an integer or boolean node is an error: they are constants."""
    if node.value.dtype.kind != 'f':
        raise NoGradientError(
            f'grad: this node holds {node.value.dtype} values, which are constants and '
            'have no gradient. Make it a float node to differentiate with respect to it.')


def constant_array(op, x, like):
    """A number, list or array given to an op in place of a node, as an array."""
    if isinstance(x, np.ndarray):
        return x
    if type(x) in (float, int) and like is not None and (
            like.kind in 'fc' or (like.kind in 'iu' and type(x) is int)):
        # -- A Python number takes the dtype NumPy would give it next to the node values, so
        #    that `x * 2.0` stays float32 when x is float32 (NumPy's rule for Python scalars).
        return np.asarray(x, dtype=like)
    if isinstance(x, (bool, int, float, np.number, np.bool_, list, tuple)):
        try:
            array = np.asarray(x)
        except (TypeError, ValueError):
            array = None
        if array is not None and array.dtype != object:
            return array
    raise InputTypeError(
        f'{op.__name__}: got an input of type {type(x).__name__}; an input must be a TensorNode, '
        'a NumPy array or a number.')


_needs = {}     # -- each tuple of bools once: see needs_input_grad


def needs_input_grad(inputs):
    """
    One bool per input: does it need a gradient? All False inside no_grad().

    -- Each distinct tuple is made once and shared: Python's cycle collector then stops tracking
       it, and so the op's context dict, which holds it and arrays, is not tracked either.
    """
    needs = ((False,) * len(inputs) if not modes.grad_enabled else
             tuple([node.requires_grad for node in inputs]))
    return _needs.setdefault(needs, needs)


def forward_error(op, values, e):
    """The error to raise for a ValueError or TypeError from an op's forward."""
    if isinstance(e, VugradError):
        return e
    if isinstance(e, ValueError) and op.broadcasting and not _broadcast(values):
        shapes = ' and '.join(str(v.shape) for v in values)
        return ShapeError(
            f'{op.__name__}: shapes {shapes} do not broadcast together ({e}). Broadcasting '
            'aligns shapes from the right; each pair of sizes must be equal or one of them 1. '
            'Reshape or transpose an input first.')
    dtypes = ' and '.join(str(v.dtype) for v in values)
    if (isinstance(e, ValueError) and any(v.dtype.kind in 'biu' for v in values)) or (
            isinstance(e, TypeError) and ('ufunc' in type(e).__name__.lower()
                                          or 'ufunc' in str(e)
                                          or any(v.dtype == bool for v in values))):
        # -- NumPy's dtype errors (no ufunc loop, boolean subtract, integers to negative
        #    powers, ...) are the user's input's fault; any other error is a bug in the op
        #    and goes up as it is
        return InputTypeError(
            f'{op.__name__}: NumPy cannot apply this op to inputs of dtype {dtypes} ({e}). '
            'Convert them first, e.g. x.astype(np.float32).')
    return e


def _broadcast(values):
    try:
        np.broadcast_shapes(*(v.shape for v in values))
    except ValueError:
        return False
    return True


def output_arrays(op, outputs):
    """The outputs of an op's forward as arrays; under anomaly mode, checked for NaN and inf."""
    for o in outputs:
        if type(o) is not np.ndarray:
            outputs = [o if type(o) is np.ndarray else _output_array(op, o) for o in outputs]
            break
    if modes.anomaly:
        for o in outputs:
            if o.dtype.kind in 'fc' and not np.all(np.isfinite(o)):
                raise AnomalyError(
                    f'{op.__name__}.forward produced a non-finite value (NaN or inf), '
                    f'output shape {o.shape}, called at {user_frame()}.')
    return outputs


def _output_array(op, o):
    array = np.asarray(o)
    if array.dtype == object:
        raise OpDefinitionError(
            f'{op.__name__}.forward returned a {type(o).__name__}; forward works on plain NumPy '
            'arrays: return an array (computed from the input arrays, not from nodes).')
    return array


def matmul_shapes(a, b):
    """MatrixMultiply's inputs must fit: (..., n, k) @ (..., k, m), or vectors."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f'MatrixMultiply: cannot multiply shapes {a.shape} and {b.shape}: '
                         'matrix multiplication needs at least one dimension on each side; '
                         'use * for a scalar.')
    k = b.shape[-2 if b.ndim > 1 else 0]
    if a.shape[-1] != k:
        raise ShapeError(
            f'MatrixMultiply: shapes {a.shape} and {b.shape} do not fit: the last dimension of '
            f'the first ({a.shape[-1]}) must equal the '
            f'{"second-to-last" if b.ndim > 1 else "only"} dimension of the second ({k}). '
            'Transpose one of them (x.T) if needed.')
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(f'MatrixMultiply: shapes {a.shape} and {b.shape}: the batch '
                         'dimensions do not broadcast together.') from None


# ---------------------------------------------------------------------- saved arrays


def link_views(outputs, inputs):
    """Record which outputs of an op are views of an input's array (reshape, x[2], x.T)."""
    for out in outputs:
        if out._value.base is not None:
            for node in inputs:
                if np.may_share_memory(out._value, node._value):
                    out._base = node
                    break


def changed_in_place(node):
    """Count an in-place change of node's array, and of the arrays it is a view of."""
    while node is not None:
        node._version += 1
        node = node._base


def version(node):
    """How often node's array, or an array it is a view of, has been changed in place."""
    v = node._version
    while node._base is not None:
        node = node._base
        v += node._version
    return v


class Saved:
    """What an OpNode remembers of its inputs at forward time, for the checks in backward."""
    __slots__ = ('versions', 'created_at', 'checksums')


def remember_inputs(opnode):
    """
    None in the common case (no input was ever changed in place, no anomaly mode): then a
    non-zero version in backward means a change after forward. Otherwise a Saved record.
    """
    if not modes.anomaly:
        for node in opnode.inputs:
            if node._version or node._base is not None:
                break
        else:
            return None
    versions = tuple([version(node) for node in opnode.inputs])
    saved = Saved()
    saved.versions = versions
    saved.created_at = user_frame() if modes.anomaly else None
    saved.checksums = _checksums(opnode) if modes.anomaly else None
    return saved


def saved_inputs_unchanged(opnode):
    """Fail if an input array the op saved for backward was changed in place since forward."""
    saved = opnode.saved
    if saved is None:        # -- no input had ever been changed (or was a view) at forward time
        for node in opnode.inputs:
            if node._version:
                _check_saved_input(opnode, node)
        return
    for node, recorded in zip(opnode.inputs, saved.versions):
        if version(node) != recorded:
            _check_saved_input(opnode, node)
    if saved.checksums is not None:
        for node, before, after in zip(opnode.inputs, saved.checksums, _checksums(opnode)):
            if before is not None and before != after:
                raise SavedArrayModifiedError(
                    f'{opnode.op.__name__}: an input array it saved (shape {node.value.shape}) '
                    f'was written to after the forward pass at {saved.created_at} (found by '
                    "detect_anomaly's checksums). Change arrays only after backward() has run.")


def saved_output_unchanged(opnode, out):
    """Fail if the op saved its output `out` for backward and it was changed in place since."""
    if out._version:
        _check_saved_output(opnode, out)


def _saved(opnode):
    return [v for v in opnode.context.values() if isinstance(v, np.ndarray)]


def _check_saved_input(opnode, node):
    # -- may_share_memory: the op may have saved a view of the input (x.reshape(-1))
    if any(np.may_share_memory(v, node.value) for v in _saved(opnode)):
        raise SavedArrayModifiedError(
            f'{opnode.op.__name__}: the value of an input (shape {node.value.shape}) was '
            'changed in place after the forward pass, but the op saved it for backward. '
            'Update parameters after backward() (as the training loop does), or compute '
            'the forward again.')


def _check_saved_output(opnode, out):
    if any(v is out.value for v in _saved(opnode)):
        raise SavedArrayModifiedError(
            f'{opnode.op.__name__}: its output (shape {out.value.shape}) was changed in place '
            'after the forward pass, but the op saved it for backward. Compute a new node '
            '(y = y * 2) instead of changing y.value in place.')


def _checksums(opnode):
    """A checksum of each input array the op saved, by position (None if not saved)."""
    saved = _saved(opnode)
    return tuple(
        zlib.crc32(np.ascontiguousarray(node.value).view(np.uint8).reshape(-1))
        if any(v is node.value for v in saved) else None
        for node in opnode.inputs)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frame():
    """The innermost stack frame outside the vugrad package, as 'file:line in function'."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return '<unknown>'
    return f'{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}'


# ---------------------------------------------------------------------- gradients


def start_gradient(node, gradient):
    """The gradient backward starts from: 1 for a scalar, else the given array."""
    if not node.requires_grad:
        raise NoGradientError(
            'backward: this node does not depend on anything that requires a gradient '
            '(it is a constant, or it was computed inside no_grad()).')
    if gradient is None:
        if node.value.size != 1:
            raise BackwardError(
                f'backward: can only start from a scalar (one-element) node, but this node has '
                f'shape {node.value.shape}. Reduce it first (e.g. loss = out.sum()), or pass '
                'gradient= with an array of that shape.')
        return np.ones_like(node.value)
    gradient = np.array(gradient, dtype=node.value.dtype, copy=True)
    if gradient.shape != node.value.shape:
        raise ShapeError(
            f'backward: gradient has shape {gradient.shape} but the node has shape '
            f'{node.value.shape}; they must be equal.')
    return gradient


def zero_gradient(opnode, i):
    """The gradient of an output that did not reach the loss: zeros of its shape."""
    out = opnode.outputs[i]
    if out is None:
        raise BackwardError(
            f'{opnode.op.__name__}: output {i} was freed before backward and did not reach the '
            'loss; keep a reference to every output of a multi-output op until backward.')
    return np.zeros(out.value.shape, dtype=out.value.dtype)


def input_gradients(opnode, ginputs):
    """
    The gradients an op's backward returned, one per input, checked: None for inputs that need
    no gradient (whatever the op returned for them is dropped), else arrays of the input's
    shape and dtype, with broadcasting undone for ops that broadcast.
    """
    op, inputs = opnode.op, opnode.inputs
    if type(ginputs) is not tuple:
        ginputs = tuple(ginputs) if isinstance(ginputs, list) else (ginputs,)
    if len(ginputs) != len(inputs):
        raise OpDefinitionError(
            f'{op.__name__}.backward returned {len(ginputs)} gradient(s) for {len(inputs)} '
            f'input(s). Return one gradient per input, in the order of the inputs (None for '
            'an input that needs none).')
    out = []
    anomaly = modes.anomaly
    for node, g in zip(inputs, ginputs):
        if not node.requires_grad:
            out.append(None)
            continue
        value = node._value
        if type(g) is not np.ndarray or g.shape != value.shape or g.dtype != value.dtype:
            g = _fix_gradient(op, node, g)
        if anomaly and not np.all(np.isfinite(g)):
            created = opnode.saved.created_at if opnode.saved is not None else None
            where = (f'the op node was created at {created}' if created else 'the graph was '
                     'built outside detect_anomaly(); build it inside to see the line that '
                     'created the op')
            raise AnomalyError(
                f'{op.__name__}.backward produced a non-finite gradient (NaN or inf) for an '
                f'input of shape {value.shape}; {where}.')
        out.append(g)
    return out


def _fix_gradient(op, node, g):
    """A returned gradient that is not yet an array of the input's shape and dtype."""
    if g is None:
        raise OpDefinitionError(
            f'{op.__name__}.backward returned None for an input that requires a gradient '
            f"(shape {node.value.shape}). Return an array of the input's shape.")
    array = np.asarray(g)
    if array.dtype == object:
        raise OpDefinitionError(
            f'{op.__name__}.backward returned a {type(g).__name__}; backward works on plain '
            'NumPy arrays: return an array (use .value of a node).')
    g = array
    shape = node.value.shape
    if g.shape != shape:
        if not op.broadcasting:
            raise OpDefinitionError(
                f'{op.__name__}.backward returned a gradient of shape {g.shape} for an input of '
                f'shape {shape}. A gradient must have the shape of its input.')
        g = unbroadcast(g, shape, op)
    return g.astype(node.value.dtype, copy=False)  # -- no silent float64 upcast


def unbroadcast(g, shape, op=None):
    """
    Sum a gradient back to the shape of the input it belongs to, undoing NumPy broadcasting:
    dimensions that broadcasting added in front are summed away, dimensions of size 1 that it
    stretched are summed with keepdims.
    """
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:
        name = op.__name__ if op is not None else 'unbroadcast'
        raise OpDefinitionError(
            f'{name}.backward returned a gradient of shape {g.shape} that cannot be summed back '
            f"to its input's shape {shape}.")
    return np.asarray(g)     # -- a sum over every axis is a NumPy scalar


def leaf_gradients(pending):
    """
    (leaf, gradient to add to its .grad) for each leaf in pending, the map backward filled.
    A leaf's .grad must be a writeable array of its own: a read-only view (a broadcast from Sum,
    say) is copied, and so is an array already given to another leaf (Add returns one array for
    both of its inputs). Nodes with a source are skipped: they did not lead to any op visited.
    """
    handed = set()
    for node, g in pending.items():
        if node.source is not None:
            continue
        if type(g) is not np.ndarray:
            g = np.asarray(g)
        if node._grad is None:     # -- stored as it is, not added to an array it owns
            if not g.flags.writeable or id(g) in handed:
                g = g.copy()
            handed.add(id(g))
        yield node, g
