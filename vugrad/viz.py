"""
Pictures of the computation graph: Graphviz DOT text, SVG and PNG files, and notebook display.

    c = a + b
    print(c.to_dot())            # DOT text: circles for tensors, a diamond for the Add
    viz.dot_graph(c).names       # the vertex of each node: {id(a): 't0', id(c.source): 'o0', ...}
    vugrad.draw(c, 'c.svg')      # .dot, .svg, .png or .pdf, chosen by the extension
    c                            # in Jupyter: the drawing (when Graphviz is installed)
                                 # (without it: a table of name, shape, dtype, op, grad)

The drawing is the bipartite graph of the course text: every TensorNode is a circle (its name
if it has one, its shape and dtype, after backward the norm of its gradient), every OpNode a
diamond (the name of its Op), and the arrows point the way the data flows, from the inputs
through an op to its outputs.

Writing DOT text needs nothing but Python. Turning it into SVG or PNG needs the `dot` program
of Graphviz (https://graphviz.org):

    apt-get install graphviz      # Debian, Ubuntu
    brew install graphviz         # macOS
    conda install graphviz        # conda environments

-- The graph is walked iteratively with a visited set (no recursion: graphs of 100,000 ops
   exist), and nothing is computed that the picture does not show: a gradient norm is only
   read from a node whose gradient has arrived (`_grad is not None`), never allocated.
"""

import html
import os
import shutil
import subprocess
from collections import deque
from typing import NamedTuple

import numpy as np

from .core import Module, TensorNode
from .errors import InputTypeError, VugradError

__all__ = ['to_dot', 'dot_graph', 'DotGraph', 'draw', 'repr_svg', 'repr_html', 'node_pretty',
           'node_html', 'render', 'graphviz_available', 'GraphvizError', 'GraphvizNotFoundError']

INSTALL_HINT = ('Install Graphviz, which provides it: `apt-get install graphviz` (Debian, '
                'Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz` (conda); '
                'or write a .dot file instead, which needs no Graphviz.')

#: The file formats `draw` understands, by extension. Everything but .dot needs Graphviz.
FORMATS = {'.dot': 'dot', '.gv': 'dot', '.svg': 'svg', '.png': 'png', '.pdf': 'pdf'}


class GraphvizError(VugradError, RuntimeError):
    """Graphviz's `dot` program failed to turn DOT text into a picture."""


class GraphvizNotFoundError(GraphvizError):
    """A picture format was asked for, but Graphviz's `dot` program is not installed."""


# ---------------------------------------------------------------------- DOT text

_CONTROL = {c: None for c in range(32) if c != 9}


def _quote(text):
    """
    A DOT string literal: in double quotes, with backslashes and quotes escaped.

    -- In a Graphviz label a backslash starts an escape (\\n is a line break, \\N the node's
       name), so a name like 'a\\b' must be written 'a\\\\b' to be drawn as typed. Line
       breaks in the text become \\n; other control characters are dropped. A lone surrogate
       (a name like '\\ud800', which UTF-8 cannot encode) is drawn as its escape, \\ud800.
    """
    text = _encodable(text).replace('\r\n', '\n').replace('\r', '\n')
    text = text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
    return f'"{text.translate(_CONTROL)}"'


def _encodable(text):
    """str(text), with a lone surrogate (which UTF-8 cannot encode) written as its escape."""
    return str(text).encode('utf-8', 'backslashreplace').decode('utf-8')


def _format_number(x):
    return f'{x:.4g}'


def _shape_text(value):
    return 'scalar' if value.ndim == 0 else str(tuple(value.shape))


def _grad_norm(node):
    """
    The norm of a node's gradient, or None when none has arrived.

    -- `_grad`, not `.grad`: reading .grad of a node without a gradient would allocate zeros.
    """
    if node._grad is None:
        return None
    g = np.asarray(node._grad)
    return float(np.linalg.norm(g.ravel())) if g.size else 0.0


