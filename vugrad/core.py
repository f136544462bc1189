"""
The core of the autodiff system: the two kinds of node that make up a computation graph
(TensorNodes and OpNodes), the class definition of an Op, the Module base class, and the
backward pass that walks the graph.

A computation graph is bipartite. A TensorNode (a circle in the drawings) holds a value; an
OpNode (a diamond) records that an Op turned some TensorNodes into others. Calling an Op builds
the graph as a side effect; calling `loss.backward()` walks it from the loss back to the leaves.

The three most basic ops (Add, Multiply, MatrixMultiply) and Sub live at the bottom of this file;
the others are in the `vugrad.ops` package.
"""

import contextlib
import gc
import os
import sys
import weakref
import zlib

import numpy as np

from .errors import (
    AnomalyError,
    BackwardError,
    InputTypeError,
    NoGradientError,
    OpDefinitionError,
    SavedArrayModifiedError,
    ShapeError,
)

# -- Global switches. They are plain module globals (not thread-local): vugrad is single-threaded.
_state = {
    'grad_enabled': True,    # False inside `with no_grad():`
    'anomaly': False,        # True inside `with detect_anomaly():`
    'dtype': np.float32,     # the float dtype of new parameters and loaded data
}


def get_default_dtype():
    """The float dtype that parameters and data loaders use (np.float32 unless changed)."""
    return _state['dtype']


def set_default_dtype(dtype):
    """Set the float dtype of new parameters and loaded data: np.float32 or np.float64."""
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f'set_default_dtype: expected float32 or float64, got {dtype}.')
    _state['dtype'] = dtype.type


def is_grad_enabled():
    """True unless inside a `with vugrad.no_grad():` block."""
    return _state['grad_enabled']


@contextlib.contextmanager
def _grad_mode(enabled):
    previous = _state['grad_enabled']
    _state['grad_enabled'] = enabled
    try:
        yield
    finally:
        _state['grad_enabled'] = previous


def no_grad():
    """
    Context manager: ops run inside it compute values but build no graph.

        with vugrad.no_grad():
            accuracy = (model(xval).value.argmax(axis=1) == yval).mean()

    -- Use it for validation and for parameter updates: nothing is remembered for a backward.
    """
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns graph building back on inside a `no_grad` block."""
    return _grad_mode(True)


@contextlib.contextmanager
def detect_anomaly():
    """
    Context manager: every op checks its outputs in forward and its gradients in backward, and
    raises `AnomalyError` on the first NaN or inf, naming the op and the line of user code that
    created the node. Slow; use it to find where a NaN comes from.
    """
    previous = _state['anomaly']
    _state['anomaly'] = True
    try:
        yield
    finally:
        _state['anomaly'] = previous


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame():
    """The innermost stack frame outside the vugrad package, as 'file:line in function'."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return '<unknown>'
    return f'{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}'


def _is_float(dtype):
    return dtype.kind in 'fc'


