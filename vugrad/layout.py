"""
What a drawing of the computation graph shows, before any DOT text is written: the nodes
behind a root, the boxes that collapse a module's ops, the tensors left out, the size cap,
the order of the vertices and their names. vugrad.viz writes the DOT text from these.

The drawn graph has three kinds of vertex: ('t', id) tensors, ('o', id) ops and ('g', index)
boxes; a vertex's name is t0, o0, g0, ... by kind, in the order written.

-- Every walk is iterative, with visited sets keyed by id() (graphs of 100,000 ops exist).
   Nothing here imports core: a node is anything with .source, .inputs and .outputs.
"""

from collections import deque


def collect(root, with_consumers):
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


def module_groups(modules, ops, seen_o, consumers):
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


def hidden_tensors(root, tensors, consumers, groups, group_of, show_constants):
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


class DrawnGraph:
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


def cap(graph, root, max_nodes):
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


def order(graph, root, shown):
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


def vertex_names(emit):
    """{vertex: name} by kind and order: tensors t0, t1, ..., ops o0, ..., boxes g0, ..."""
    count = {'t': 0, 'o': 0, 'g': 0}
    names = {}
    for v in emit:
        names[v] = f'{v[0]}{count[v[0]]}'
        count[v[0]] += 1
    return names


def node_names(graph, names):
    """{id(node): vertex name} for the drawn TensorNodes and OpNodes; ops in a box: the box."""
    out = {}
    for (kind, key), name in names.items():
        if kind == 'g':
            out.update((id(op), name) for op in graph.groups[key][1])
        else:
            out[key] = name
    return out