def _tensor_lines(node, show_grad, show_values, name=None):
    """The lines of a tensor node's label: name, shape and dtype, value, gradient norm."""
    value = node._value
    lines = []
    if name is None:
        name = node.name
    if name is not None and str(name) != '':
        lines.append(str(name))
    lines.append(f'{_shape_text(value)} {value.dtype}')
    if show_values and value.size == 1 and value.dtype.kind in 'biuf':
        lines.append(f'value {_format_number(value.item())}')
    norm = _grad_norm(node) if show_grad else None
    if norm is not None:
        lines.append(f'grad norm {_format_number(norm)}')
    return lines


def to_dot(node, *, collapse=None, max_nodes=200, show_grad=True, show_values=True,
           show_constants=True, module=None, rankdir='TB', labels=None):
    """
    Graphviz DOT text of the computation graph behind `node`.

    Tensor nodes are circles labelled with their name (if given), shape and dtype, their value
    if they hold a single number, and the norm of their gradient once backward has delivered
    one. Op nodes are diamonds labelled with the name of their Op. Arrows follow the data:
    input -> op -> output. Leaves that get a gradient (parameters) are filled; constants (the
    data batch, nodes that need no gradient) are dashed; `node` itself has a thick border.

        >>> a = TensorNode(np.ones((2, 2)), name='a')
        >>> b = TensorNode(np.ones((2, 2)), name='b')
        >>> dot = (a + b).to_dot()
        >>> dot.count('shape=circle'), dot.count('shape=diamond')
        (3, 1)

    :param node: The TensorNode whose graph to draw (usually the loss).
    :param collapse: Draw a module's internals as one box: a Module, a list of Modules, or a
        dict from label to Module (a list labels each box with the module's class name). The
        box stands for the ops that depend on the module's parameters and lead to an op that
        uses them; parameters used only inside are hidden. For `collapse=[mlp.layer1,
        mlp.layer2]` each Linear layer becomes one box; for `collapse=mlp` the layers and the
        activation between them become one box (an activation after the last layer stays
        outside: it cannot be told apart from the loss that follows it).
    :param max_nodes: The most nodes (circles, diamonds and boxes) to draw, nearest to `node`
        first; the rest is summarized by one '... N more nodes' node. None draws everything.
    :param show_grad: Show the norm of each gradient that backward has computed.
    :param show_values: Show the value of each tensor that holds a single number (the loss).
    :param show_constants: Draw the constant inputs (data batches, numbers) too.
    :param module: A Module whose parameters are labelled with their names in it
        (`hidden.0.w`, `output.b`) instead of their own names (`w`, `b`).
    :param rankdir: Graphviz's direction of the layout: 'TB' (top to bottom), 'LR', 'BT', 'RL'.
    :param labels: A dict from TensorNode to the name to show for it, before its name in
        `module` and its own (a step-through of backward names nodes this way).
    :return: The DOT text, a str. `dot_graph` gives it with the name of each node's vertex.
    """
    return dot_graph(node, collapse=collapse, max_nodes=max_nodes, show_grad=show_grad,
                     show_values=show_values, show_constants=show_constants, module=module,
                     rankdir=rankdir, labels=labels).text


class DotGraph(NamedTuple):
    """
    The DOT text of a drawing, and the vertex that stands for each node drawn in it.

    names: ``{id(node): vertex name}`` for every TensorNode and OpNode drawn; an op inside a
    collapsed box has the box's name. Hidden tensors and nodes cut off by max_nodes are not
    in it. The keys are ids, valid while the nodes live (while the graph is held).
    """

    text: str
    names: dict


