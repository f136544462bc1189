"""A node's notebook display: plain text for IPython, an HTML table only without Graphviz."""

import numpy as np
import pytest

from vugrad import viz
from vugrad.core import TensorNode

pretty = pytest.importorskip('IPython.lib.pretty').pretty


@pytest.fixture
def step():
    w = TensorNode(np.ones((3, 2)), name='w')
    x = TensorNode(np.arange(6.0).reshape(2, 3), name='x', requires_grad=False)
    h = x @ w
    h.name = 'h'
    loss = (h * h).sum()
    return w, x, h, loss


def no_graphviz(monkeypatch):
    monkeypatch.setattr(viz.shutil, 'which', lambda name: None)
    assert not viz.graphviz_available()


def test_pretty_text_names_shape_dtype_source_and_grad(step):
    w, x, h, loss = step
    text = pretty(h)
    assert text == viz.node_pretty(h)
    assert text.splitlines() == ["TensorNode 'h'", '  shape      (2, 2)', '  dtype      float64',
                                 '  source op  MatrixMultiply', '  grad norm  no grad']
    assert pretty(loss).splitlines()[1:4] == ['  shape      scalar', '  dtype      float64',
                                              '  source op  Sum']
    assert pretty(loss).splitlines()[0] == 'TensorNode'           # -- no name, no quotes
    assert pretty(w).splitlines()[3] == '  source op  none (a leaf)'
    assert pretty(x).splitlines()[4] == '  grad norm  constant (no grad)'


def test_pretty_shows_the_grad_norm_after_backward_and_allocates_nothing(step):
    w, x, _, loss = step
    pretty(w)
    assert w._grad is None                 # -- the display never allocates a gradient
    loss.backward()
    expected = np.linalg.norm(2 * x.value.T @ (x.value @ w.value))
    assert pretty(w).splitlines()[4] == f'  grad norm  {expected:.4g}'


def test_pretty_quotes_a_name_with_a_line_break():
    node = TensorNode(np.zeros(2), name='two\nlines')
    assert pretty(node).splitlines()[0] == "TensorNode 'two\\nlines'"
    assert len(pretty(node).splitlines()) == 5


def test_html_is_not_offered_when_graphviz_is_installed(step, monkeypatch):
    monkeypatch.setattr(viz.shutil, 'which', lambda name: '/usr/bin/dot')
    _, _, h, _ = step
    assert h._repr_html_() is None          # -- IPython: None means "no HTML", the SVG is shown


def test_html_table_when_graphviz_is_missing(step, monkeypatch):
    no_graphviz(monkeypatch)
    _, _, h, loss = step
    loss.backward()
    table = h._repr_html_()
    assert table == viz.node_html(h)
    assert table.startswith('<table') and table.endswith('</table>')
    cells = dict(zip(('name', 'shape', 'dtype', 'source op', 'grad norm'),
                     [part.split('</td>')[0] for part in table.split('<td')[1:]]))
    assert [c.split('>', 1)[1] for c in cells.values()] == [
        'h', '(2, 2)', 'float64', 'MatrixMultiply',
        f'{np.linalg.norm(2 * h.value):.4g}']
    for label in ('name', 'shape', 'dtype', 'source op', 'grad norm'):
        assert f'>{label}</th>' in table
    assert h._repr_svg_() is None           # -- and no SVG either: the table is what shows


def test_html_escapes_a_hostile_name(monkeypatch):
    no_graphviz(monkeypatch)
    node = TensorNode(np.zeros(2), name='<script>alert("x")</script> & <b>')
    table = node._repr_html_()
    assert '<script>' not in table and '<b>' not in table
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;' in table


def test_html_shows_a_lone_surrogate_as_its_escape(monkeypatch):
    no_graphviz(monkeypatch)
    table = TensorNode(np.zeros(2), name='a\ud800')._repr_html_()
    assert 'a\\ud800' in table
    table.encode('utf-8')                   # -- Jupyter sends it as UTF-8: it must encode


def test_ipython_display_formatter_picks_text_and_html_without_graphviz(step, monkeypatch):
    formatters = pytest.importorskip('IPython.core.formatters')
    no_graphviz(monkeypatch)
    _, _, h, _ = step
    data, _ = formatters.DisplayFormatter().format(h)
    assert data['text/plain'] == viz.node_pretty(h)
    assert data['text/html'] == viz.node_html(h)
    assert 'image/svg+xml' not in data


def test_ipython_display_formatter_has_no_html_with_graphviz(step, monkeypatch):
    formatters = pytest.importorskip('IPython.core.formatters')
    monkeypatch.setattr(viz, 'render', lambda text, format='svg': b'<svg></svg>')
    monkeypatch.setattr(viz.shutil, 'which', lambda name: '/usr/bin/dot')
    _, _, h, _ = step
    data, _ = formatters.DisplayFormatter().format(h)
    assert 'text/html' not in data
    assert data['image/svg+xml'] == '<svg></svg>'
    assert data['text/plain'] == viz.node_pretty(h)
