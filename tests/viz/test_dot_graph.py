"""viz.dot_graph: the DOT text with a stable name (and SVG id) for every node drawn."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from course import course_mlp_class
from dot_text import needs_dot, parse

import vugrad as vg
from vugrad import layout, viz
from vugrad.core import TensorNode

_EDGE_ID = re.compile(r'^\s*(\w+) -> (\w+) \[(?:.*, )?id="([^"]*)"\];$', re.M)


def course_step(batch=4, seed=0, backward=True):
    np.random.seed(seed)
    mlp = course_mlp_class()(input_size=2, output_size=2)
    x = TensorNode(np.random.randn(batch, 2).astype(np.float32), name='x', requires_grad=False)
    loss = vg.celoss(mlp(x), np.arange(batch) % 2)
    if backward:
        loss.backward()
    return loss, mlp, x


def every_node(root):
    """{id: node} of every TensorNode and OpNode behind root (and the other outputs of its ops)."""
    tensors, ops, _, _ = layout.collect(root, with_consumers=False)
    return {id(n): n for n in tensors + ops}


def edge_ids(text):
    return [m.group(3) for m in _EDGE_ID.finditer(text)]


def test_a_plus_b_names_by_kind_and_order():
    a = TensorNode(np.ones(2), name='a')
    b = TensorNode(np.ones(2), name='b')
    c = a + b
    drawn = viz.dot_graph(c)
    assert drawn == (drawn.text, drawn.names) and drawn.text == viz.to_dot(c) == c.to_dot()
    assert drawn.names == {id(a): 't0', id(b): 't1', id(c.source): 'o0', id(c): 't2'}
    nodes, edges = parse(drawn.text)
    assert sorted(edges) == [('o0', 't2'), ('t0', 'o0'), ('t1', 'o0')]
    assert nodes['t0'][1].startswith('a\n') and nodes['o0'][1] == 'Add'
    for name, kind in (('t0', 'tensor'), ('t1', 'tensor'), ('o0', 'op'), ('t2', 'tensor')):
        assert f'id="{name}", class="{kind}"' in nodes[name][2]
    assert sorted(edge_ids(drawn.text)) == ['e_o0_t2', 'e_t0_o0', 'e_t1_o0']


def test_the_two_arrows_of_a_plus_a_have_two_ids():
    a = TensorNode(np.ones(3), name='a')
    drawn = viz.dot_graph(a + a)
    assert edge_ids(drawn.text) == ['e_t0_o0', 'e_t0_o0_1', 'e_o0_t1']


@pytest.mark.parametrize('options', [{}, {'show_constants': False}, {'max_nodes': 5},
                                     {'max_nodes': 1}, {'collapse': 'layers'},
                                     {'collapse': 'mlp', 'max_nodes': 3}])
def test_the_names_cover_exactly_the_nodes_drawn(options):
    loss, mlp, x = course_step()
    if options.get('collapse') == 'layers':
        options = {**options, 'collapse': [mlp.layer1, mlp.layer2]}
    elif options.get('collapse') == 'mlp':
        options = {**options, 'collapse': mlp}
    drawn = viz.dot_graph(loss, **options)
    nodes, _ = parse(drawn.text)
    everything = every_node(loss)
    assert set(drawn.names) <= set(everything)
    # -- every circle and diamond stands for exactly one node, every box for its ops
    for name, (shape, label, _) in nodes.items():
        mapped = [everything[k] for k, v in drawn.names.items() if v == name]
        if name == 'more':
            assert mapped == [] and 'more' in label
        elif shape == 'circle':
            assert len(mapped) == 1 and isinstance(mapped[0], TensorNode)
            assert f'{mapped[0].value.dtype}' in label
        elif shape == 'diamond':
            assert len(mapped) == 1 and mapped[0].op.__name__ == label
        else:
            assert len(mapped) == int(label.split('\n')[1].split()[0]) >= 1
            assert not any(isinstance(m, TensorNode) for m in mapped)
    # -- the names are those written, by kind and order: t0, t1, ..., o0, ..., g0, ...
    for kind in 'tog':
        written = [n for n in nodes if n[0] == kind]
        assert written == [f'{kind}{i}' for i in range(len(written))]
    assert set(drawn.names.values()) == set(nodes) - {'more'}
    assert id(loss) in drawn.names
    if options.get('show_constants') is False:
        assert id(x) not in drawn.names                 # -- the hidden data batch
    elif 'max_nodes' not in options:
        assert drawn.names[id(x)] == 't0'               # -- the first input, written first


def test_names_are_stable():
    loss, mlp, _ = course_step(backward=False)
    before = viz.dot_graph(loss, collapse=[mlp.layer1])
    assert viz.dot_graph(loss, collapse=[mlp.layer1]) == before
    loss.backward()                         # -- the labels change, the names do not
    after = viz.dot_graph(loss, collapse=[mlp.layer1])
    assert after.names == before.names and after.text != before.text
    assert edge_ids(after.text) == edge_ids(before.text)
    # -- the same model and step built again: the same names, node for node
    again, mlp2, _ = course_step(backward=False)
    drawn = viz.dot_graph(again, collapse=[mlp2.layer1])
    by_position = [drawn.names.get(id(n)) for n in every_node(again).values()]
    assert by_position == [before.names.get(id(n)) for n in every_node(loss).values()]


def test_a_collapsed_op_maps_to_its_box():
    loss, mlp, x = course_step()
    drawn = viz.dot_graph(loss, collapse={'layer 1': mlp.layer1, 'layer 2': mlp.layer2})
    nodes, edges = parse(drawn.text)
    ops = {id(n): n for n in every_node(loss).values() if not isinstance(n, TensorNode)}
    box_of = {nodes[v][1].split('\n')[0]: v for v in nodes if nodes[v][0] == 'box'}
    assert sorted(box_of.values()) == ['g0', 'g1']
    for label, layer in (('layer 1', mlp.layer1), ('layer 2', mlp.layer2)):
        users = [op for op in ops.values() if any(i is layer.w for i in op.inputs)]
        assert len(users) == 1 and drawn.names[id(users[0])] == box_of[label]
        assert id(layer.w) not in drawn.names and id(layer.b) not in drawn.names   # -- hidden
        assert 'class="box"' in nodes[box_of[label]][2]
    assert drawn.names[id(x)] == 't0' and ('t0', box_of['layer 1']) in edges


def test_nodes_cut_off_by_max_nodes_have_no_name():
    y = TensorNode(np.ones(3), name='x')
    chain = [y]
    for _ in range(20):
        y = -y
        chain.append(y)
    drawn = viz.dot_graph(y, max_nodes=5)
    nodes, edges = parse(drawn.text)
    assert len(drawn.names) == 5 and 'more' not in drawn.names.values()
    assert drawn.names[id(y)] == 't2'          # -- the two tensors before it come first
    assert id(chain[0]) not in drawn.names and id(chain[-3]) in drawn.names
    assert 'id="more", class="more"' in nodes['more'][2]
    assert edge_ids(drawn.text)[-1] == 'e_more_t0' and ('more', 't0') in edges


@needs_dot
def test_the_svg_has_the_ids_and_classes():
    loss, mlp, _ = course_step()
    for options in ({}, {'collapse': mlp, 'max_nodes': 3}):
        drawn = viz.dot_graph(loss, **options)
        svg = ET.fromstring(viz.render(drawn.text, 'svg'))
        groups = {g.get('id'): g.get('class') for g in svg.iter('{http://www.w3.org/2000/svg}g')}
        nodes, _ = parse(drawn.text)
        kinds = {'t': 'tensor', 'o': 'op', 'g': 'box', 'm': 'more'}
        for name in nodes:
            assert groups[name] == f'node {kinds[name[0]]}', (name, groups)
        for eid in edge_ids(drawn.text):
            assert groups[eid] == 'edge'
        assert set(drawn.names.values()) <= set(groups)
    # -- the step-through's use: one op's element found by the name of its OpNode
    op = loss.source
    assert f'<g id="{drawn.names[id(op)]}" class="node op">' in viz.render(drawn.text).decode()
