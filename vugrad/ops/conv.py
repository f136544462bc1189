"""
Ops for images: a 2D convolution and two kinds of pooling, on batches in NCHW layout
(batch, channels, height, width), as PyTorch has them.

The convolution is computed as one matrix product: every patch of the image that the kernel
covers is copied into a column of a matrix (im2col), and the weights, flattened into rows,
multiply that matrix. Its backward is the same product transposed; the transpose of im2col,
col2im, adds each column back onto the patch it came from. The guide derives it
(docs/backward/conv.md).

The comment under each backward states what it computes.
"""

import numpy as np

from ..core import Op
from ..errors import InvalidArgumentError, ShapeError


def as_pair(op, name, value, smallest):
    """An int or a pair of ints (height, width), each >= smallest, as a pair."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v >= smallest for v in pair):
        raise InvalidArgumentError(f'{op}: {name}={value!r}; expected an int >= {smallest} or a '
                                   f'pair of them (height, width).')
    return int(pair[0]), int(pair[1])


def _windows(x, kh, kw, sh, sw, oh, ow):
    """
    A read-only view of shape (N, C, kh, kw, OH, OW) of x (N, C, H, W): element
    [n, c, i, j, p, q] is x[n, c, p*sh + i, q*sw + j], pixel (i, j) of the window of output
    position (p, q). No element is copied: the view only has other strides.
    """
    s_n, s_c, s_h, s_w = x.strides
    return np.lib.stride_tricks.as_strided(
        x, shape=(x.shape[0], x.shape[1], kh, kw, oh, ow),
        strides=(s_n, s_c, s_h, s_w, s_h * sh, s_w * sw), writeable=False)


def _offsets(kh, kw, sh, sw, oh, ow):
    """For every pixel (i, j) of a window, the slices that pick it out of every window at once."""
    return [(slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def _batch_fix(x):
    """For an input of one image, where a batch (N, C, H, W) is expected: how to make it one."""
    return {3: ' For one image (C, H, W), add a batch axis: x.reshape(1, *x.shape).',
            2: ' For one single-channel image (H, W), add batch and channel axes: '
               'x.reshape(1, 1, *x.shape).'}.get(x.ndim, '')


class Conv2d(Op):
    """
    A 2D convolution (a cross-correlation, as in every deep learning library) of a batch of
    images x (N, C, H, W) with O kernels w (O, C, kh, kw), plus an optional bias b (O,):

        Y[n, o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c, p*sh + i, q*sw + j]

    where x_pad is x with `padding` zeros on every side. The output has shape (N, O, OH, OW),
    OH = (H + 2 ph - kh) // sh + 1 (and likewise OW). Call it with or without the bias:
    Conv2d.do_forward(x, w, stride=1, padding=0) or Conv2d.do_forward(x, w, b, ...).
    """

    @staticmethod
    def forward(context, x, w, b=None, *, stride=1, padding=0):
        sh, sw = as_pair('conv2d', 'stride', stride, 1)
        ph, pw = as_pair('conv2d', 'padding', padding, 0)
        if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
            raise ShapeError(
                f'conv2d: the input has shape {x.shape} and the weights {w.shape}; expected an '
                f'input (N, C, H, W) and weights (O, C, kh, kw) with the same C.{_batch_fix(x)}')
        (n, c, h, wd), (o, _, kh, kw) = x.shape, w.shape
        hp, wp = h + 2 * ph, wd + 2 * pw
        if kh < 1 or kw < 1 or kh > hp or kw > wp:
            raise ShapeError(
                f'conv2d: a kernel of {kh}x{kw} (weights {w.shape}) does not fit an input of '
                f'shape {x.shape} padded to {hp}x{wp} (padding {(ph, pw)}).')
        if b is not None and b.shape != (o,):
            raise ShapeError(f'conv2d: the bias has shape {b.shape}, the weights {w.shape}; the '
                             f'bias must have shape ({o},).')
        oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1

        if ph or pw:     # -- zero padding: the image in the middle of a larger array of zeros
            xp = np.zeros((n, c, hp, wp), dtype=x.dtype)
            xp[:, :, ph:ph + h, pw:pw + wd] = x
        else:
            xp = x
        # -- im2col: one strided view of all windows, then one copy into (N, C*kh*kw, OH*OW):
        #    column p*OW + q of cols[n] holds the window of output position (p, q), flattened
        cols = _windows(xp, kh, kw, sh, sw, oh, ow).reshape(n, c * kh * kw, oh * ow)
        out = np.matmul(w.reshape(o, c * kh * kw), cols)   # -- (O, C*kh*kw) @ (N, C*kh*kw, OH*OW)
        if b is not None:
            out += b.reshape(o, 1)      # -- in place: no second output-sized array
        need_x, need_w = context['needs_input_grad'][:2]
        context['cols'] = cols if need_w else None       # -- only dW needs the columns
        context['w'] = w if need_x else None             # -- only dx needs the weights
        context['geometry'] = (x.shape, w.shape, sh, sw, ph, pw, oh, ow)
        return out.reshape(n, o, oh, ow)

    @staticmethod
    def backward(context, go):
        (n, c, h, wd), (o, _, kh, kw), sh, sw, ph, pw, oh, ow = context['geometry']
        need_x, need_w = context['needs_input_grad'][:2]
        g = go.reshape(n, o, oh * ow)
        gx = gw = None
        if need_w:
            gw = np.matmul(g, context['cols'].transpose(0, 2, 1)).sum(axis=0)
            gw = gw.reshape(o, c, kh, kw)
            # -- dW = sum over the batch of G[n] @ cols[n]^T, back in the weights' shape
        if need_x:
            w = context['w']
            g_last = np.ascontiguousarray(go.transpose(1, 2, 3, 0)).reshape(o, oh * ow * n)
            # -- the upstream gradient with the batch as the last, fastest axis: (O, OH*OW*N)
            dcols = np.matmul(w.reshape(o, c * kh * kw).T, g_last)
            dcols = dcols.reshape(c, kh, kw, oh, ow, n)
            # -- dcols = W^T G: the gradient of every element of the im2col matrix, in the
            #    layout (C, kh, kw, OH, OW, N)
            gxp = np.zeros((c, h + 2 * ph, wd + 2 * pw, n), dtype=dcols.dtype)
            for i in range(kh):
                for j in range(kw):
                    gxp[:, i:i + sh * oh:sh, j:j + sw * ow:sw] += dcols[:, i, j]
            gx = np.ascontiguousarray(gxp[:, ph:ph + h, pw:pw + wd].transpose(3, 0, 1, 2))
            # -- col2im: pixel (i, j) of every window is added back where it was copied from,
            #    for all windows at once (one strided += per kernel offset), in the layout
            #    (C, H, W, N) so that each += runs over contiguous stretches of OW*N numbers
            #    (N*C*OH stretches of only OW in NCHW); then the padding is cut off and the
            #    result goes back to NCHW
        if len(context['needs_input_grad']) == 2:
            return gx, gw
        gb = go.sum(axis=(0, 2, 3)) if context['needs_input_grad'][2] else None
        return gx, gw, gb
        # -- and db: the sum of the upstream gradient over the batch and the positions


def _pool_geometry(op, x, kernel_size, stride):
    kh, kw = as_pair(op, 'kernel_size', kernel_size, 1)
    sh, sw = as_pair(op, 'stride', kernel_size if stride is None else stride, 1)
    if x.ndim != 4:
        raise ShapeError(f'{op}: the input has shape {x.shape}; expected (N, C, H, W), a batch of '
                         f'images.{_batch_fix(x)}')
    if kh > x.shape[2] or kw > x.shape[3]:
        raise ShapeError(f'{op}: a window of {kh}x{kw} does not fit the input of shape {x.shape}; '
                         'expected H >= kernel height and W >= kernel width.')
    return kh, kw, sh, sw, (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1


class MaxPool2d(Op):
    """
    Max pooling of a batch of images x (N, C, H, W): each output element is the largest element
    of a kh x kw window; the windows start every `stride` pixels (stride defaults to the kernel
    size). Windows that do not fit at the right or bottom edge are left out, as in PyTorch.
    """

    @staticmethod
    def forward(context, x, *, kernel_size, stride=None):
        kh, kw, sh, sw, oh, ow = _pool_geometry('max_pool2d', x, kernel_size, stride)
        offsets = _offsets(kh, kw, sh, sw, oh, ow)
        out = x[(Ellipsis,) + offsets[0]].copy()
        for rows, columns in offsets[1:]:
            np.maximum(out, x[:, :, rows, columns], out=out)
            # -- the running maximum over the pixels of the windows: a strided slice of x holds
            #    pixel (i, j) of every window (for 2x2 windows, four slices in all)
        context['x'], context['out'], context['offsets'] = x, out, offsets
        context['disjoint'] = sh >= kh and sw >= kw      # -- no two windows share a pixel
        return out

    @staticmethod
    def backward(context, go):
        x, out, offsets = context['x'], context['out'], context['offsets']
        disjoint = context['disjoint']
        gx = np.zeros(x.shape, dtype=go.dtype)
        if np.isfinite(go).all():
            def share(mask):     # -- go where mask, else 0: a product, much faster than np.where
                return go * mask
        else:                    # -- ... but inf * 0 is NaN, where 0 is wanted
            def share(mask):
                return np.where(mask, go, 0)
        taken = np.zeros(out.shape, dtype=bool)
        for rows, columns in offsets:
            first = x[:, :, rows, columns] == out
            first &= ~taken      # -- a window whose maximum was found already gets no more
            taken |= first
            if disjoint:         # -- each pixel is in one window at most: assign, no add
                gx[:, :, rows, columns] = share(first)
            else:
                gx[:, :, rows, columns] += share(first)
        nan = np.isnan(out)
        if nan.any():    # -- NaN is the maximum of a window with a NaN; PyTorch picks its last NaN
            taken = ~nan
            for rows, columns in reversed(offsets):
                last = np.isnan(x[:, :, rows, columns]) & ~taken
                taken |= last
                gx[:, :, rows, columns] += share(last)
        return gx
        # -- the upstream gradient goes to the first maximum of each window (in row-major order
        #    within the window, as PyTorch does), 0 to the other elements; where windows overlap,
        #    an element gets the sum over the windows it is the maximum of


class AvgPool2d(Op):
    """
    Average pooling of a batch of images x (N, C, H, W): each output element is the mean of a
    kh x kw window; the windows start every `stride` pixels (stride defaults to the kernel
    size). Windows that do not fit at the right or bottom edge are left out, as in PyTorch.
    """

    @staticmethod
    def forward(context, x, *, kernel_size, stride=None):
        kh, kw, sh, sw, oh, ow = _pool_geometry('avg_pool2d', x, kernel_size, stride)
        offsets = _offsets(kh, kw, sh, sw, oh, ow)
        out = np.array(x[(Ellipsis,) + offsets[0]], dtype=np.result_type(x, 1.0))
        for rows, columns in offsets[1:]:
            out += x[:, :, rows, columns]
        out /= kh * kw
        context['xshape'], context['offsets'], context['size'] = x.shape, offsets, kh * kw
        return out

    @staticmethod
    def backward(context, go):
        gx = np.zeros(context['xshape'], dtype=go.dtype)
        share = go / context['size']
        for rows, columns in context['offsets']:
            gx[:, :, rows, columns] += share
        return gx
        # -- every element of a window gets 1/(kh kw) of the window's upstream gradient