def dot_graph(node, *, collapse=None, max_nodes=200, show_grad=True, show_values=True,
              show_constants=True, module=None, rankdir='TB', labels=None):
    """
    The drawing of `to_dot` (the same options), with the name of each node's vertex in it.

    Vertices are named by kind, in the order they are written: tensors ``t0, t1, ...``, ops
    ``o0, ...``, collapsed boxes ``g0, ...``, and ``more`` for the count of what max_nodes cut
    off. Each is written with ``id="<name>"`` and ``class="tensor"`` (``"op"``, ``"box"``,
    ``"more"``), and each arrow with ``id="e_<from>_<to>"`` (``e_t0_o0_1`` for the second arrow
    of a + a), which Graphviz's SVG gives its ``<g>`` elements: a picture rendered once can
    highlight one node or arrow by its id.

        >>> a = TensorNode(np.ones(2), name='a')
        >>> c = a * 2.0
        >>> drawn = dot_graph(c)
        >>> drawn.names[id(a)], drawn.names[id(c.source)], drawn.names[id(c)]
        ('t0', 'o0', 't2')
        >>> 't0 -> o0 [id="e_t0_o0"];' in drawn.text
        True

    :return: A DotGraph: the DOT text, and ``{id(node): vertex name}``.
    """
    modules, param_names = _check_options(node, collapse, max_nodes, rankdir, module, labels)
    tensors, ops, seen_o, consumers = _collect(node, with_consumers=bool(modules))
    groups, group_of = _groups(modules, ops, seen_o, consumers)
    hidden = _hidden(node, tensors, consumers, groups, group_of, show_constants)
    graph = _Drawn(tensors, ops, groups, group_of, hidden)
    root = ('t', id(node))
    shown, more = _cap(graph, root, max_nodes)
    names = _vertex_names(_order(graph, root, shown))
    labels = _Labels(node, show_grad, show_values, param_names)
    return DotGraph(_write(graph, names, more, labels, rankdir), _node_names(graph, names))


def _check_options(node, collapse, max_nodes, rankdir, module, labels):
    """
    Check the options of to_dot; return the modules to collapse and {id(node): name} of the
    nodes named by `labels` or `module` (labels first).
    """
    if not isinstance(node, TensorNode):
        raise InputTypeError(f'to_dot: expected a TensorNode, got {type(node).__name__}.')
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise InputTypeError(
            f'to_dot: max_nodes must be a positive int or None, got {max_nodes!r}.')
    if rankdir not in ('TB', 'LR', 'BT', 'RL'):
        raise ValueError(f"to_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}.")
    modules = _modules_to_collapse(collapse)
    if module is not None and not isinstance(module, Module):
        raise InputTypeError(f'to_dot: module must be a Module, got {type(module).__name__}.')
    param_names = {} if module is None else {id(p): n for n, p in module.named_parameters()}
    if labels is not None:
        if not isinstance(labels, dict) or not all(isinstance(k, TensorNode) for k in labels):
            raise InputTypeError('to_dot: labels must be a dict from TensorNode to name, got '
                                 f'{type(labels).__name__}.')
        param_names.update({id(k): str(v) for k, v in labels.items()})
    return modules, param_names


def _collect(root, with_consumers):
    """
    Everything behind `root`, breadth first from it: the tensor nodes, the op nodes, and for
    each tensor node the op nodes that consume it (only if `with_consumers`: collapsing needs
    them).

    -- Iterative, with a visited set keyed by id(): every node is visited once however many
       paths lead to it. The outputs of an op that do not lead to the root (the other outputs
       of a multi-output op) are drawn too, so the op shows all it produced.
    """
    tensors = [root]
    seen_t = {id(root)}
    ops = []
    seen_o = set()
    consumers = {}
    queue = deque([root])
    while queue:
        t = queue.popleft()
        op = t.source
        if op is None or id(op) in seen_o:
            continue
        seen_o.add(id(op))
        ops.append(op)
        for inp in op.inputs:
            if with_consumers:
                consumers.setdefault(id(inp), []).append(op)
            if id(inp) not in seen_t:
                seen_t.add(id(inp))
                tensors.append(inp)
                queue.append(inp)
        for out in op.outputs:
            if out is not None and id(out) not in seen_t:
                seen_t.add(id(out))
                tensors.append(out)
    return tensors, ops, seen_o, consumers


