"""
Step through backward: what `loss.backward()` does, op by op, in the order the engine does it.

    trace = vugrad.trace_backward(loss)    # runs the engine's own backward, and records it
    print(trace)                           # a numbered table: each op, the gradients in and out
    trace                                  # in a notebook: the drawing, with buttons to step
    trace.to_html('steps.html')            # the same as one page for a browser

`trace_backward` calls `loss.backward(trace=...)`: the engine's one walk of the graph, which
tells the recorder (a `BackwardTrace`) two things: before each op's backward, the op and the
gradients waiting for its outputs (`step`); after it, each gradient the op sends to an input
and the sum that gradient is added to when the input has had one already (`send`). Nothing is
computed twice: the `.grad`s filled are those `loss.backward()` fills.

Each step records:
- the OpNode and its op, its inputs and outputs (names, shapes);
- the gradient arriving at each output (None for an output that did not reach the loss: the
  op then gets zeros for it);
- the gradient it sends to each input that needs one;
- every accumulation: an input that already had a gradient from another op (or from this op,
  for `x * x`) gets the sum, `pending[node] + g`.

Nodes are labelled by the names given to trace_backward (`names=`, or a parameter's name in
`module=`: `hidden.0.w`), else by their own `.name`, else by the name of a variable that holds
them where `trace_backward` was called (`c = a + b` shows as a, b and c), else as #1, #2, ...
in the order backward meets them.
"""

import sys
from dataclasses import dataclass, field

import numpy as np

from .core import Module, TensorNode
from .errors import InputTypeError

__all__ = ['BackwardTrace', 'Flow', 'Step', 'trace_backward']

#: Arrays with at most this many elements are printed; larger ones as their shape and norm.
SMALL = 12


@dataclass
class Flow:
    """A gradient an op sends to one of its inputs."""
    input: int                  # -- the position among the op's inputs
    node: TensorNode
    gradient: np.ndarray
    before: np.ndarray = None   # -- the sum the node had already (None: its first gradient)

    @property
    def total(self):
        """What the node holds after this gradient: its first one, or the sum."""
        return self.gradient if self.before is None else self.before + self.gradient


@dataclass
class Step:
    """One op's backward, as the engine ran it."""
    number: int                 # -- 1, 2, ... in the engine's order
    opnode: object
    arriving: list              # -- per output: its complete gradient, or None (zeros)
    sent: list = field(default_factory=list)      # -- Flows, in the order of the inputs

    @property
    def op(self):
        return getattr(self.opnode.op, '__name__', str(self.opnode.op))

    @property
    def accumulations(self):
        """The Flows that were added to a gradient the node had already."""
        return [f for f in self.sent if f.before is not None]


