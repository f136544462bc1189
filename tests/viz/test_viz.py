"""Tests of vugrad.viz: the DOT text, the cap, collapsing, files, notebook display."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from course import course_mlp_class
from dot_text import by_label, needs_dot, parse, shapes

import vugrad as vg
from vugrad import viz
from vugrad.core import Op, TensorNode
from vugrad.errors import InputTypeError, VugradError


@pytest.fixture
def abc():
    a = TensorNode(np.ones((2, 3)), name='a')
    b = TensorNode(np.full((2, 3), 2.0), name='b')
    return a, b, a + b


def course_step(batch=4, seed=0):
    """One step of the course's MLP (experiments/train_mlp.py: Linear, sigmoid, Linear, softmax)."""
    np.random.seed(seed)
    mlp = course_mlp_class()(input_size=2, output_size=2)
    x = np.random.randn(batch, 2).astype(np.float32)
    y = np.arange(batch) % 2
    loss = vg.celoss(mlp(x), y)
    loss.backward()
    return loss, mlp


# ---------------------------------------------------------------------- the picture of C = A + B

def test_a_plus_b_has_three_circles_one_diamond_and_the_right_edges(abc):
    a, b, c = abc
    nodes, edges = parse(c.to_dot())
    assert shapes(nodes) == {'circle': 3, 'diamond': 1}
    na, nb = by_label(nodes, 'a'), by_label(nodes, 'b')
    nadd = by_label(nodes, 'Add')
    nc = [n for n in nodes if n not in (na, nb, nadd)][0]
    assert sorted(edges) == sorted([(na, nadd), (nb, nadd), (nadd, nc)])
    assert nodes[nadd][0] == 'diamond'
    # -- name, shape and dtype in the labels; the root is marked; no gradient yet
    assert nodes[na][1] == 'a\n(2, 3) float64'
    assert nodes[nc][1] == '(2, 3) float64'
    assert 'penwidth=2' in nodes[nc][2] and 'penwidth' not in nodes[na][2]
    assert 'grad norm' not in c.to_dot()


def test_to_dot_is_the_same_as_the_method_and_deterministic(abc):
    _, _, c = abc
    assert viz.to_dot(c) == c.to_dot() == c.to_dot()


def test_gradients_appear_after_backward_without_allocating(abc):
    a, b, c = abc
    const = TensorNode(np.arange(6).reshape(2, 3))          # an integer constant
    loss = (c * c + const).sum()
    loss.to_dot()
    assert a._grad is None and c._grad is None              # drawing allocates no gradient
    loss.backward()
    nodes, _ = parse(loss.to_dot())
    # -- d/da sum((a+b)^2) = 2 (a + b) = 6 everywhere: norm 6 * sqrt(6)
    assert nodes[by_label(nodes, 'a')][1].endswith(f'grad norm {6 * np.sqrt(6):.4g}')
    loss_label = [lbl for _, lbl, _ in nodes.values() if lbl.startswith('scalar')][0]
    assert loss_label == f'scalar float64\nvalue {loss.item():.4g}\ngrad norm 1'
    const_label = [lbl for _, lbl, _ in nodes.values() if 'int' in lbl][0]
    assert 'grad' not in const_label                        # integer: no gradient, no error
    assert const._grad is None
    assert 'grad norm' not in loss.to_dot(show_grad=False)


def test_a_node_used_twice_gets_two_arrows():
    a = TensorNode(np.ones(3), name='a')
    nodes, edges = parse((a + a).to_dot())
    assert shapes(nodes) == {'circle': 2, 'diamond': 1}
    na, nadd = by_label(nodes, 'a'), by_label(nodes, 'Add')
    assert edges.count((na, nadd)) == 2


def test_a_leaf_alone_and_a_no_grad_result_are_one_circle():
    a = TensorNode(np.ones(3))
    assert shapes(parse(a.to_dot())[0]) == {'circle': 1}
    with vg.no_grad():
        c = a * 2
    nodes, edges = parse(c.to_dot())
    assert shapes(nodes) == {'circle': 1} and edges == []