def _modules_to_collapse(collapse):
    """Normalize `collapse` to a list of (label, module)."""
    if collapse is None:
        return []
    if isinstance(collapse, Module):
        collapse = [collapse]
    if isinstance(collapse, dict):
        items = list(collapse.items())
    elif isinstance(collapse, (list, tuple)):
        items = [(type(m).__name__, m) for m in collapse]
    else:
        raise InputTypeError(
            f'to_dot: collapse must be a Module, a list of Modules or a dict from label to Module, '
            f'got {type(collapse).__name__}.')
    for label, m in items:
        if not isinstance(m, Module):
            raise InputTypeError(f'to_dot: collapse holds a {type(m).__name__}, not a Module.')
    return [(str(label), m) for label, m in items]


def _groups(modules, ops, seen_o, consumers):
    """
    For each module to collapse, the op nodes that make up its internals: those that depend on
    one of its parameters and lead to an op that uses one of its parameters directly.

    -- For a Linear layer that is its one op; for an MLP, everything from the first layer's op
       to the last layer's op. An op after the last use of a parameter (an output activation)
       cannot be told apart from the loss that follows it, so it stays outside the box.
    """
    group_of = {}     # id(op) -> group index
    groups = []       # (label, [ops], set of parameter ids)
    for label, module in modules:
        params = {id(p) for p in module.parameters() if p is not None}
        if not params:
            continue
        users = [op for op in ops if any(id(i) in params for i in op.inputs)]
        # -- downstream of the parameters: forward through consumers
        down = set()
        stack = [op for p in params for op in consumers.get(p, ())]
        while stack:
            op = stack.pop()
            if id(op) in down:
                continue
            down.add(id(op))
            for out in op.outputs:
                if out is not None:
                    stack.extend(consumers.get(id(out), ()))
        # -- upstream of (or at) the ops that use a parameter: backward through sources
        members = []
        up = set()
        stack = list(users)
        while stack:
            op = stack.pop()
            if id(op) in up:
                continue
            up.add(id(op))
            if id(op) in down and id(op) not in group_of:
                members.append(op)
            for inp in op.inputs:
                src = inp.source
                if src is not None and id(src) in seen_o:
                    stack.append(src)
        if not members:
            continue
        for op in members:
            group_of[id(op)] = len(groups)
        groups.append((label, members, params))
    return groups, group_of


def _hidden(root, tensors, consumers, groups, group_of, show_constants):
    """
    The ids of the tensors not drawn: constants (leaves that need no gradient) unless
    show_constants, and the tensors inside a collapsed box (made and used only inside it, or
    its parameters used only inside it). The root is always drawn.
    """
    hidden = set()
    for t in (tensors if groups or not show_constants else ()):
        if t is root:
            continue
        users = consumers.get(id(t), ()) if groups else ()
        if not show_constants and t.source is None and not t.requires_grad:
            hidden.add(id(t))
        elif groups and users:
            src = t.source
            inside = {group_of.get(id(op)) for op in users}
            if len(inside) == 1:
                g = next(iter(inside))
                if g is not None and ((src is not None and group_of.get(id(src)) == g)
                                      or (src is None and id(t) in groups[g][2])):
                    hidden.add(id(t))
    return hidden


