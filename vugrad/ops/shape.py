"""
Ops that move elements around without computing new values: reshaping, transposing,
repeating, indexing, joining.

The comment under each backward states what it computes.
"""

import numpy as np

from ..core import Op, TensorNode
from ..errors import IndexOutOfRangeError, ShapeError


def _check_dim(op, x, dim, extra=0):
    """Raise a ShapeError unless dim is a dimension of x (of the output, for extra=1)."""
    n = x.ndim + extra
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise ShapeError(f'{op}: dim={dim!r} is not a dimension of shape {x.shape}'
                         f'{" (with one inserted)" if extra else ""}: use an integer from {-n} '
                         f'to {n - 1}.')


class Expand(Op):
    """
    Expand a singleton dimension in the input: repeat the input a number of times along a given
    dimension of size 1, as broadcasting does.
    """

    @staticmethod
    def forward(context, input, *, dim, repeats):
        _check_dim('Expand', input, dim)
        if input.shape[dim] != 1:
            raise ShapeError(f'Expand: can only expand a dimension of size 1, but dimension {dim} '
                             f'of shape {input.shape} has size {input.shape[dim]}.')
        context['dim'] = dim
        return np.repeat(input, repeats, axis=dim)

    @staticmethod
    def backward(context, goutput):
        return goutput.sum(axis=context['dim'], keepdims=True)
        # -- gradient for the input: goutput summed along `dim`, kept as a dimension of size 1


class Squeeze(Op):
    """Remove a dimension of size 1."""

    @staticmethod
    def forward(context, input, dim=0):
        _check_dim('Squeeze', input, dim)
        if input.shape[dim] != 1:
            raise ShapeError(f'Squeeze: dimension {dim} of shape {input.shape} has size '
                             f'{input.shape[dim]}; only a dimension of size 1 can be removed.')
        context['dim'] = dim
        return input.squeeze(dim)

    @staticmethod
    def backward(context, goutput):
        return np.expand_dims(goutput, axis=context['dim'])
        # -- gradient for the input: goutput with dimension `dim` put back


class Unsqueeze(Op):
    """Insert a dimension of size 1."""

    @staticmethod
    def forward(context, input, dim=0):
        _check_dim('Unsqueeze', input, dim, extra=1)
        context['dim'] = dim
        return np.expand_dims(input, axis=dim)

    @staticmethod
    def backward(context, goutput):
        return goutput.squeeze(context['dim'])
        # -- gradient for the input: goutput with dimension `dim` taken out


class Reshape(Op):
    """Give the elements a new shape (as np.reshape; one size may be -1)."""

    @staticmethod
    def forward(context, x, *, shape):
        context['xshape'] = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(f'Reshape: cannot reshape an array of shape {x.shape} '
                             f'({x.size} elements) into shape {tuple(shape)}.') from None

    @staticmethod
    def backward(context, go):
        return go.reshape(context['xshape'])
        # -- element k of the output is element k of the input: reshape the gradient back


class Transpose(Op):
    """Permute the dimensions (reversed when axes is None, as x.T does); axes may be negative."""

    @staticmethod
    def forward(context, x, *, axes=None):
        if axes is not None:
            axes = tuple(axes)
            if len(axes) != x.ndim or not all(-x.ndim <= a < x.ndim for a in axes) or \
                    sorted(int(a) % x.ndim for a in axes) != list(range(x.ndim)):
                raise ShapeError(f'Transpose: axes {axes} are not a permutation of the '
                                 f'{x.ndim} dimensions of shape {x.shape}.')
            axes = tuple(int(a) % x.ndim for a in axes)   # -- (-1, 0) becomes (1, 0)
        context['axes'] = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(context, go):
        axes = context['axes']
        return np.transpose(go, None if axes is None else np.argsort(axes))
        # -- the inverse permutation brings each gradient element back to its input position
        #    (argsort of the axes is that inverse: the axes were made non-negative in forward)


