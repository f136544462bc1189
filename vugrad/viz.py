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
from typing import NamedTuple

import numpy as np

from . import layout
from .core import Module, TensorNode
from .errors import InputTypeError, VugradError

__all__ = ['to_dot', 'dot_graph', 'DotGraph', 'edge_id', 'draw', 'repr_svg', 'repr_html',
           'node_pretty', 'node_html', 'render', 'graphviz_available', 'GraphvizError',
           'GraphvizNotFoundError']

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
    tensors, ops, seen_o, consumers = layout.collect(node, with_consumers=bool(modules))
    groups, group_of = layout.module_groups(modules, ops, seen_o, consumers)
    hidden = layout.hidden_tensors(node, tensors, consumers, groups, group_of, show_constants)
    graph = layout.DrawnGraph(tensors, ops, groups, group_of, hidden)
    root = ('t', id(node))
    shown, more = layout.cap(graph, root, max_nodes)
    names = layout.vertex_names(layout.order(graph, root, shown))
    labels = _Labels(node, show_grad, show_values, param_names)
    return DotGraph(_write(graph, names, more, labels, rankdir), layout.node_names(graph, names))


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


def edge_id(tail, head, k=0):
    """
    The id of the arrow from vertex `tail` to vertex `head` (names as dot_graph gives them),
    the (k+1)-th between the two: e_t0_o0, then e_t0_o0_1 for the second arrow of a + a.
    """
    return f'e_{tail}_{head}' + (f'_{k}' if k else '')


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
        lines.append(f'  {a} -> {b} [{style}id="{edge_id(a, b, k)}"];')

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
