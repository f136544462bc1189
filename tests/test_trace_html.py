"""
The step-through's pages: the HTML a BackwardTrace writes (unit tests of its frames and of
what it loads), and the page stepping in a real browser (headless Chromium).
"""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import vugrad as vg
from vugrad import _trace_html, viz
from vugrad.trace import trace_backward

from browser import dump_dom, screenshot


class Elements(HTMLParser):
    """Every start tag of a page as (tag, {attribute: value})."""

    def __init__(self, text):
        super().__init__()
        self.found = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def by_id(self, suffix):
        return [a for _, a in self.found if a.get('id', '').endswith(suffix)]

    def classes(self, suffix):
        (attrs,) = self.by_id(suffix)
        return set(attrs.get('class', '').split())


def x_times_x():
    x = vg.TensorNode(np.array([1.0, 2.0]))
    y = x * x
    loss = y.sum()
    return trace_backward(loss), x, y, loss


def frames_of(page):
    """The frames the page's script steps through (its JSON)."""
    return json.loads(re.search(r'var frames = (\[.*?\]);\n', page).group(1))


needs_graphviz = pytest.mark.skipif(not viz.graphviz_available(), reason='needs Graphviz')


# ---------------------------------------------------------------------- the page itself

@needs_graphviz
def test_the_page_holds_the_drawing_and_one_frame_per_step(tmp_path):
    trace, x, y, loss = x_times_x()
    path = trace.to_html(tmp_path / 'steps.html')
    page = path.read_text(encoding='utf-8')
    frames = frames_of(page)
    assert len(frames) == len(trace.steps) + 2 == 4
    assert [f['title'] for f in frames] == ['start', 'step 1 of 2', 'step 2 of 2', 'leaves']
    assert frames[2]['accumulating'] == ['t0'] and frames[2]['op'] == ['o0']
    # -- the two arrows from x into the Multiply carry the two gradients
    assert set(frames[2]['sending']) == {'t0', 'e_t0_o0', 'e_t0_o0_1'}
    assert 'e_o0_t1' in frames[2]['arriving']
    elements = Elements(page)
    for name in ('t0', 'o0', 't1', 'o1', 't2', 'e_t0_o0', 'e_t0_o0_1'):
        assert elements.by_id('-' + name), name      # -- the SVG's vertices, prefixed


@needs_graphviz
def test_the_page_loads_nothing_from_elsewhere(tmp_path):
    trace, *_ = x_times_x()
    page = trace.to_html(tmp_path / 'steps.html').read_text(encoding='utf-8')
    elements = Elements(page)
    assert not [a for tag, a in elements.found if tag in ('script', 'img', 'iframe', 'link')
                and ('src' in a or 'href' in a)]
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', '', page)
    assert 'http://' not in without_namespaces and 'https://' not in without_namespaces
    assert 'url(' not in page and '@import' not in page


def test_without_graphviz_the_page_steps_through_the_table(tmp_path, monkeypatch):
    monkeypatch.setattr(_trace_html, 'graphviz_available', lambda: False)
    trace, *_ = x_times_x()
    page = trace.to_html(tmp_path / 'steps.html').read_text(encoding='utf-8')
    assert '<svg' not in page and 'Graphviz is not installed' in page
    frames = frames_of(page)
    assert len(frames) == 4 and all(f['op'] == [] for f in frames)
    rows = [a for tag, a in Elements(page).found if tag == 'tr' and 'data-frame' in a]
    assert [r['data-frame'] for r in rows] == ['0', '1', '2', '3']


def test_the_notebook_display_is_the_stepper_with_ids_of_its_own():
    trace, *_ = x_times_x()
    first, second = trace._repr_html_(), trace._repr_html_()
    ids = [re.search(r'class="vg-trace" id="([^"]+)"', h).group(1) for h in (first, second)]
    assert ids[0] != ids[1]
    assert 'x accumulates: [1, 2] + [1, 2] = [2, 4]' in first
    assert 'var standalone = false' in first      # -- leaves the notebook's address alone


def test_text_that_could_end_the_script_is_escaped(tmp_path, monkeypatch):
    monkeypatch.setattr(_trace_html, 'graphviz_available', lambda: False)
    x = vg.TensorNode(np.array([1.0, 2.0]), name='</script><b>x')
    trace = trace_backward((x * 2.0).sum())
    page = trace.to_html(tmp_path / 'steps.html').read_text(encoding='utf-8')
    assert page.count('</script>') == 1 and '<b>x' not in page


# ---------------------------------------------------------------------- `vugrad graph --steps`