class BackwardTrace:
    """
    The record of one backward pass: `steps` (one Step per op, in the engine's order), the
    root it started from and the leaves it reached. `str(trace)` is the text table,
    `trace.to_html(path)` the page, and a notebook displays the drawing with step buttons.

    To record a backward you run yourself, pass an empty trace: `loss.backward(trace=t)`.
    """

    def __init__(self, names=None, module=None, variables=None):
        self.steps = []
        self.root = None
        self.start = None           # -- the gradient backward started from (1 for a loss)
        self._names = {}            # -- id(node) -> label given (names, module): first choice
        self._variables = {}        # -- id(node) -> a variable's name: after node.name
        self._nodes = {}            # -- id(node) -> node, so that the ids stay valid
        self._numbered = 0
        if module is not None:
            self.label_parameters(module)
        for node, name in (names or {}).items():
            self._label(node, name)
        for node, name in (variables or {}).items():
            self._label(node, name, into=self._variables)

    # ------------------------------------------------------------------ what the engine calls

    def step(self, opnode, pending):
        """Called by backward before opnode's backward: pending holds its outputs' gradients."""
        if self.root is None:       # -- the first step: pending holds only the root's gradient
            (self.root, self.start), = pending.items()
        arriving = [None if out is None or out not in pending else np.array(pending[out])
                    for out in opnode.outputs]
        self.steps.append(Step(len(self.steps) + 1, opnode, arriving))

    def send(self, opnode, node, gradient, before):
        """Called by backward for each gradient opnode sends to an input; before: its sum so far."""
        step = self.steps[-1]
        index = next(i for i, n in enumerate(opnode.inputs) if n is node and
                     all(f.input != i for f in step.sent))
        step.sent.append(Flow(index, node, np.array(gradient),
                              None if before is None else np.array(before)))

    # ------------------------------------------------------------------ labels

    def label_parameters(self, module):
        """Label the parameters of `module` by their names in it (hidden.0.w)."""
        if not isinstance(module, Module):
            raise InputTypeError(f'trace: module must be a Module, got {type(module).__name__}.')
        for name, p in module.named_parameters():
            self._label(p, name)
        return self

    def _label(self, node, name, into=None):
        if not isinstance(node, TensorNode):
            raise InputTypeError(f'trace: names maps TensorNodes to names, got a '
                                 f'{type(node).__name__}.')
        (self._names if into is None else into)[id(node)] = str(name)
        self._nodes[id(node)] = node

    def name(self, node):
        """
        The label of a node in this trace: the name given (names=, module=), else its own
        .name, else the name of a variable that holds it, else #1, #2, ...
        """
        label = self._label_of(node)
        if label is None:
            # -- number the unnamed nodes in the order backward meets them, all at once, so
            #    that a node's number does not depend on which frame is printed first
            for other in [*self._all_nodes(), node]:
                if self._label_of(other) is None:
                    self._numbered += 1
                    self._label(other, f'#{self._numbered}', into=self._variables)
            label = self._label_of(node)
        return label

    def _label_of(self, node):
        label = self._names.get(id(node))
        if label is None:
            label = str(node.name) if node.name else self._variables.get(id(node))
        return label

    def labels(self):
        """{node: label} of every node the trace has met (for the drawing)."""
        return {node: self.name(node) for node in self._all_nodes()}

    # ------------------------------------------------------------------ what it reached

    def leaves(self):
        """The leaves that received a gradient, in the order they first did, each once."""
        seen, out = set(), []
        for step in self.steps:
            for f in step.sent:
                if f.node.source is None and id(f.node) not in seen:
                    seen.add(id(f.node))
                    out.append(f.node)
        return out

    # ------------------------------------------------------------------ the text view

    def __str__(self):
        return '\n'.join(self.lines())

    def __repr__(self):
        root = 'nothing' if self.root is None else self.name(self.root)
        return f'<BackwardTrace from {root}: {len(self.steps)} steps>'

    def lines(self):
        """The text view, a list of lines: a header, then one block per frame."""
        out = [self.heading(), '']
        for frame in range(self.frame_count()):
            out += self.frame_lines(frame)
        return out

    def heading(self):
        if self.root is None:
            return 'backward: nothing to walk (the root is a leaf, or no backward was recorded)'
        ops = f'{len(self.steps)} op' + ('s' if len(self.steps) != 1 else '')
        leaves = len(self.leaves())
        return (f'backward from {self.name(self.root)} ({_shape(self.root.value)}): {ops} in '
                f'reverse topological order, then {leaves} lea' + ('f' if leaves == 1 else 'ves'))

    def frame_count(self):
        """Frames: the start, one per step, the leaves at the end."""
        return len(self.steps) + 2 if self.root is not None else 0

    def frame_lines(self, frame):
        """The lines of one frame: 0 the start, 1..n the steps, n + 1 the leaves."""
        if frame == 0:
            root = self.name(self.root)
            return [f'{0:>3}  start     {root} gets the gradient {_array(self.start)} (the '
                    f'derivative of {root} with respect to itself)']
        if frame == len(self.steps) + 1:
            leaves = self.leaves()
            if not leaves:
                return [f'{frame:>3}  end       no leaf needed a gradient']
            first, *rest = [f'{self.name(n)}.grad = {_array(n.grad)}' for n in leaves]
            return [f'{frame:>3}  leaves    {first}'] + [f'{"":15}{line}' for line in rest]
        return self._step_lines(self.steps[frame - 1])

    def _step_lines(self, step):
        opnode = step.opnode
        ins = ', '.join(self.name(n) for n in opnode.inputs)
        outs = ', '.join('(freed)' if o is None else self.name(o) for o in opnode.outputs)
        lines = [f'{step.number:>3}  {step.op:<9} {outs} = {step.op}({ins})']
        for out, g in zip(opnode.outputs, step.arriving):
            label = '(freed)' if out is None else self.name(out)
            got = 'nothing: zeros (it does not lead to the root)' if g is None else _array(g)
            lines.append(f'{"":15}arrives at {label}: {got}')
        sent = {f.input: f for f in step.sent}
        for i, node in enumerate(opnode.inputs):
            f = sent.get(i)
            if f is None:
                lines.append(f'{"":15}sends nothing to {self.name(node)} (input {i}): '
                             'it needs no gradient')
                continue
            lines.append(f'{"":15}sends to {self.name(node)} (input {i}): {_array(f.gradient)}')
            if f.before is not None:
                lines.append(f'{"":17}{self.name(node)} accumulates: {_array(f.before)} + '
                             f'{_array(f.gradient)} = {_array(f.total)}')
        return lines

    # ------------------------------------------------------------------ the picture

    def frames(self, names=None):
        """
        What each frame highlights, for the drawing: a list of dicts of lists of vertex names
        (`names` maps id(node) to its name in the drawing, as vugrad.viz.dot_graph gives):
        'op' (the op of the step), 'arriving' (outputs a gradient arrives at), 'sending'
        (inputs it sends gradients to), 'accumulating' (inputs that add it to one they had),
        'done' (tensors whose gradient is complete), plus 'text', the frame's lines.
        """
        names = names or {}

        def drawn(nodes):
            return sorted({names[id(n)] for n in nodes if n is not None and id(n) in names})

        frames, done = [], []
        for frame in range(self.frame_count()):
            marks = {'op': [], 'arriving': [], 'sending': [], 'accumulating': []}
            if frame == 0:
                marks['arriving'] = drawn([self.root])
            elif frame <= len(self.steps):
                step = self.steps[frame - 1]
                marks['op'] = drawn([step.opnode])
                marks['arriving'] = drawn(step.opnode.outputs)
                marks['sending'] = drawn(f.node for f in step.sent)
                marks['accumulating'] = drawn(f.node for f in step.accumulations)
                done += [o for o in step.opnode.outputs if o is not None]
            else:
                done += self.leaves()
                marks['arriving'] = drawn(self.leaves())
            frames.append({**marks, 'done': drawn(done), 'text': self.frame_lines(frame)})
        return frames

    def to_dot(self, **options):
        """The DOT text of the graph, with this trace's labels (options: vugrad.viz.to_dot's)."""
        return self._dot_graph(**options).text

    def _dot_graph(self, **options):
        from .viz import dot_graph
        return dot_graph(self.root, labels=self.labels(), **options)

    def _all_nodes(self):
        if self.root is not None:
            yield self.root
        for step in self.steps:
            yield from (o for o in step.opnode.outputs if o is not None)
            yield from step.opnode.inputs

    def html(self, **options):
        """The stepper as an HTML fragment (for a notebook); options: vugrad.viz.to_dot's."""
        from . import _trace_html
        return _trace_html.fragment(self, **options)

    def _repr_html_(self):
        return self.html() if self.root is not None else None

    def to_html(self, path, title=None, **options):
        """
        Write the stepper as one self-contained HTML page (inline SVG and script, nothing
        loaded from the network) that opens at `#step=N` when the address says so.
        Without Graphviz the page steps through the table. Returns the path.
        """
        from . import _trace_html
        from .fileio import atomic_write
        page = _trace_html.page(self, title=title, **options)
        with atomic_write(path, 'w', encoding='utf-8') as f:
            f.write(page)
        return path