class _Drawn:
    """
    The drawn graph. It has three kinds of vertex: ('t', id) tensors, ('o', id) ops and
    ('g', index) boxes. Their neighbours are worked out on demand, so that a cap on the size
    costs time in proportion to what is drawn, not to the whole graph.
    """

    def __init__(self, tensors, ops, groups, group_of, hidden):
        self.tensor = {id(t): t for t in tensors}
        self.op = {id(op): op for op in ops}
        self.groups = groups
        self.group_of = group_of
        self.hidden = hidden
        self.size = (len(tensors) - len(hidden)) + (len(ops) - len(group_of)) + len(groups)
        self.group_inputs = [self._box_inputs(g) for g in range(len(groups))]
        self.group_outputs = [self._box_outputs(g) for g in range(len(groups))]

    def _box_inputs(self, g):
        """The drawn tensors that go into box g from outside it, in order, each once."""
        ends = {}
        for op in self.groups[g][1]:
            for t in op.inputs:
                src = t.source
                from_inside = src is not None and self.group_of.get(id(src)) == g
                if id(t) not in self.hidden and not from_inside:
                    ends.setdefault(('t', id(t)))
        return list(ends)

    def _box_outputs(self, g):
        """The drawn tensors that the ops of box g make, in order, each once."""
        ends = {}
        for op in self.groups[g][1]:
            for t in op.outputs:
                if t is not None and id(t) in self.tensor and id(t) not in self.hidden:
                    ends.setdefault(('t', id(t)))
        return list(ends)

    def vertex_of_op(self, op):
        g = self.group_of.get(id(op))
        return ('o', id(op)) if g is None else ('g', g)

    def preds(self, v):
        """The vertices with an arrow into v, in order (an input used twice: twice)."""
        kind, key = v
        if kind == 't':
            src = self.tensor[key].source
            return [] if src is None or id(src) not in self.op else [self.vertex_of_op(src)]
        if kind == 'o':
            return [('t', id(i)) for i in self.op[key].inputs if id(i) not in self.hidden]
        return self.group_inputs[key]

    def succs(self, v):
        """The vertices v has an arrow into, in order."""
        kind, key = v
        if kind == 'o':
            return [('t', id(o)) for o in self.op[key].outputs
                    if o is not None and id(o) in self.tensor and id(o) not in self.hidden]
        if kind == 'g':
            return self.group_outputs[key]
        return []


def _cap(graph, root, max_nodes):
    """
    The vertices to draw ({vertex: index}, in the order found) and how many are left out.

    -- Breadth first from the root, against the arrows and with them: what is drawn is what is
       nearest the root (for a loss: the last layers).
    """
    limit = graph.size if max_nodes is None else max_nodes
    shown = {root: 0}
    queue = deque([root])
    while queue and len(shown) < limit:
        v = queue.popleft()
        for w in graph.preds(v) + graph.succs(v):
            if w not in shown:
                shown[w] = len(shown)
                queue.append(w)
                if len(shown) >= limit:
                    break
    return shown, graph.size - len(shown)


def _order(graph, root, shown):
    """
    The shown vertices in the order they are written.

    -- Depth first from the root against the arrows, each vertex after its inputs (in the order
       of the op's inputs), so that Graphviz places a before b in a + b. Outputs that do not
       lead to the root come last, in the order found.
    """
    emit, done = [], set()
    stack = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            emit.append(v)
            continue
        if v in done:
            continue
        done.add(v)
        stack.append((v, True))
        for w in reversed(graph.preds(v)):
            if w in shown and w not in done:
                stack.append((w, False))
    return emit + [v for v in shown if v not in done]


def _vertex_names(emit):
    """{vertex: name} by kind and order: tensors t0, t1, ..., ops o0, ..., boxes g0, ..."""
    count = {'t': 0, 'o': 0, 'g': 0}
    names = {}
    for v in emit:
        names[v] = f'{v[0]}{count[v[0]]}'
        count[v[0]] += 1
    return names


def _node_names(graph, names):
    """{id(node): vertex name} for the drawn TensorNodes and OpNodes; ops in a box: the box."""
    out = {}
    for (kind, key), name in names.items():
        if kind == 'g':
            out.update((id(op), name) for op in graph.groups[key][1])
        else:
            out[key] = name
    return out


# ---------------------------------------------------------------------- writing DOT text

class _Labels(NamedTuple):
    """What the labels show: the root (thick), gradients, values, the parameters' names."""

    root: TensorNode
    show_grad: bool
    show_values: bool
    param_names: dict