def test_constants_are_dashed_and_can_be_hidden():
    x = TensorNode(np.ones((2, 2)), name='x')
    y = x * np.full((2, 2), 3.0)
    nodes, _ = parse(y.to_dot())
    assert shapes(nodes) == {'circle': 3, 'diamond': 1}
    dashed = [n for n, (_, _, attrs) in nodes.items() if 'dashed' in attrs]
    assert len(dashed) == 1 and 'x' not in nodes[dashed[0]][1]
    nodes, edges = parse(y.to_dot(show_constants=False))
    assert shapes(nodes) == {'circle': 2, 'diamond': 1} and len(edges) == 2


def test_the_other_outputs_of_a_multi_output_op_are_drawn():
    class Split(Op):
        @staticmethod
        def forward(context, x):
            return x[:2], x[2:]

        @staticmethod
        def backward(context, g1, g2):
            return np.concatenate([g1, g2])

    x = TensorNode(np.arange(5.0), name='x')
    first, second = Split.do_forward(x)
    nodes, edges = parse(first.to_dot())
    assert shapes(nodes) == {'circle': 3, 'diamond': 1}
    nsplit = by_label(nodes, 'Split')
    assert sum(1 for e in edges if e[0] == nsplit) == 2
    del second     # -- a dropped output is simply not drawn
    nodes, _ = parse(first.to_dot())
    assert shapes(nodes) == {'circle': 2, 'diamond': 1}


def test_labels_are_escaped():
    name = 'say "hi"\\n\nnext\x00'
    a = TensorNode(np.ones(2), name=name)
    dot = (a * 2.0).to_dot()
    nodes, _ = parse(dot)
    label = nodes[by_label(nodes, 'say "hi"\\n')][1]
    assert label.startswith('say "hi"\\n\nnext\n')       # quotes, backslash, line break kept
    assert '\x00' not in dot


def test_module_names_the_parameters():
    loss, mlp = course_step()
    nodes, _ = parse(loss.to_dot(module=mlp))
    for name in ('layer1.w', 'layer1.b', 'layer2.w', 'layer2.b'):
        by_label(nodes, name)
    with pytest.raises(InputTypeError):
        loss.to_dot(module='mlp')


def test_bad_options_raise():
    a = TensorNode(np.ones(2))
    with pytest.raises(InputTypeError):
        viz.to_dot(np.ones(2))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputTypeError):
            a.to_dot(max_nodes=bad)
    with pytest.raises(ValueError):
        a.to_dot(rankdir='up')
    assert 'rankdir=LR' in a.to_dot(rankdir='LR')


# ---------------------------------------------------------------------- the cap

def _chain(n):
    x = TensorNode(np.ones(3), name='x')
    y = x
    for _ in range(n):
        y = y * 1.0
    return x, y


def test_a_large_graph_is_capped_with_a_count_of_the_rest():
    _, y = _chain(300)
    everything, _ = parse(y.to_dot(max_nodes=None))
    total = len(everything)
    assert total == 300 + 301 + 1            # ops, tensors on the chain, the shared 1.0
    nodes, edges = parse(y.to_dot(max_nodes=50))
    drawn = {n: v for n, v in nodes.items() if n != 'more'}
    assert len(drawn) == 50
    assert nodes['more'][1] == f'... {total - 50} more nodes'
    assert any(e[0] == 'more' for e in edges)
    assert all(a in nodes and b in nodes for a, b in edges)
    # -- the part nearest the root is what is drawn
    assert any('penwidth=2' in attrs for _, _, attrs in drawn.values())
    # -- exactly at the size: nothing summarized
    nodes, _ = parse(y.to_dot(max_nodes=total))
    assert 'more' not in nodes and len(nodes) == total


def test_a_graph_of_100000_ops_is_walked_without_recursion():
    y = TensorNode(np.ones(3))
    for _ in range(100_000):
        y = -y                               # -- one op and one tensor per step
    nodes, _ = parse(y.to_dot())            # the default cap: 200
    assert len(nodes) == 201
    assert nodes['more'][1] == f'... {200_001 - 200} more nodes'


