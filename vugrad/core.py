"""
The core of the autodiff system: the two kinds of node that make up a computation graph
(TensorNodes and OpNodes), the class definition of an Op, the backward pass that walks the
graph, the Module base class, and the four main ops.

A computation graph is bipartite. A TensorNode (a circle in the drawings) holds a value; an
OpNode (a diamond) records that an Op turned some TensorNodes into others. Calling an Op builds
the graph as a side effect; calling `loss.backward()` walks it from the loss back to the leaves.

The four main ops (Add, Sub, Multiply, MatrixMultiply) live at the bottom of this file; the
others are in the `vugrad.ops` package. The checks the engine makes along the way (bad input,
saved arrays changed in place, NaNs under anomaly mode, gradients of the wrong shape) are short
calls into `vugrad.checks`; grad mode and anomaly mode live in `vugrad.modes`.
"""

import weakref

import numpy as np

from . import checks
from .modes import (detect_anomaly, enable_grad, get_default_dtype, is_grad_enabled,  # noqa: F401
                    no_grad, set_default_dtype)
from .state import ModuleState


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
        float node does, and an integer or boolean node is a constant.
    """

    __slots__ = ('_value', 'source', 'name', 'requires_grad', '_grad', '_version', '_base',
                 '__weakref__')

    # -- Tells NumPy to leave `array + node` to us: NumPy then returns NotImplemented and Python
    #    calls node.__radd__(array), which builds a graph node instead of an array of objects.
    __array_ufunc__ = None

    def __init__(self, value, source=None, name=None, requires_grad=None):
        if type(value) is not np.ndarray:
            value = checks.as_array(value)
        kind = value.dtype.kind
        if kind not in 'biuf':
            checks.numeric(value)
        floating = kind == 'f'
        if requires_grad is None:
            requires_grad = floating
        elif requires_grad and not floating:
            checks.fail_requires_grad(value)
        if source is None and requires_grad and not value.flags.writeable:
            value = value.copy()     # -- a parameter must be updatable in place (p.value -= ...)
        self._value = value
        self.source = source     # the OpNode that produced this node, None for a leaf
        self.name = name
        self.requires_grad = requires_grad
        self._grad = None        # allocated only when a gradient arrives (or is read)
        self._version = 0         # counts in-place changes of the value (see the setter)
        self._base = None         # the node whose array this node's value is a view of

    # -- value is a property so that an in-place update `node.value -= x` (which Python runs as
    #    `node.value = node.value.__isub__(x)`) can be noticed: an array an op saved for its
    #    backward must not change behind its back.
    @property
    def value(self):
        """The NumPy array this node holds."""
        return self._value

    @value.setter
    def value(self, new):
        if new is self._value:
            checks.changed_in_place(self)    # -- the same array: count the change
        else:
            self._value = np.asarray(new)

    @property
    def grad(self):
        """
        The gradient of the loss with respect to this node's value: an array of the value's
        shape. It reads as zeros until backward() delivers a gradient.

        -- No zero array is stored at creation: most nodes live and die without ever being read.
        """
        if self._grad is None:
            checks.has_gradient(self)
            return np.zeros(self._value.shape, dtype=self._value.dtype)
        return self._grad

    @grad.setter
    def grad(self, g):
        self._grad = None if g is None else np.asarray(g)

    def size(self, dim=None):
        """The shape of the value as a tuple, or the size of dimension `dim`."""
        return self._value.shape if dim is None else self._value.shape[dim]

    shape = property(lambda self: self._value.shape)
    ndim = property(lambda self: self._value.ndim)
    dtype = property(lambda self: self._value.dtype)

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        """The rows (the slices along the first axis), as nodes of the graph: `for row in x`."""
        if self._value.ndim == 0:
            raise TypeError('iteration over a 0-d TensorNode: it has no rows; use .item().')
        return (self[i] for i in range(len(self._value)))

    def __bool__(self):
        return bool(checks.one_element(self, 'bool'))

    def __float__(self):
        return float(checks.one_element(self, 'float'))

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

    # ------------------------------------------------------------------ the backward pass

    def backward(self, gradient=None, trace=None):
        """
        Compute the gradient of this node with respect to every node it depends on, and add it
        to their `.grad`.

        :param gradient: The gradient to start from. Leave it None for a scalar loss (it is 1).
            For a non-scalar node give an array of its shape (a vector-Jacobian product).
        :param trace: Leave it None. `vugrad.trace_backward(loss)` passes a recorder here to
            show this walk step by step.
        """
        # -- pending[node] is the sum of the gradients that have reached `node` so far. A node's
        #    sum is complete once every op that used it has been visited: the topological order
        #    guarantees that, by visiting every op before the ops that produced its inputs.
        pending = {self: checks.start_gradient(self, gradient)}
        for opnode in reverse_topological_order(self):
            if trace is not None:
                trace.step(opnode, pending)         # -- a step-through records what happens
            ginputs = opnode.backward(pending)      # -- takes its outputs' gradients from pending
            for node, g in zip(opnode.inputs, ginputs):
                if g is not None:
                    if trace is not None:
                        trace.send(opnode, node, g, pending.get(node))
                    # -- the chain rule sums over the ops that used a node: a node used twice
                    #    (y = x * x) gets both gradients, added up
                    pending[node] = g if node not in pending else np.asarray(pending[node] + g)
        # -- What is left are the leaves (nodes with no source): their sums are complete too.
        for leaf, g in checks.leaf_gradients(pending):
            leaf._add_grad(g)

    def _add_grad(self, g):
        """
        Add a complete gradient to `.grad`: gradients accumulate across backward() calls until
        zero_grad(). The first one is stored as it is.
        """
        self._grad = g if self._grad is None else np.asarray(self._grad + g)

    def zero_grad(self):
        """Set the gradient of this node and of every node below it to zero."""
        for node in _tensor_nodes(self):
            node._grad = None    # -- reads as zeros again

    def clear(self):
        """
        Disconnect the computation graph below this node, so that its memory is freed. Parameters
        stay alive: their modules hold them.
        """
        for node in _tensor_nodes(self):
            if node.source is not None:
                node.source.inputs, node.source.context = (), None
                node.source = None

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

    def __matmul__(self, other):
        return MatrixMultiply.do_forward(self, other)

    def __rmatmul__(self, other):
        return MatrixMultiply.do_forward(other, self)

    matmul = __matmul__

    def __truediv__(self, other):
        return ops.Divide.do_forward(self, other)

    def __rtruediv__(self, other):
        return ops.Divide.do_forward(other, self)

    def __neg__(self):
        return ops.Negate.do_forward(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, (int, float, np.integer, np.floating)):
            return ops.Power.do_forward(self, p=exponent)
        return ops.Pow.do_forward(self, exponent)

    def __rpow__(self, base):
        return ops.Pow.do_forward(base, self)

    def __getitem__(self, index):
        return ops.GetItem.do_forward(self, index=index)

    def sum(self, axis=None, keepdims=False):
        return ops.Sum.do_forward(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.Mean.do_forward(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.Max.do_forward(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])      # -- x.reshape((2, 3)) as well as x.reshape(2, 3)
        return ops.Reshape.do_forward(self, shape=shape)

    def transpose(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return ops.Transpose.do_forward(self, axes=axes or None)

    T = property(lambda self: ops.Transpose.do_forward(self, axes=None))

    def exp(self):
        return ops.Exp.do_forward(self)

    def log(self):
        return ops.Log.do_forward(self)

    # -- Pictures of the graph: the drawing code lives in vugrad.viz; these hand over to it.
    def to_dot(self, **options):
        """Graphviz DOT text of the graph behind this node (see vugrad.viz.to_dot)."""
        from .viz import to_dot
        return to_dot(self, **options)

    def _repr_svg_(self):
        from .viz import repr_svg
        return repr_svg(self)

    def _repr_pretty_(self, p, cycle):
        from .viz import node_pretty
        p.text(node_pretty(self))

    def _repr_html_(self):
        from .viz import repr_html
        return repr_html(self)     # -- None (not offered) when Graphviz can draw the SVG


def reverse_topological_order(root):
    """
    The OpNodes that `root` depends on through nodes requiring gradients, ordered so that every
    OpNode comes before the OpNodes that produced its inputs (an iterative depth-first search).
    """
    order, visited = [], set()
    stack = [(root.source, False)] if root.source is not None else []
    while stack:
        opnode, expanded = stack.pop()
        if expanded:
            order.append(opnode)     # -- post-order: the producers of its inputs are in already
        elif opnode not in visited:
            # -- marked when expanded, not when pushed: an op pushed by several consumers must
            #    be finished only after every producer below it.
            visited.add(opnode)
            stack.append((opnode, True))
            for node in opnode.inputs:
                if node.requires_grad and node.source is not None:
                    stack.append((node.source, False))
    order.reverse()
    return order


def _as_nodes(op, inputs):
    like = None      # -- the dtype of the first node: Python numbers follow it (x * 2.0)
    for x in inputs:
        if isinstance(x, TensorNode):
            like = x._value.dtype
            break
    return tuple([x if isinstance(x, TensorNode) else _constant(op, x, like) for x in inputs])


_numbers = {}   # -- (type, number, dtype) -> its constant node, shared by the ops that use it


def _constant(op, x, like):
    """
    A constant node for a number, list or array given in place of a node. A Python number's
    node is made once and shared (its array read-only), so that `y = y * 2.0` in a loop adds
    one node per op to the graph, not two.
    """
    if type(x) not in (int, float) or not x or x != x:   # -- not zeros (0.0 == -0.0), not NaN
        return TensorNode(checks.constant_array(op, x, like), requires_grad=False)
    key = (type(x), x, like)
    node = _numbers.get(key)
    if node is None:
        if len(_numbers) >= 1024:
            _numbers.clear()
        value = checks.constant_array(op, x, like)
        value.flags.writeable = False
        node = _numbers[key] = TensorNode(value, requires_grad=False)
    return node


def _tensor_nodes(root):
    """Every TensorNode at or below `root`, each once (iterative, with a visited set)."""
    seen, stack = {root}, [root]
    while stack:
        source = stack.pop().source
        if source is not None:
            for node in source.inputs:
                if node not in seen:
                    seen.add(node)
                    stack.append(node)
    return seen


class OpNode:
    """
    One application of an Op to some inputs: a diamond in the drawings of the graph.

    :ivar op: the Op class (Add, Sigmoid, ...).
    :ivar context: the dict in which the op's forward saved what its backward needs.
    :ivar inputs: the TensorNodes the op was applied to.
    :ivar outputs: the TensorNodes it produced (None until do_forward connects them).
    """

    __slots__ = ('op', 'context', 'inputs', '_outputs', 'saved', '__weakref__')

    def __init__(self, op, context, inputs):
        self.op = op
        self.context = context
        self.inputs = inputs
        # -- The outputs are left None at first: the output nodes need this OpNode as their
        #    source, so it must exist before them. Op.do_forward connects them right after.
        self._outputs = None
        self.saved = checks.remember_inputs(self)   # -- what the saved-array checks need

    @property
    def outputs(self):
        """The output TensorNodes (an output the user no longer holds reads as None)."""
        return None if self._outputs is None else self._outputs.nodes()

    @outputs.setter
    def outputs(self, nodes):
        # -- Weak references: an output points at this OpNode as its source, so strong ones
        #    both ways would make a cycle that only Python's slow cycle collector could free.
        self._outputs = _WeakOutputs(nodes)

    def backward(self, pending):
        """
        Take the complete gradients of this op's outputs from `pending` (and store them in the
        outputs' .grad), call the op's backward with them, and return one gradient per input
        (None for an input that needs none), each of its input's shape and dtype.
        """
        goutputs = []
        for i, out in enumerate(self.outputs):
            g = pending.pop(out, None) if out is not None else None
            if g is None:    # -- an output that did not reach the loss: zeros of its shape
                g = checks.zero_gradient(self, i)
            else:
                out._add_grad(g)
                checks.saved_output_unchanged(self, out)
            goutputs.append(g)
        checks.saved_inputs_unchanged(self)
        ginputs = self.op.backward(self.context, *goutputs)     # -- the op's own backward
        return checks.input_gradients(self, ginputs)

    def __repr__(self):
        return f'OpNode({self.op.__name__}, {len(self.inputs)} input(s))'


class _WeakOutputs(weakref.ref):
    """
    Weak references to an op's output nodes, held in one object: a weak reference to the first
    output that keeps weak references to any others. (One object per OpNode rather than a tuple
    of references: Python's cycle collector scans every such object while a graph grows.)
    """
    __slots__ = ('others',)

    def __new__(cls, nodes):
        ref = super().__new__(cls, nodes[0])
        ref.others = tuple(map(weakref.ref, nodes[1:])) if len(nodes) > 1 else ()
        return ref

    def nodes(self):
        return [self(), *[ref() for ref in self.others]] if self.others else [self()]


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
        for x in inputs:
            if type(x) is not TensorNode:
                inputs = _as_nodes(cls, inputs)   # -- numbers and arrays become constant nodes
                break
        # -- The context is a plain dict: the op's forward stores in it what its backward needs.
        #    'needs_input_grad' holds one bool per input, so that an op can skip the work for
        #    gradients nobody needs (the data batch of a training step, for example).
        context = {'needs_input_grad': checks.needs_input_grad(inputs)}
        values = [node._value for node in inputs]
        try:
            outputs = cls.forward(context, *values, **constants)   # -- the actual computation
        except (ValueError, TypeError) as e:
            raise checks.forward_error(cls, values, e) from None
        single = type(outputs) is not tuple
        outputs = checks.output_arrays(cls, (outputs,) if single else outputs)

        if True not in context['needs_input_grad']:   # -- nothing to differentiate: no graph
            nodes = [TensorNode(o, requires_grad=False) for o in outputs]
        else:
            opnode = OpNode(cls, context, inputs)
            nodes = [TensorNode(o, source=opnode) for o in outputs]
            opnode.outputs = nodes       # -- connect the OpNode to its outputs
            checks.link_views(nodes, inputs)
        return nodes[0] if single else nodes

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


class Module(ModuleState):
    """
    A module combines parameter tensors with a method that computes a function of them (built
    from ops). Modules have a forward() but no backward(): the ops they use each have their own.

    Parameters (leaf TensorNodes that require gradients) and sub-modules assigned as attributes,
    also inside lists, tuples and dicts, are found automatically, so `parameters()` needs no
    writing; a hand-written `parameters()` (as in the course text) keeps working too. Saving
    and loading (`state_dict`, `save`, `load`, buffers) come from `vugrad/state.py`.
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
            items = (value.items() if isinstance(value, dict) else enumerate(value)
                     if isinstance(value, (list, tuple)) else [(None, value)])
            for key, v in items:
                if isinstance(v, (TensorNode, Module)):
                    yield (name if key is None else f'{name}.{key}'), v

    def named_parameters(self, prefix=''):
        """
        (name, node) for every parameter of this module and its sub-modules, each once: a
        module's own parameters first, then its sub-modules', in the order they were assigned.
        """
        seen, out, stack = set(), [], [(prefix, self)]
        while stack:
            pre, module = stack.pop()
            subs = []
            for name, value in module._children():
                if isinstance(value, Module):
                    subs.append((f'{pre}{name}.', value))
                elif value.source is None and value.requires_grad and id(value) not in seen:
                    seen.add(id(value))
                    out.append((f'{pre}{name}', value))
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
        return [m for _, m in self._named_modules()]

    def _named_modules(self, prefix=''):
        """(prefix of names, module) for this module and each sub-module in it, each once."""
        out, seen, stack = [], set(), [(prefix, self)]
        while stack:
            pre, m = stack.pop()
            if id(m) not in seen:
                seen.add(id(m))
                out.append((pre, m))
                stack.extend(reversed([(f'{pre}{name}.', v) for name, v in m._children()
                                       if isinstance(v, Module)]))
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
            p.grad = None


# ---------------------------------------------------------------------- the four main ops

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
        # -- both inputs get the upstream gradient as it is. (The engine sums it back over
        #    broadcast dimensions.)


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
        return go, (-go if context['needs_input_grad'][1] else None)
        # -- a gets the upstream gradient, b its negation


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
        need_a, need_b = context['needs_input_grad']
        return (go * b if need_a else None), (go * a if need_b else None)
        # -- note the reversal: a's gradient multiplies by b, and b's by a.


class MatrixMultiply(Op):
    """
    Matrix multiplication, as np.matmul: two matrices, or stacks of matrices (the leading
    dimensions broadcast), or a vector on either side.
    """

    @staticmethod
    def forward(context, a, b):
        checks.matmul_shapes(a, b)
        context['a'] = a
        context['b'] = b
        return np.matmul(a, b)

    @staticmethod
    def backward(context, go):
        a, b = context['a'], context['b']
        need_a, need_b = context['needs_input_grad']
        if a.ndim == 2 and b.ndim == 2:      # -- the common case: two matrices
            return (go @ b.T if need_a else None), (a.T @ go if need_b else None)
        # -- vectors and stacks of matrices: the same products, in vugrad/ops/linalg.py
        return ops.linalg.matmul_gradients(a, b, go, need_a, need_b)


# -- The other ops need Op from this module, and TensorNode's operators need them, so they are
#    imported here, at the end, once everything they use is defined.
from . import ops  # noqa: E402