def _write(graph, names, more, labels, rankdir):
    """
    The DOT text: the vertices in the order of `names`, the '... N more nodes' node, the edges.
    """
    lines = ['digraph vugrad {',
             f'  rankdir={rankdir};',
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [arrowsize=0.7];']
    lines += [_vertex_line(graph, v, name, labels) for v, name in names.items()]
    if more:
        text = f'... {more} more node' + ('s' if more != 1 else '')
        lines.append(f'  more [shape=box, style=dashed, color="#777777", label={_quote(text)}'
                     f'{_ids("more", "more")}];')
    lines += _edge_lines(graph, names, more)
    lines.append('}')
    return '\n'.join(lines) + '\n'


def _ids(name, kind):
    """The attributes that name a vertex in the SVG: <g id="name" class="node kind">."""
    return f', id="{name}", class="{kind}"'


def _vertex_line(graph, v, name, labels):
    """The DOT line of one vertex: a circle for a tensor, a diamond for an op, a box for a box."""
    kind, key = v
    if kind == 't':
        t = graph.tensor[key]
        label = '\n'.join(_tensor_lines(t, labels.show_grad, labels.show_values,
                                        labels.param_names.get(key)))
        style = ''
        if t.source is None and t.requires_grad:
            style = ', style=filled, fillcolor="#dbe9f6"'
        elif t.source is None:
            style = ', style=dashed, color="#777777", fontcolor="#444444"'
        if t is labels.root:
            style += ', penwidth=2'
        return (f'  {name} [shape=circle, margin=0.02, label={_quote(label)}{style}'
                f'{_ids(name, "tensor")}];')
    if kind == 'o':
        op = graph.op[key]
        label = getattr(op.op, '__name__', str(op.op))
        return (f'  {name} [shape=diamond, style=filled, fillcolor="#fde8c8", '
                f'label={_quote(label)}{_ids(name, "op")}];')
    label, members, _ = graph.groups[key]
    count = f'{len(members)} op' + ('s' if len(members) != 1 else '')
    return (f'  {name} [shape=box, style="rounded,filled", fillcolor="#e2f0d9", '
            f'label={_quote(label + chr(10) + count)}{_ids(name, "box")}];')


def _edge_lines(graph, names, more):
    """
    The DOT lines of the arrows, each with a unique id: e_<from>_<to>, then _1, _2, ...

    -- Into every op or box from its inputs, out of it to its outputs. An op that uses a tensor
       twice (a + a) gets two arrows from it. Vertices whose inputs were cut off by max_nodes
       get a dashed arrow from the '... more' node.
    """
    lines, count, cut = [], {}, []

    def edge(a, b, style=''):
        k = count.get((a, b), 0)
        count[(a, b)] = k + 1
        lines.append(f'  {a} -> {b} [{style}id="e_{a}_{b}' + (f'_{k}' if k else '') + '"];')

    for v, name in names.items():
        ins = graph.preds(v)
        if any(w not in names for w in ins):
            cut.append(name)
        if v[0] == 't':
            continue
        for w in ins:
            if w in names:
                edge(names[w], name)
        for w in graph.succs(v):
            if w in names:
                edge(name, names[w])
    if more:
        for name in cut:
            edge('more', name, 'style=dashed, ')
    return lines


# ---------------------------------------------------------------------- running Graphviz

def graphviz_available():
    """True when Graphviz's `dot` program is on the PATH."""
    return shutil.which('dot') is not None


def render(dot_text, format='svg', timeout=60):
    """
    Run Graphviz's `dot` on DOT text and return the picture as bytes.

    :param format: Any output format of `dot -T`: 'svg', 'png', 'pdf', ...
    :raises GraphvizNotFoundError: when `dot` is not installed (the message says how to).
    :raises GraphvizError: when `dot` fails.
    """
    program = shutil.which('dot')
    if program is None:
        raise GraphvizNotFoundError(
            f'Drawing a graph as {format} needs the `dot` program of Graphviz, which is not on '
            f'the PATH. {INSTALL_HINT}')
    try:
        result = subprocess.run([program, f'-T{format}'], input=dot_text.encode('utf-8'),
                                capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f'Graphviz took longer than {timeout} s to lay out the graph; draw '
                            'fewer nodes with max_nodes=, or collapse= modules.') from None
    except OSError as e:
        raise GraphvizError(f'Could not run Graphviz ({program}): {e}') from None
    if result.returncode != 0:
        message = result.stderr.decode('utf-8', 'replace').strip()
        raise GraphvizError(f'Graphviz (dot -T{format}) failed with exit status '
                            f'{result.returncode}: {message}')
    return result.stdout


def draw(node, path, **options):
    """
    Draw the graph behind `node` to a file; the extension picks the format.

    `.dot` (or `.gv`) writes the DOT text and needs nothing else; `.svg`, `.png` and `.pdf` run
    Graphviz's `dot` program. The options are those of `to_dot` (collapse=, max_nodes=, ...).

        vugrad.draw(loss, 'graph.svg', collapse=[mlp.layer1, mlp.layer2])

    :return: The path written, as given.
    :raises GraphvizNotFoundError: for a picture format when Graphviz is not installed.
    :raises ValueError: for an extension not in .dot, .gv, .svg, .png, .pdf.
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f'draw: cannot tell the format from the extension {ext!r} of {path!r}; '
                         f'use one of {", ".join(FORMATS)}.')
    dot_text = to_dot(node, **options)
    if FORMATS[ext] == 'dot':
        with open(path, 'w', encoding='utf-8') as f:
            f.write(dot_text)
    else:
        data = render(dot_text, FORMATS[ext])
        with open(path, 'wb') as f:
            f.write(data)
    return path


def repr_svg(node, **options):
    """
    The graph behind `node` as SVG text, or None when Graphviz is not installed or fails.

    TensorNode's `_repr_svg_` calls this, so that Jupyter shows a node as its graph; when it
    returns None, Jupyter falls back to the node's text repr.
    """
    if not graphviz_available():
        return None
    try:
        return render(to_dot(node, **options), 'svg').decode('utf-8')
    except GraphvizError:
        return None


# ---------------------------------------------------------------------- notebook display

def _summary(node):
    """(name, shape, dtype, source op, grad norm) of a node, as text, for its notebook display."""
    name = '' if node.name is None else _encodable(node.name)
    source = ('none (a leaf)' if node.source is None
              else getattr(node.source.op, '__name__', str(node.source.op)))
    norm = _grad_norm(node)
    grad = (_format_number(norm) if norm is not None else
            'no grad' if node.requires_grad else 'constant (no grad)')
    return name, _shape_text(node._value), str(node._value.dtype), source, grad


def node_pretty(node):
    """
    A node as a few lines of plain text: name, shape, dtype, the op that made it, the norm of
    its gradient (or 'no grad' before backward). TensorNode's `_repr_pretty_` prints this, so
    IPython shows it where it shows text.
    """
    name, shape, dtype, source, grad = _summary(node)
    head = f'TensorNode {name!r}' if name else 'TensorNode'    # -- quoted, line breaks as \\n
    return '\n'.join([head, f'  shape      {shape}', f'  dtype      {dtype}',
                       f'  source op  {source}', f'  grad norm  {grad}'])


def node_html(node):
    """
    A node as a short HTML table (name, shape, dtype, source op, grad norm), every value escaped.
    TensorNode's `_repr_html_` offers it only when Graphviz is missing: Jupyter prefers HTML to
    SVG, and the drawing says more.
    """
    name, *rest = _summary(node)
    rows = zip(('name', 'shape', 'dtype', 'source op', 'grad norm'), [name or '-', *rest])
    cells = ''.join(f'<tr><th style="text-align:left">{k}</th><td style="text-align:left">'
                    f'{html.escape(v)}</td></tr>' for k, v in rows)
    return f'<table class="vugrad-node"><caption>TensorNode</caption>{cells}</table>'


def repr_html(node):
    """node_html(node) when Graphviz is missing, else None (Jupyter then shows the SVG)."""
    return None if graphviz_available() else node_html(node)
