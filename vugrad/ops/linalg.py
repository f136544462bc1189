"""
Linear algebra ops beyond MatrixMultiply (which is in core): the course's BatchMM, and the
fused affine map of a Linear layer; and MatrixMultiply's backward for vectors and stacks of
matrices.
"""

import numpy as np

from ..checks import unbroadcast
from ..core import Op
from ..errors import ShapeError


def matmul_gradients(a, b, go, need_a, need_b):
    """
    MatrixMultiply's gradients when a or b is a vector or a stack of matrices (np.matmul's
    rules): the products of the two-matrix case, on vectors made matrices with one row (a) or
    one column (b), summed back over the batch dimensions that broadcasting added.
    """
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    go2 = np.asarray(go)
    go2 = (go2.reshape(1, 1) if a.ndim == b.ndim == 1 else go2[..., None, :] if a.ndim == 1
           else go2[..., None] if b.ndim == 1 else go2)
    ga = gb = None
    if need_a:
        ga = unbroadcast(go2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    if need_b:
        gb = unbroadcast(np.swapaxes(a2, -1, -2) @ go2, b2.shape).reshape(b.shape)
    return ga, gb


class BatchMM(Op):
    """
    A single matrix applied to a batch of vectors: (m, f) and (n, f) -> (n, m), i.e.
    vectors @ matrix.T. (In PyTorch this is what a linear layer without bias computes.)
    """

    @staticmethod
    def forward(context, matrix, vectors):
        if matrix.ndim != 2 or vectors.ndim != 2 or matrix.shape[1] != vectors.shape[1]:
            raise ShapeError(
                f'BatchMM: expects a matrix (m, f) and a batch of vectors (n, f), got '
                f'{matrix.shape} and {vectors.shape}.')
        context['matrix'], context['vectors'] = matrix, vectors
        return vectors @ matrix.T

    @staticmethod
    def backward(context, go):
        matrix, vectors = context['matrix'], context['vectors']
        need_m, need_v = context['needs_input_grad']
        return (go.T @ vectors if need_m else None), (go @ matrix if need_v else None)
        # -- gradient for the matrix: go.T @ vectors; for the vectors: go @ matrix


class Linear(Op):
    """
    The affine map of a linear layer in one op: x @ w.T + b for a batch x (n, f), weights
    w (m, f) and a bias b broadcast over the rows (shape (1, m) or (m,)).

    -- One op instead of BatchMM, Expand and Add: fewer graph nodes and no (n, m) copies of
       the bias. The gradient for x (a GEMM as large as the forward) is only computed when x
       needs one; for the data batch it does not.
    """

    @staticmethod
    def forward(context, x, w, b):
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
            raise ShapeError(
                f'Linear: the input has shape {x.shape} but the weights have shape {w.shape}: '
                f'expected an input of shape (batch, {w.shape[1] if w.ndim == 2 else "?"}). '
                'Flatten or reshape the input first.')
        if b.shape != (1, w.shape[0]) and b.shape != (w.shape[0],):
            raise ShapeError(f'Linear: the bias has shape {b.shape}, weights {w.shape}; the bias '
                             f'must have shape (1, {w.shape[0]}) or ({w.shape[0]},).')
        context['x'], context['w'], context['bshape'] = x, w, b.shape
        out = x @ w.T
        out += b     # -- in place: no second (n, m) array
        return out

    @staticmethod
    def backward(context, go):
        x, w = context['x'], context['w']
        need_x, need_w, need_b = context['needs_input_grad']
        gx = go @ w if need_x else None
        gw = go.T @ x if need_w else None
        gb = go.sum(axis=0).reshape(context['bshape']) if need_b else None
        return gx, gw, gb
        # -- gradient for x: go @ w; for w: go.T @ x; for b: the column sums of go