def _is_basic(index):
    """True for an index of ints, slices, None and Ellipsis only (no element is used twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer))
               for p in parts)


def _unwrap_index(index):
    if isinstance(index, TensorNode):
        return index.value
    if isinstance(index, tuple):
        return tuple(p.value if isinstance(p, TensorNode) else p for p in index)
    return index


class GetItem(Op):
    """
    Indexing, as in NumPy: x[2], x[:, None, 3:5], x[[0, 0, 1]], x[x.value > 0].
    Elements picked several times (repeated integer indices) get the sum of their gradients.
    """

    @staticmethod
    def forward(context, x, *, index):
        index = _unwrap_index(index)
        try:
            out = x[index]
        except IndexError as e:
            raise IndexOutOfRangeError(
                f'GetItem: index {index!r} does not fit shape {x.shape}: {e}') from None
        context['xshape'], context['index'] = x.shape, index
        context['basic'] = _is_basic(index)
        return np.asarray(out)

    @staticmethod
    def backward(context, go):
        g = np.zeros(context['xshape'], dtype=go.dtype)
        if context['basic']:
            g[context['index']] = go
        else:
            np.add.at(g, context['index'], go)
        return g
        # -- the gradient of a picked element is the upstream gradient at the place it went to;
        #    elements not picked get 0


class Select(Op):
    """
    Select a single element from each row of a matrix. The target indices are given by an
    integer vector with one entry per row: out[i] = input[i, indices[i]].

    (In PyTorch this is done with the more general gather().)
    """

    @staticmethod
    def forward(context, input, *, indices):
        indices = np.asarray(indices.value if isinstance(indices, TensorNode) else indices)
        if input.ndim != 2 or indices.ndim != 1 or indices.shape[0] != input.shape[0]:
            raise ShapeError(f'Select: expects a matrix (n, m) and n integer indices, got shapes '
                             f'{input.shape} and {indices.shape}.')
        if indices.dtype.kind not in 'iu':
            raise ShapeError(f'Select: indices must be integers, got dtype {indices.dtype}.')
        if indices.size and not (-input.shape[1] <= indices.min() and
                                 indices.max() < input.shape[1]):
            raise ShapeError(f'Select: indices must lie in [0, {input.shape[1]}) for an input of '
                             f'shape {input.shape}, got values from {indices.min()} to '
                             f'{indices.max()}.')
        rows = np.arange(input.shape[0])
        context['input_size'], context['rows'], context['indices'] = input.shape, rows, indices
        return input[rows, indices]

    @staticmethod
    def backward(context, goutput):
        res = np.zeros(context['input_size'], dtype=goutput.dtype)
        res[context['rows'], context['indices']] = goutput
        return res
        # -- gradient for the input: zeros, with goutput[i] at (i, indices[i])


class Concatenate(Op):
    """Join several arrays along an existing axis (np.concatenate)."""

    @staticmethod
    def forward(context, *xs, axis=0):
        try:
            out = np.concatenate(xs, axis=axis)
        except ValueError as e:
            raise ShapeError(f'Concatenate: shapes {[x.shape for x in xs]} along axis {axis}: '
                             f'{e}') from None
        context['axis'] = axis
        context['splits'] = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return out

    @staticmethod
    def backward(context, go):
        return tuple(np.split(go, context['splits'], axis=context['axis']))
        # -- each input gets back the slice of the gradient where its elements went


class Stack(Op):
    """Join several arrays of the same shape along a new axis (np.stack)."""

    @staticmethod
    def forward(context, *xs, axis=0):
        try:
            out = np.stack(xs, axis=axis)
        except ValueError as e:
            raise ShapeError(f'Stack: shapes {[x.shape for x in xs]}: {e}') from None
        context['axis'] = axis % out.ndim
        return out

    @staticmethod
    def backward(context, go):
        axis = context['axis']
        return tuple(np.take(go, i, axis=axis) for i in range(go.shape[axis]))
        # -- input k is the k-th slice of the output along the new axis