def run_cli(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'vugrad.lab.cli', *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_graph_steps_writes_the_page_of_the_training_step(tmp_path):
    result = run_cli('graph', '--steps', '-o', 'steps.html', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'wrote steps.html (open it in a browser: 4 steps)' in result.stdout
    page = (tmp_path / 'steps.html').read_text(encoding='utf-8')
    assert 'loss = CrossEntropy(' in page and 'hidden.0.w.grad = ' in page


def test_graph_steps_wants_an_html_file(tmp_path):
    result = run_cli('graph', '--steps', '-o', 'steps.svg', cwd=tmp_path)
    assert result.returncode == 2 and 'give -o FILE.html' in result.stderr
    assert 'Traceback' not in result.stderr and not (tmp_path / 'steps.svg').exists()


def test_graph_steps_traces_the_one_backward_of_the_step(monkeypatch):
    """The graph command's step calls backward once; the trace is of that call."""
    from vugrad.core import TensorNode
    from vugrad.lab.config import TrainConfig
    from vugrad.lab.graph import training_step
    from vugrad.trace import BackwardTrace
    calls = []
    original = TensorNode.backward

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get('trace'))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TensorNode, 'backward', counting)
    trace = BackwardTrace()
    loss, model = training_step(TrainConfig(), trace=trace)
    assert calls == [trace] and len(trace.steps) == 4 and trace.root is loss


# ---------------------------------------------------------------------- in a real browser

@needs_graphviz
def test_the_page_steps_in_a_browser(tmp_path):
    trace, *_ = x_times_x()
    path = trace.to_html(tmp_path / 'steps.html')
    one, two = Elements(dump_dom(path, '#step=1')), Elements(dump_dom(path, '#step=2'))
    root_one = [a for _, a in one.found if 'vg-trace' in a.get('class', '')][0]
    root_two = [a for _, a in two.found if 'vg-trace' in a.get('class', '')][0]
    assert root_one['data-step'] == '1' and root_two['data-step'] == '2'
    # -- step 1 runs the Sum (o1), step 2 the Multiply (o0), where x (t0) accumulates
    assert 'vg-op' in one.classes('-o1') and 'vg-op' not in one.classes('-o0')
    assert 'vg-op' in two.classes('-o0') and 'vg-op' not in two.classes('-o1')
    assert 'vg-accumulating' in two.classes('-t0')
    assert 'vg-accumulating' not in one.classes('-t0')
    assert 'vg-sending' in two.classes('-e_t0_o0_1')
    current = [a['data-frame'] for tag, a in two.found
               if tag == 'tr' and 'vg-current' in a.get('class', '')]
    assert current == ['2']
    # -- and the two steps look different
    assert screenshot(path, '#step=1') != screenshot(path, '#step=2')


@needs_graphviz
def test_a_step_past_the_end_opens_the_last_frame(tmp_path):
    trace, *_ = x_times_x()
    path = trace.to_html(tmp_path / 'steps.html')
    dom = Elements(dump_dom(path, '#step=99'))
    root = [a for _, a in dom.found if 'vg-trace' in a.get('class', '')][0]
    assert root['data-step'] == '3'


def test_the_page_without_graphviz_steps_through_the_table_in_a_browser(tmp_path, monkeypatch):
    monkeypatch.setattr(_trace_html, 'graphviz_available', lambda: False)
    trace, *_ = x_times_x()
    path = trace.to_html(tmp_path / 'steps.html')
    dom = Elements(dump_dom(path, '#step=2'))
    current = [a['data-frame'] for tag, a in dom.found
               if tag in ('tr', 'div') and 'vg-current' in a.get('class', '')]
    assert sorted(current) == ['2', '2']        # -- the table's row and the detail panel


@needs_graphviz
def test_two_notebook_displays_on_one_page_step_on_their_own(tmp_path):
    """The notebook display in a page with two of them: the buttons of one move only it."""
    trace, *_ = x_times_x()
    click = ('<script>document.querySelectorAll(".vg-trace")[1]'
             '.querySelector("button[data-go=next]").click();</script>')
    page = f'<html><body>{trace._repr_html_()}{trace._repr_html_()}{click}</body></html>'
    path = tmp_path / 'two.html'
    path.write_text(page, encoding='utf-8')
    dom = Elements(dump_dom(path))
    steps = [a['data-step'] for _, a in dom.found if 'vg-trace' in a.get('class', '').split()]
    assert steps == ['0', '1']


def test_graph_steps_page_opens_at_the_step_in_the_address(tmp_path):
    assert run_cli('graph', '--steps', '-o', 'steps.html', cwd=tmp_path).returncode == 0
    dom = Elements(dump_dom(tmp_path / 'steps.html', '#step=3'))
    root = [a for _, a in dom.found if 'vg-trace' in a.get('class', '').split()][0]
    assert root['data-step'] == '3'