# ---------------------------------------------------------------------- collapsing modules

def test_collapse_a_linear_layer():
    np.random.seed(1)
    layer = vg.Linear(3, 4)
    x = np.random.randn(5, 3).astype(np.float32)
    out = vg.sigmoid(layer(x))
    nodes, edges = parse(out.to_dot(collapse=[layer]))
    assert shapes(nodes) == {'circle': 3, 'box': 1, 'diamond': 1}
    box = by_label(nodes, 'Linear')
    assert nodes[box][1] == 'Linear\n1 op'
    assert not any(lbl.split('\n')[0] in ('w', 'b') for _, lbl, _ in nodes.values())
    ins = [a for a, b in edges if b == box]
    outs = [b for a, b in edges if a == box]
    assert len(ins) == 1 and nodes[ins[0]][1].startswith('(5, 3)')    # the data batch
    assert len(outs) == 1 and nodes[outs[0]][1].startswith('(5, 4)')
    assert edges.count((outs[0], by_label(nodes, 'Sigmoid'))) == 1


def test_collapse_the_course_mlp_and_its_layers():
    loss, mlp = course_step()
    full, _ = parse(loss.to_dot())
    assert shapes(full) == {'circle': 11, 'diamond': 6}

    # -- each layer a box: the sigmoid, softmax, log and loss stay ops
    nodes, edges = parse(loss.to_dot(collapse={'layer 1': mlp.layer1, 'layer 2': mlp.layer2}))
    assert shapes(nodes) == {'circle': 7, 'box': 2, 'diamond': 4}
    b1, b2 = by_label(nodes, 'layer 1'), by_label(nodes, 'layer 2')
    sig = by_label(nodes, 'Sigmoid')
    # -- layer 1 -> hidden -> Sigmoid -> hidden -> layer 2
    h1 = [b for a, b in edges if a == b1]
    assert len(h1) == 1 and (h1[0], sig) in edges
    h2 = [b for a, b in edges if a == sig]
    assert len(h2) == 1 and (h2[0], b2) in edges

    # -- the whole MLP: its layers and the sigmoid between them (3 ops) in one box
    nodes, edges = parse(loss.to_dot(collapse=mlp))
    box = by_label(nodes, 'MLP')
    assert nodes[box][1] == 'MLP\n3 ops'
    assert shapes(nodes) == {'circle': 5, 'box': 1, 'diamond': 3}
    assert {nodes[n][1].split('\n')[0] for n in nodes if nodes[n][0] == 'diamond'} == \
        {'Softmax', 'Log', 'NLLLoss'}


def test_collapse_takes_in_every_op_that_uses_a_parameter():
    np.random.seed(2)
    layer = vg.Linear(2, 2)
    out = (layer(np.ones((1, 2), dtype=np.float32)) * layer.w).sum()
    nodes, _ = parse(out.to_dot(collapse=layer))
    # -- the Multiply uses w, so it is part of the module's box; w and b are hidden
    assert nodes[by_label(nodes, 'Linear')][1] == 'Linear\n2 ops'
    assert shapes(nodes) == {'circle': 3, 'box': 1, 'diamond': 1}
    assert not any(lbl.split('\n')[0] in ('w', 'b') for _, lbl, _ in nodes.values())


def test_collapse_of_an_unused_module_changes_nothing_and_bad_values_raise(abc):
    _, _, c = abc
    assert c.to_dot(collapse=[vg.Linear(2, 2)]) == c.to_dot()
    with pytest.raises(InputTypeError):
        c.to_dot(collapse='layer1')
    with pytest.raises(InputTypeError):
        c.to_dot(collapse=[c])


def test_collapse_and_cap_together():
    loss, mlp = course_step()
    nodes, _ = parse(loss.to_dot(collapse=mlp, max_nodes=3))
    assert len(nodes) == 4 and nodes['more'][1] == '... 6 more nodes'


# ---------------------------------------------------------------------- files and display