def trace_backward(loss, gradient=None, *, module=None, names='auto'):
    """
    Run `loss.backward(gradient)` and record what it does, step by step: the engine's own
    backward fills the same `.grad`s, and the trace shows how.

        y = x * x
        trace = vugrad.trace_backward(y.sum())
        print(trace)        # x gets two gradients from the Multiply, and adds them up

    :param loss: The node to start from (a scalar, or pass `gradient`).
    :param module: A Module whose parameters are labelled with their names in it.
    :param names: 'auto' (the default) labels unnamed nodes with the names of the variables
        that hold them in the caller; a dict from TensorNode to name labels them as given;
        None uses neither.
    :return: A BackwardTrace.
    """
    if not isinstance(loss, TensorNode):
        raise InputTypeError(f'trace_backward: expected a TensorNode, got {type(loss).__name__}.')
    variables = None
    if names == 'auto':
        names, variables = None, _caller_names(sys._getframe(1))
    elif names is not None and not isinstance(names, dict):
        raise InputTypeError("trace_backward: names must be 'auto', a dict from TensorNode to "
                             f'name, or None; got {type(names).__name__}.')
    trace = BackwardTrace(names=names, module=module, variables=variables)
    loss.backward(gradient, trace=trace)
    if trace.root is None:          # -- a leaf: backward ran no op
        trace.root, trace.start = loss, (np.ones_like(loss.value) if gradient is None
                                         else np.asarray(gradient))
    return trace


def _caller_names(frame):
    """{node: variable name} of the TensorNodes held by variables in frame (not _private)."""
    found = {}
    for name, value in frame.f_locals.items():
        if isinstance(value, TensorNode) and not name.startswith('_') and value not in found:
            found[value] = name
    return found


# ---------------------------------------------------------------------- formatting arrays

def _number(x):
    return f'{x:.4g}' if isinstance(x, (float, np.floating)) else str(x)


def _shape(value):
    return 'scalar' if value.ndim == 0 else f'shape {tuple(value.shape)}'


def _array(a):
    """A small array as its values on one line; a larger one as its shape and norm."""
    a = np.asarray(a)
    if a.ndim == 0:
        return _number(a.item())
    if a.size <= SMALL:
        text = np.array2string(a, separator=', ', max_line_width=10 ** 6,
                               formatter={'all': _number})
        return ' '.join(text.split())
    return f'{_shape(a)}, norm {float(np.linalg.norm(a.ravel())):.4g}'