class TensorNode:
    """
    A value node in the computation graph: a NumPy array linked to the computation that made it.

        a = TensorNode(np.random.randn(2, 2))
        c = a + a
        c.value        # the array
        c.source       # the OpNode that produced c (None for a leaf like `a`)
        a.grad         # d loss / d a, once backward() has run; zeros before

    :param value: A NumPy array (or anything np.asarray accepts: a number, a nested list).
    :param source: The OpNode that produced this node. Leave it None: ops set it.
    :param name: An optional name, shown when the graph is printed or drawn.
    :param requires_grad: Whether backward should compute a gradient for this node. By default a
        float node made by the user does, and an integer or boolean node is a constant.
    """

    __slots__ = ('_value', 'source', 'name', 'requires_grad', '_grad', '_version', '__weakref__')

    # -- Tells NumPy to leave `array + node` to us: NumPy then returns NotImplemented and Python
    #    calls node.__radd__(array), which builds a graph node instead of an array of objects.
    __array_ufunc__ = None

    def __init__(self, value, source=None, name=None, requires_grad=None):
        if not isinstance(value, np.ndarray):
            if isinstance(value, TensorNode):
                raise InputTypeError(
                    'TensorNode: value is already a TensorNode; pass its .value to copy the array, '
                    'or use the node itself.')
            try:
                value = np.asarray(value)
            except (TypeError, ValueError) as e:
                raise InputTypeError(
                    f'TensorNode: cannot make an array of {type(value).__name__} ({e}). '
                    'Pass a NumPy array, a number or a (nested) list of numbers.') from None
            if value.dtype == object:
                raise InputTypeError(
                    f'TensorNode: value of type {type(value).__name__} gives an object array; '
                    'pass a NumPy array, a number or a nested list of numbers.')

        if value.dtype.kind not in 'biufc':
            raise InputTypeError(
                f'TensorNode: values of dtype {value.dtype} are not numbers. Pass a numeric array '
                '(e.g. np.asarray(x, dtype=np.float32)).')
        floating = _is_float(value.dtype)
        if requires_grad is None:
            requires_grad = floating and source is None
        elif requires_grad and not floating:
            raise NoGradientError(
                f'TensorNode: requires_grad=True on a node of dtype {value.dtype}: only float '
                'nodes can have gradients. Convert first, e.g. TensorNode(x.astype(np.float32)).')

        if requires_grad and source is None and not value.flags.writeable:
            value = value.copy()   # -- a parameter must be updatable in place (p.value -= ...)
        self._value = value
        self.source = source     # the OpNode that produced this node, None for a leaf
        self.name = name
        self.requires_grad = bool(requires_grad)
        self._grad = None        # allocated only when a gradient arrives (or is read)
        self._version = 0        # bumped by in-place updates through `node.value op= ...`

    # -- value is a property so that an in-place update `node.value -= x` (which Python runs as
    #    `node.value = node.value.__isub__(x)`) can be noticed: saved arrays must not change
    #    behind an op's back before its backward has run.
    @property
    def value(self):
        """The NumPy array this node holds."""
        return self._value

    @value.setter
    def value(self, new):
        if new is self._value:
            self._version += 1   # the same array, changed in place
        else:
            if not isinstance(new, np.ndarray):
                new = np.asarray(new)
            self._value = new    # a new array: anything saved before still holds the old one

    @property
    def grad(self):
        """
        The gradient of the loss with respect to this node's value: an array of the value's
        shape. It reads as zeros until backward() delivers a gradient.

        -- No zero array is stored at creation: most nodes live and die without ever being read.
        """
        if self._grad is None:
            if not _is_float(self._value.dtype):
                raise NoGradientError(
                    f'grad: this node holds {self._value.dtype} values, which are constants and '
                    'have no gradient. Make it a float node to differentiate with respect to it.')
            return np.zeros(self._value.shape, dtype=self._value.dtype)
        return self._grad

    @grad.setter
    def grad(self, g):
        self._grad = None if g is None else np.asarray(g)

    def size(self, dim=None):
        """The shape of the value as a tuple, or the size of dimension `dim`."""
        if dim is None:
            return self._value.shape
        return self._value.shape[dim]

    @property
    def shape(self):
        return self._value.shape

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def dtype(self):
        return self._value.dtype

    def __len__(self):
        return len(self._value)

    def numpy(self):
        """The value as a NumPy array (the same as `.value`)."""
        return self._value

    def item(self):
        """The value of a one-element node as a Python number."""
        return self._value.item()

    def __repr__(self):
        name = f"'{self.name}', " if self.name else ''
        source = f', source={self.source.op.__name__}' if self.source is not None else ''
        return f'TensorNode({name}shape={self._value.shape}, dtype={self._value.dtype}{source})'

    __str__ = __repr__

    # ------------------------------------------------------------------ the backward pass

    def backward(self, gradient=None, start=True):
        """
        Compute the gradient of this node with respect to every node it depends on, and add it
        to their `.grad`.

        :param gradient: The gradient to start from. Leave it None for a scalar loss (it is 1).
            For a non-scalar node give an array of its shape (a vector-Jacobian product).

        -- We first list the op nodes this node depends on in reverse topological order (every
           op comes before the ops that produced its inputs), then visit them in that order.
           Only then is every gradient an op needs complete when we reach it.
        """
        if gradient is None:
            if self._value.size != 1:
                raise BackwardError(
                    f'backward: can only start from a scalar (one-element) node, but this node has '
                    f'shape {self._value.shape}. Reduce it first (e.g. loss = out.sum()), or pass '
                    'gradient= with an array of that shape.')
            gradient = np.ones_like(self._value)
        else:
            gradient = np.array(gradient, dtype=self._value.dtype, copy=True)
            if gradient.shape != self._value.shape:
                raise ShapeError(
                    f'backward: gradient has shape {gradient.shape} but the node has shape '
                    f'{self._value.shape}; they must be equal.')
        if not self.requires_grad:
            raise NoGradientError(
                'backward: this node does not depend on anything that requires a gradient '
                '(it is a constant, or it was computed inside no_grad()).')
        with _collector_paused():
            _backward(self, gradient)

    def zero_grad(self):
        """Set the gradient of this node and of every node below it to zero."""
        with _collector_paused():
            for node in _tensor_nodes(self):
                node._grad = None    # -- reads as zeros again

    def clear(self):
        """
        Disconnect the computation graph below this node, so that the garbage collector can
        free it. Parameters stay alive: their modules hold them.
        """
        with _collector_paused():
            for node in _tensor_nodes(self):
                source = node.source
                if source is not None:
                    node.source = None
                    source.inputs = ()
                    source.context = None
                    source._outputs = ()
                    source._versions = ()

    # ------------------------------------------------------------------ operators
    # -- Each operator builds a node of the graph by calling an Op. Numbers and arrays are
    #    accepted as constants: `2 * x`, `x + 1`, `x * np.ones(3)`.

    def __add__(self, other):
        return Add.do_forward(self, other)

    def __radd__(self, other):
        return Add.do_forward(other, self)

    def __sub__(self, other):
        return Sub.do_forward(self, other)

    def __rsub__(self, other):
        return Sub.do_forward(other, self)

    def __mul__(self, other):
        return Multiply.do_forward(self, other)

    def __rmul__(self, other):
        return Multiply.do_forward(other, self)

    def __truediv__(self, other):
        return _ops.Divide.do_forward(self, other)

    def __rtruediv__(self, other):
        return _ops.Divide.do_forward(other, self)

    def __matmul__(self, other):
        return MatrixMultiply.do_forward(self, other)

    def __rmatmul__(self, other):
        return MatrixMultiply.do_forward(other, self)

    def matmul(self, other):
        return MatrixMultiply.do_forward(self, other)

    def __neg__(self):
        return _ops.Negate.do_forward(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, (int, float, np.integer, np.floating)):
            return _ops.Power.do_forward(self, p=exponent)
        return _ops.Pow.do_forward(self, exponent)

    def __rpow__(self, base):
        return _ops.Pow.do_forward(base, self)

    def __getitem__(self, index):
        return _ops.GetItem.do_forward(self, index=index)

    def sum(self, axis=None, keepdims=False):
        return _ops.Sum.do_forward(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.Mean.do_forward(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.Max.do_forward(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.Reshape.do_forward(self, shape=shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.Transpose.do_forward(self, axes=axes or None)

    @property
    def T(self):
        return _ops.Transpose.do_forward(self, axes=None)

    def exp(self):
        return _ops.Exp.do_forward(self)

    # ------------------------------------------------------------------ pictures of the graph
    # -- The drawing code lives in vugrad.viz; these methods hand over to it.

    def to_dot(self, **options):
        """Graphviz DOT text of the graph behind this node (see vugrad.viz.to_dot)."""
        from .viz import to_dot
        return to_dot(self, **options)

    def _repr_svg_(self):
        from .viz import repr_svg
        return repr_svg(self)

    def log(self):
        return _ops.Log.do_forward(self)


@contextlib.contextmanager
def _collector_paused():
    """
    Pause Python's cyclic garbage collector during a walk of the graph. The walks allocate many
    small objects (sets, dicts, tuples), each allocation counts towards the next collection, and
    a collection scans every object alive, the whole graph included: on a graph of 100,000 ops
    that costs more than the walk. The graph holds no cycles, so nothing is lost by waiting.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _tensor_nodes(root):
    """Every TensorNode at or below `root`, each once (iterative, with a visited set)."""
    # -- Nodes hash by identity, so the set holds the nodes themselves.
    seen = {root}
    stack = [root]
    while stack:
        source = stack.pop().source
        if source is not None:
            for inp in source.inputs:
                if inp not in seen:
                    seen.add(inp)
                    stack.append(inp)
    return seen


def _reverse_topological(root):
    """
    The OpNodes that `root` depends on through nodes requiring gradients, ordered so that every
    OpNode comes before the OpNodes that produced its inputs (iterative depth-first search).
    """
    order = []
    start = root.source
    if start is None:
        return order
    # -- An op is marked visited when it is expanded, not when it is pushed: it may be pushed
    #    by several consumers, and must be finished only after every producer below it. (In a
    #    DAG a visited op that we meet again is always finished already.)
    visited = set()
    stack = [(start, False)]
    while stack:
        op, expanded = stack.pop()
        if expanded:
            order.append(op)     # -- post-order: all producers of op's inputs are already in
            continue
        if op in visited:
            continue
        visited.add(op)
        stack.append((op, True))
        for inp in op.inputs:
            src = inp.source
            if src is not None and inp.requires_grad and src not in visited:
                stack.append((src, False))
    order.reverse()
    return order


def _backward(root, gradient):
    # -- `pending` holds, for each node, the sum of the gradients that have arrived for it in
    #    this pass. A node is complete when its producing op is reached (topological order).
    #    `owned` lists the sums we allocated ourselves, which are safe to add into in place;
    #    an array an op returned may be shared (Add returns the same array for both inputs).
    pending = {root: gradient}
    owned = set()
    leaves = [root] if root.source is None else []
    anomaly = _state['anomaly']

    for opnode in _reverse_topological(root):
        refs = opnode._outputs
        if type(refs) is not tuple:
            # -- the only output of a single-output op is alive: backward reached us through it
            out = refs()
            g = pending.pop(out)
            out._grad = g if out._grad is None else np.asarray(out._grad + g)
            gouts = (g,)
            if out._version:
                _check_saved_output(opnode, out)
        else:
            gouts = []
            for i, ref in enumerate(refs):
                out = ref()
                g = None if out is None else pending.pop(out, None)
                if g is None:   # -- this output did not reach the loss: its gradient is zero
                    shape, dtype = opnode._out_meta[i]
                    g = np.zeros(shape, dtype=dtype)
                else:
                    out._grad = g if out._grad is None else np.asarray(out._grad + g)
                    if out._version:
                        _check_saved_output(opnode, out)
                gouts.append(g)

        op = opnode.op
        inputs = opnode.inputs
        versions = opnode._versions
        if versions is None:     # -- every input was at version 0 in forward
            for inp in inputs:
                if inp._version:
                    _check_saved(opnode)
        else:
            for inp, version in zip(inputs, versions):
                if inp._version != version:
                    _check_saved(opnode)
        if anomaly and opnode.checksums is not None:
            _check_checksums(opnode)
        ginputs = op.backward(opnode.context, *gouts)

        if type(ginputs) is not tuple:
            ginputs = tuple(ginputs) if isinstance(ginputs, list) else (ginputs,)
        if len(ginputs) != len(inputs):
            raise OpDefinitionError(
                f'{op.__name__}.backward returned {len(ginputs)} gradient(s) for {len(inputs)} '
                f'input(s). Return one gradient per input, in the order of the inputs (None for '
                'an input that needs none).')

        for inp, g in zip(inputs, ginputs):
            if not inp.requires_grad:
                continue     # -- a constant: whatever the op returned for it is dropped
            value = inp._value
            if type(g) is not np.ndarray or g.shape != value.shape or g.dtype != value.dtype:
                g = _check_gradient(op, inp, g)
            if anomaly and not np.all(np.isfinite(g)):
                where = (f'the op node was created at {opnode.created_at}'
                         if opnode.created_at else 'the graph was built outside detect_anomaly(); '
                         'build it inside to see the line that created the op')
                raise AnomalyError(
                    f'{op.__name__}.backward produced a non-finite gradient (NaN or inf) for an '
                    f'input of shape {value.shape}; {where}.')
            acc = pending.get(inp)
            if acc is None:
                pending[inp] = g
                if inp.source is None:
                    leaves.append(inp)
            elif inp in owned:
                acc += g
            else:
                # -- np.asarray: the sum of two 0-d arrays is a NumPy scalar, not an array
                pending[inp] = np.asarray(acc + g)
                owned.add(inp)

    # -- What is left pending are the leaves (nodes with no source): store their gradients.
    handed = set()
    for node in leaves:
        g = pending[node]
        if node._grad is not None:
            node._grad = np.asarray(node._grad + g)
        else:
            # -- A leaf's .grad is a plain writeable array of its own: a read-only view (a
            #    broadcast from Sum, say) is copied, and so is an array already given to another
            #    leaf (Add returns one array for both of its inputs).
            if not g.flags.writeable or id(g) in handed:
                g = g.copy()
            handed.add(id(g))
            node._grad = g


def _check_gradient(op, inp, g):
    """Validate one gradient returned by op.backward, undoing broadcasting where the op allows."""
    if g is None:
        raise OpDefinitionError(
            f'{op.__name__}.backward returned None for an input that requires a gradient '
            f'(shape {inp.value.shape}). Return an array of the input\'s shape.')
    if type(g) is not np.ndarray:
        if isinstance(g, TensorNode):
            raise OpDefinitionError(
                f'{op.__name__}.backward returned a TensorNode; backward works on plain NumPy '
                'arrays: return an array (use .value).')
        g = np.asarray(g)
        if g.dtype == object:
            raise OpDefinitionError(
                f'{op.__name__}.backward returned a {type(g).__name__}; return a NumPy array.')
    shape = inp._value.shape
    if g.shape != shape:
        if op.broadcasting:
            g = _unbroadcast(g, shape, op)
        else:
            raise OpDefinitionError(
                f'{op.__name__}.backward returned a gradient of shape {g.shape} for an input of '
                f'shape {shape}. A gradient must have the shape of its input.')
    dtype = inp._value.dtype
    if g.dtype != dtype:
        g = g.astype(dtype)   # -- gradients keep their node's dtype: no silent float64 upcast
    return g


def _unbroadcast(g, shape, op=None):
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
            f'to its input\'s shape {shape}.')
    return np.asarray(g)     # -- a sum over every axis is a NumPy scalar


def _check_saved(opnode):
    """An input changed in place since forward: fail if the op saved that very array."""
    saved = [v for v in opnode.context.values() if isinstance(v, np.ndarray)] \
        if opnode.context else []
    versions = opnode._versions or (0,) * len(opnode.inputs)
    for inp, version in zip(opnode.inputs, versions):
        # -- may_share_memory: the op may have saved a view of the input (x.reshape(-1))
        if inp._version != version and any(np.may_share_memory(v, inp._value) for v in saved):
            raise SavedArrayModifiedError(
                f'{opnode.op.__name__}: the value of an input (shape {inp._value.shape}) was '
                f'changed in place after the forward pass, but the op saved it for backward. '
                'Update parameters after backward() (as the training loop does), or compute '
                'the forward again.')


def _check_saved_output(opnode, out):
    """An output changed in place since forward: fail if the op saved it (Exp, Sigmoid, ...)."""
    saved = opnode.context.values() if opnode.context else ()
    if any(v is out._value for v in saved):
        raise SavedArrayModifiedError(
            f'{opnode.op.__name__}: its output (shape {out._value.shape}) was changed in place '
            'after the forward pass, but the op saved it for backward. Compute a new node '
            '(y = y * 2) instead of changing y.value in place.')


def _checksums(opnode):
    """Under detect_anomaly(): a checksum of each input array the op saved, by position."""
    saved = opnode.context.values()
    return tuple(
        zlib.crc32(np.ascontiguousarray(inp._value).view(np.uint8).reshape(-1))
        if any(v is inp._value for v in saved) else None
        for inp in opnode.inputs)


def _check_checksums(opnode):
    for inp, before, after in zip(opnode.inputs, opnode.checksums, _checksums(opnode)):
        if before is not None and before != after:
            raise SavedArrayModifiedError(
                f'{opnode.op.__name__}: an input array it saved (shape {inp._value.shape}) was '
                f'written to after the forward pass at {opnode.created_at} (found by '
                'detect_anomaly\'s checksums). Change arrays only after backward() has run.')


class Context(dict):
    """
    The dict an Op's forward uses to remember what its backward needs.

    `context.needs_input_grad` is a tuple with one bool per input: an op may skip the work for
    gradients nobody needs (the data batch of a training step, for example).
    """
    __slots__ = ('needs_input_grad',)


class OpNode:
    """
    One application of an Op to some inputs: a diamond in the drawings of the graph.

    :ivar op: the Op class (Add, Sigmoid, ...).
    :ivar context: the dict in which the op's forward saved what its backward needs.
    :ivar inputs: the TensorNodes the op was applied to.
    :ivar outputs: the TensorNodes it produced.
    """

    __slots__ = ('op', 'context', 'inputs', '_outputs', '_out_meta', '_versions', 'created_at',
                 'checksums', '__weakref__')

    def __init__(self, op, context, inputs):
        self.op = op
        self.context = context
        self.inputs = inputs
        self._outputs = None
        # -- The outputs are left None at first: the output nodes need this OpNode as their
        #    source, so it must exist before them. Op.do_forward connects them right after.
        self._out_meta = ()
        self._versions = None    # -- the inputs' versions in forward; None: all were 0
        self.created_at = None   # -- 'file:line' of the user's code, under detect_anomaly()
        self.checksums = None    # -- of the saved input arrays, under detect_anomaly()

    @property
    def outputs(self):
        """
        The output TensorNodes. The op node holds them by weak reference, so the graph has no
        reference cycles and is freed as soon as the loss is no longer referenced. An output the
        user dropped reads as None.
        """
        refs = self._outputs
        if refs is None:
            return None
        if type(refs) is not tuple:
            return [refs()]      # -- one output: the weak reference itself, without a tuple
        return [ref() for ref in refs]

    @outputs.setter
    def outputs(self, nodes):
        self._outputs = tuple([weakref.ref(n) for n in nodes])
        # -- Shapes are kept for ops with several outputs: one of them may be dropped by the
        #    user, and its gradient is then zeros of that shape. (The only output of a
        #    single-output op is always alive when backward reaches the op.)
        self._out_meta = tuple([(n._value.shape, n._value.dtype) for n in nodes])

    def __repr__(self):
        return f'OpNode({self.op.__name__}, {len(self.inputs)} input(s))'


def _new_node(value, source, requires_grad):
    """Make a TensorNode for an op's output, skipping the checks a user's value needs."""
    node = _node_new(TensorNode)
    node._value = value
    node.source = source
    node.name = None
    node.requires_grad = requires_grad
    node._grad = None
    node._version = 0
    return node


_node_new = object.__new__


def _wrap_constants(op, inputs):
    """The inputs as nodes: numbers and arrays become TensorNodes that require no gradient."""
    like = None
    for x in inputs:
        if isinstance(x, TensorNode):
            like = x._value.dtype
            break
    return tuple([x if isinstance(x, TensorNode) else _as_node(x, op, like) for x in inputs])


_needs = {}          # -- interned needs_input_grad tuples


def _as_node(x, op, like):
    """Wrap a constant (number or array) as a TensorNode that requires no gradient."""
    if isinstance(x, np.ndarray):
        return _new_node(x, None, False)
    kind = type(x)
    if kind is float or kind is int:
        # -- A Python number takes the dtype NumPy would give it next to the node values, so
        #    that `x * 2.0` stays float32 when x is float32 (NumPy's rule for Python scalars).
        if like is not None and (like.kind in 'fc' or (like.kind in 'iu' and kind is int)):
            return _new_node(np.asarray(x, dtype=like), None, False)
        return _new_node(np.asarray(x), None, False)
    if isinstance(x, (bool, np.number, np.bool_)):
        return _new_node(np.asarray(x), None, False)
    if isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError):
            arr = None
        if arr is not None and arr.dtype != object:
            return _new_node(arr, None, False)
    raise InputTypeError(
        f'{op.__name__}: got an input of type {type(x).__name__}; an input must be a TensorNode, '
        'a NumPy array or a number.')


class Op:
    """
    An operation: a forward that computes output arrays from input arrays, and a backward that
    computes the gradients of the loss with respect to the inputs from those with respect to
    the outputs.

    An Op is a class with only static methods. We never instantiate it: the class itself bundles
    the forward and the backward, and `do_forward` applies it to nodes. To write a new op,
    subclass Op and give it the two static methods:

        class Square(Op):
            @staticmethod
            def forward(context, x):
                context['x'] = x
                return x * x

            @staticmethod
            def backward(context, go):
                return go * 2 * context['x']     # d(x^2)/dx = 2x, times the upstream gradient

        y = Square.do_forward(x)
    """

    # -- Set True in ops whose forward broadcasts its inputs as NumPy does (Add, Multiply, ...):
    #    the engine then sums each gradient back to its input's shape, in one place.
    broadcasting = False

    @classmethod
    def do_forward(cls, *inputs, **constants):
        """
        Apply the op to some TensorNodes (or constants: arrays and numbers) and return the output
        node(s). The keyword arguments are passed to forward as constants: no gradient is
        computed for them.

        This unwraps the values, calls forward() on the raw arrays, and, unless no input needs
        a gradient or we are inside `no_grad()`, records an OpNode linking inputs and outputs.
        """
        nodes = inputs
        for x in inputs:
            if type(x) is not TensorNode and not isinstance(x, TensorNode):
                nodes = _wrap_constants(cls, inputs)   # -- numbers and arrays become constants
                break

        needs = tuple([n.requires_grad for n in nodes])
        record = _state['grad_enabled'] and True in needs
        context = Context()
        # -- one shared tuple per pattern: the graph keeps one per op node
        if not record:
            needs = (False,) * len(nodes)
        context.needs_input_grad = _needs.setdefault(needs, needs)

        values = [n._value for n in nodes]
        try:
            outputs_raw = cls.forward(context, *values, **constants)
        except ValueError as e:
            if cls.broadcasting:
                shapes = ' and '.join(str(v.shape) for v in values)
                raise ShapeError(
                    f'{cls.__name__}: shapes {shapes} do not broadcast together ({e}). '
                    'Broadcasting aligns shapes from the right; each pair of sizes must be '
                    'equal or one of them 1. Reshape or transpose an input first.') from None
            raise
        except TypeError as e:
            # -- NumPy's dtype errors (no ufunc loop, boolean subtract, ...) are the user's
            #    input's fault; any other TypeError is a bug in the op and goes up as it is
            if ('ufunc' not in type(e).__name__.lower() and 'ufunc' not in str(e)
                    and not any(v.dtype == bool for v in values)):
                raise
            dtypes = ' and '.join(str(v.dtype) for v in values)
            raise InputTypeError(
                f'{cls.__name__}: NumPy cannot apply this op to inputs of dtype {dtypes} ({e}). '
                'Convert them first, e.g. x.astype(np.float32).') from None

        single = type(outputs_raw) is not tuple
        if single:
            outputs_raw = (outputs_raw if type(outputs_raw) is np.ndarray
                           else np.asarray(outputs_raw),)
        else:
            outputs_raw = tuple([o if type(o) is np.ndarray else np.asarray(o)
                                 for o in outputs_raw])

        if _state['anomaly']:
            for o in outputs_raw:
                if _is_float(o.dtype) and not np.all(np.isfinite(o)):
                    raise AnomalyError(
                        f'{cls.__name__}.forward produced a non-finite value (NaN or inf), '
                        f'output shape {o.shape}, called at {_user_frame()}.')

        if not record:
            outputs = [_new_node(o, None, False) for o in outputs_raw]
            return outputs[0] if single else outputs

        opnode = OpNode(cls, context, nodes)
        versions = tuple([n._version for n in nodes])
        if any(versions):        # -- kept only when needed: fewer objects per op node
            opnode._versions = versions
        if _state['anomaly']:
            opnode.created_at = _user_frame()
            opnode.checksums = _checksums(opnode)
        if single:
            o = outputs_raw[0]
            out = _new_node(o, opnode, o.dtype.kind in 'fc')
            opnode._outputs = weakref.ref(out)
            return out
        outputs = [_new_node(o, opnode, o.dtype.kind in 'fc') for o in outputs_raw]
        opnode.outputs = outputs
        return outputs

    @staticmethod
    def forward(context, *inputs, **constants):
        """
        Compute the output(s) from the inputs.

        :param context: A dict in which to store anything backward will need.
        :param inputs: The input values: plain NumPy arrays, not nodes.
        :param constants: Keyword arguments that are not nodes; they get no gradient.
        :return: One array, or a tuple of arrays for an op with several outputs.
        """
        raise NotImplementedError

    @staticmethod
    def backward(context, *goutputs):
        """
        Compute the gradients of the loss with respect to the inputs, given those with respect
        to the outputs.

        NB: backward does _not_ compute just the local derivative: it multiplies the local
        derivative by the upstream gradient (the chain rule).

        :param context: The dict the forward filled in.
        :param goutputs: One gradient array per output, of the output's shape.
        :return: One gradient per input (a tuple if there are several), each of the input's shape.
        """
        raise NotImplementedError


class Module:
    """
    A module combines parameter tensors with a method that computes a function of them (built
    from ops). Modules have a forward() but no backward(): the ops they use each have their own.

    Parameters (leaf TensorNodes that require gradients) and sub-modules assigned as attributes,
    also inside lists, tuples and dicts, are found automatically, so `parameters()` needs no
    writing; a hand-written `parameters()` (as in the course text) keeps working too.
    """

    training = True

    def __init__(self):
        pass

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'{type(self).__name__} must define forward().')

    # -- We alias forward() with the magic method __call__, so the module instance is callable
    #    like a function: `mlp(input)` runs `mlp.forward(input)`.
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _children(self):
        """(name, value) for attributes that are parameters, modules or containers of them."""
        for name, value in vars(self).items():
            if isinstance(value, (TensorNode, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    if isinstance(v, (TensorNode, Module)):
                        yield f'{name}.{i}', v
            elif isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, (TensorNode, Module)):
                        yield f'{name}.{k}', v

    def named_parameters(self, prefix=''):
        """
        (name, node) for every parameter of this module and its sub-modules, each once: a
        module's own parameters first, then its sub-modules', in the order they were assigned.
        """
        seen = set()
        stack = [(prefix, self)]
        out = []
        while stack:
            pre, module = stack.pop()
            subs = []
            for name, value in module._children():
                full = f'{pre}{name}'
                if isinstance(value, Module):
                    subs.append((full + '.', value))
                elif value.source is None and value.requires_grad and id(value) not in seen:
                    seen.add(id(value))
                    out.append((full, value))
            stack.extend(reversed(subs))    # -- popped in assignment order
        return out

    def parameters(self):
        """
        The parameters of this module: the nodes kept between training steps and updated by
        learning. A list of TensorNodes.
        """
        return [p for _, p in self.named_parameters()]

    def modules(self):
        """This module and every sub-module in it, each once, parents before children."""
        out, seen, stack = [], set(), [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append(m)
            stack.extend(reversed([v for _, v in m._children() if isinstance(v, Module)]))
        return out

    def train(self, mode=True):
        """Put this module and its sub-modules in training mode (Dropout drops)."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        """Put this module and its sub-modules in evaluation mode (Dropout passes through)."""
        return self.train(False)

    def zero_grad(self):
        """Set the gradients of all parameters to zero."""
        for p in self.parameters():
            p._grad = None

    def state_dict(self):
        """A dict from parameter name to a copy of its array."""
        return {name: p.value.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state, strict=True):
        """
        Copy arrays into the parameters, by name. With strict=True (the default) the names and
        shapes must match exactly.
        """
        params = dict(self.named_parameters())
        if strict:
            missing = sorted(set(params) - set(state))
            unexpected = sorted(set(state) - set(params))
            if missing or unexpected:
                raise KeyError(f'load_state_dict: missing keys {missing}, unexpected keys '
                               f'{unexpected}.')
        for name, p in params.items():
            if name not in state:
                continue
            arr = np.asarray(state[name])
            if arr.shape != p.value.shape:
                raise ShapeError(f'load_state_dict: {name} has shape {arr.shape} in the state but '
                                 f'{p.value.shape} in the module.')
            p.value = arr.astype(p.value.dtype, copy=True)
            p._grad = None

    def save(self, path):
        """Save the parameters to an .npz file, atomically (a temporary file, then a rename)."""
        import tempfile
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, suffix='.npz.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                np.savez(f, **self.state_dict())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load(self, path, strict=True):
        """Load parameters saved by save(path)."""
        with np.load(os.fspath(path)) as data:
            self.load_state_dict({k: data[k] for k in data.files}, strict=strict)
        return self


# ---------------------------------------------------------------------- the three main ops

class Add(Op):
    """
    Element-wise addition, with NumPy broadcasting.
    """
    broadcasting = True

    @staticmethod
    def forward(context, a, b):
        return a + b    # -- this is where the addition of c = a + b happens

    @staticmethod
    def backward(context, go):
        return go, go
        # -- d(a + b)/da = 1 and d(a + b)/db = 1, so both inputs get the upstream gradient as it
        #    is. (The engine sums it back over broadcast dimensions.)


class Sub(Op):
    """
    Element-wise subtraction, with NumPy broadcasting.
    """
    broadcasting = True

    @staticmethod
    def forward(context, a, b):
        return a - b

    @staticmethod
    def backward(context, go):
        return go, (-go if context.needs_input_grad[1] else None)
        # -- d(a - b)/da = 1, d(a - b)/db = -1


class Multiply(Op):
    """
    Element-wise multiplication, with NumPy broadcasting.
    """
    broadcasting = True

    @staticmethod
    def forward(context, a, b):
        context['a'] = a
        context['b'] = b
        return a * b

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        need_a, need_b = context.needs_input_grad
        return (go * b if need_a else None), (go * a if need_b else None)
        # -- note the reversal: the local gradient wrt a is b and the local gradient wrt b is a.


class MatrixMultiply(Op):
    """
    Matrix multiplication, as np.matmul: two matrices, or stacks of matrices (the leading
    dimensions broadcast), or a vector on either side.
    """

    @staticmethod
    def forward(context, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f'MatrixMultiply: cannot multiply shapes {a.shape} and {b.shape}: '
                             'matrix multiplication needs at least one dimension on each side; '
                             'use * for a scalar.')
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(
                f'MatrixMultiply: shapes {a.shape} and {b.shape} do not fit: the last dimension of '
                f'the first ({a.shape[-1]}) must equal the '
                f'{"second-to-last" if b.ndim > 1 else "only"} dimension of the second '
                f'({b.shape[-2 if b.ndim > 1 else 0]}). Transpose one of them (x.T) if needed.')
        context['a'] = a
        context['b'] = b
        try:
            return np.matmul(a, b)
        except ValueError as e:
            raise ShapeError(f'MatrixMultiply: shapes {a.shape} and {b.shape}: {e}') from None

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        need_a, need_b = context.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            # -- the common case: dL/dA = dL/dC B^T and dL/dB = A^T dL/dC
            return (go @ b.T if need_a else None), (a.T @ go if need_b else None)
        # -- General case: treat vectors as matrices with one row (a) or one column (b), then
        #    sum the gradients back over the batch dimensions that broadcasting added.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        go2 = np.asarray(go)
        if a.ndim == 1 and b.ndim == 1:
            go2 = go2.reshape(1, 1)          # -- a dot product: a (1, n) times an (n, 1)
        elif a.ndim == 1:
            go2 = go2[..., None, :]
        elif b.ndim == 1:
            go2 = go2[..., None]
        ga = gb = None
        if need_a:
            ga = _unbroadcast(go2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if need_b:
            gb = _unbroadcast(np.swapaxes(a2, -1, -2) @ go2, b2.shape).reshape(b.shape)
        return ga, gb


# -- The other ops need Op from this module, and TensorNode's operators need them, so they are
#    imported here, at the end, once everything they use is defined.
from . import ops as _ops  # noqa: E402