def test_draw_dot_works_without_graphviz(tmp_path, monkeypatch, abc):
    monkeypatch.setattr(viz.shutil, 'which', lambda name: None)
    _, _, c = abc
    path = tmp_path / 'c.dot'
    assert viz.draw(c, path) == path
    assert path.read_text(encoding='utf-8') == c.to_dot()
    vg_draw = getattr(vg, 'draw', viz.draw)
    vg_draw(c, str(tmp_path / 'c.gv'), max_nodes=2)
    assert 'more' in (tmp_path / 'c.gv').read_text()


@pytest.mark.parametrize('ext', ['.png', '.svg', '.pdf'])
def test_draw_pictures_without_graphviz_raise_a_vugrad_error(tmp_path, monkeypatch, abc, ext):
    monkeypatch.setattr(viz.shutil, 'which', lambda name: None)
    _, _, c = abc
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.draw(c, tmp_path / f'c{ext}')
    assert isinstance(info.value, VugradError)
    for hint in ('apt-get install graphviz', 'brew install graphviz', 'conda install graphviz'):
        assert hint in str(info.value)
    assert not (tmp_path / f'c{ext}').exists()
    assert viz.repr_svg(c) is None and c._repr_svg_() is None
    assert not viz.graphviz_available()


def test_draw_rejects_an_unknown_extension(tmp_path, abc):
    with pytest.raises(ValueError, match='.dot, .gv, .svg, .png, .pdf'):
        viz.draw(abc[2], tmp_path / 'c.jpeg')


def test_a_failing_dot_raises_graphviz_error(tmp_path, monkeypatch, abc):
    fake = tmp_path / 'dot'
    fake.write_text('#!/bin/sh\necho "syntax error in line 1" >&2\nexit 3\n')
    fake.chmod(0o755)
    monkeypatch.setattr(viz.shutil, 'which', lambda name: str(fake))
    with pytest.raises(viz.GraphvizError, match='exit status 3: syntax error'):
        viz.draw(abc[2], tmp_path / 'c.svg')
    assert viz.repr_svg(abc[2]) is None


def _svg_texts(svg):
    root = ET.fromstring(svg)
    return [el.text for el in root.iter() if el.tag.endswith('}text') and el.text]


@needs_dot
def test_svg_parses_and_contains_every_label(tmp_path):
    loss, mlp = course_step()
    loss.name = 'loss "total"'
    for options in ({}, {'collapse': mlp}, {'max_nodes': 6}, {'module': mlp}):
        dot = loss.to_dot(**options)
        svg = viz.render(dot, 'svg').decode('utf-8')
        texts = _svg_texts(svg)
        nodes, _ = parse(dot)
        for _, label, _ in nodes.values():
            for line in label.split('\n'):
                assert line in texts, (line, options)
    path = tmp_path / 'loss.svg'
    viz.draw(loss, path)
    ET.parse(path)


@needs_dot
def test_repr_svg_and_png(tmp_path, abc):
    _, _, c = abc
    svg = c._repr_svg_()
    assert isinstance(svg, str) and '<svg' in svg
    assert {'a', 'b', 'Add', '(2, 3) float64'} <= set(_svg_texts(svg))
    viz.draw(c, tmp_path / 'c.png')
    assert (tmp_path / 'c.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_the_examples_in_the_docstrings_run():
    import doctest
    result = doctest.testmod(viz, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


def test_names_with_lone_surrogates_are_drawn_escaped(tmp_path):
    a = TensorNode(np.ones(2), name='\ud800')
    b = TensorNode(np.ones(2), name='x\udfffy')
    dot = (a * b).to_dot()
    dot.encode('utf-8')                                   # -- no lone surrogate is left
    nodes, _ = parse(dot)
    labels = [label for _, label, _ in nodes.values()]
    assert any(label.startswith('\\ud800\n') for label in labels)
    assert any(label.startswith('x\\udfffy\n') for label in labels)
    path = viz.draw(a * b, tmp_path / 'g.dot')
    assert (tmp_path / 'g.dot').read_text(encoding='utf-8') == dot and path == tmp_path / 'g.dot'
