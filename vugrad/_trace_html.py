"""
The HTML views of a BackwardTrace (vugrad/trace.py): one block that steps through the frames
of the trace, as a notebook display (`fragment`) and as a page of its own (`page`).

The block holds the drawing of the graph (inline SVG, rendered once by Graphviz, every vertex
with a stable id), a panel with the current frame's text, buttons, a slider, and the table of
every frame. A small inline script moves through the frames by putting classes on the
vertices of the current step (no network, nothing loaded: the file works offline). Without
the script (an untrusted notebook, a static viewer) every frame's text is shown, in order.
Without Graphviz there is no drawing: the block steps through the table.
"""

import html
import json
import re
import uuid

from .viz import GraphvizError, edge_id, graphviz_available, render

#: What each class on a vertex means, for the legend (the colours are in STYLE).
MARKS = (('op', 'the op whose backward runs'),
         ('arriving', 'gradient arriving (complete)'),
         ('sending', 'gradient sent to an input'),
         ('accumulating', 'adds it to a gradient it had'),
         ('done', 'gradient complete'))

STYLE = """
.vg-trace { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
            color: #212529; max-width: 1200px; }
.vg-trace h1 { font-size: 1.3em; margin: 0.3em 0; }
.vg-trace .vg-controls { display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap;
                         margin: 0.5em 0; }
.vg-trace .vg-controls button { font-size: 1em; padding: 0.2em 0.7em; cursor: pointer; }
.vg-trace .vg-controls input[type=range] { width: 14em; }
.vg-trace .vg-counter { font-weight: 600; min-width: 8em; }
.vg-trace .vg-panes { display: flex; gap: 1em; align-items: flex-start; flex-wrap: wrap; }
.vg-trace .vg-drawing { flex: 1 1 420px; overflow: auto; max-height: 80vh;
                        border: 1px solid #dee2e6; padding: 0.3em; }
.vg-trace .vg-drawing svg { max-width: 100%; max-height: 72vh; width: auto; height: auto; }
.vg-trace .vg-detail { flex: 1 1 380px; }
.vg-trace pre { background: #f8f9fa; border: 1px solid #dee2e6; padding: 0.6em;
                white-space: pre-wrap; margin: 0.3em 0; font-size: 0.9em; }
.vg-trace .vg-caption { margin: 0.3em 0; }
.vg-trace.vg-js .vg-frame { display: none; }
.vg-trace.vg-js .vg-frame.vg-current { display: block; }
.vg-trace table { border-collapse: collapse; margin-top: 1em; font-size: 0.9em; }
.vg-trace td, .vg-trace th { border: 1px solid #dee2e6; padding: 0.2em 0.5em; text-align: left;
                             vertical-align: top; }
.vg-trace tr.vg-current { background: #fff3bf; }
.vg-trace.vg-js tbody tr { cursor: pointer; }
.vg-trace .vg-legend { display: flex; gap: 1em; flex-wrap: wrap; font-size: 0.85em; }
.vg-trace .vg-legend span::before { content: ""; display: inline-block; width: 0.9em;
                                    height: 0.9em; margin-right: 0.3em; vertical-align: -0.1em;
                                    border: 3px solid var(--c); border-radius: 50%; }
.vg-trace .vg-l-op { --c: #e8590c; } .vg-trace .vg-l-arriving { --c: #1971c2; }
.vg-trace .vg-l-sending { --c: #2f9e44; } .vg-trace .vg-l-accumulating { --c: #ae3ec9; }
.vg-trace .vg-l-done { --c: #adb5bd; }
.vg-trace svg g.vg-done > ellipse { fill: #e9ecef; }
.vg-trace svg g.vg-op > polygon, .vg-trace svg g.vg-op > path { stroke: #e8590c;
    stroke-width: 4px; fill: #ffd8a8; }
.vg-trace svg g.vg-arriving > ellipse, .vg-trace svg g.vg-arriving > polygon,
.vg-trace svg g.vg-arriving > path { stroke: #1971c2; stroke-width: 4px; }
.vg-trace svg g.vg-sending > ellipse, .vg-trace svg g.vg-sending > polygon,
.vg-trace svg g.vg-sending > path { stroke: #2f9e44; stroke-width: 4px; }
.vg-trace svg g.vg-accumulating > ellipse, .vg-trace svg g.vg-accumulating > polygon,
.vg-trace svg g.vg-accumulating > path { stroke: #ae3ec9; stroke-width: 5px;
    stroke-dasharray: 7 3; }
.vg-trace svg g.edge.vg-arriving > path, .vg-trace svg g.edge.vg-arriving > polygon {
    stroke: #1971c2; stroke-width: 3px; }
.vg-trace svg g.edge.vg-sending > path, .vg-trace svg g.edge.vg-sending > polygon {
    stroke: #2f9e44; stroke-width: 3px; }
"""

# -- The script: frames[k] lists the vertex ids of each mark; show(k) moves the classes.
#    `standalone` pages keep the address's #step=N in step with what is shown.
SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  var frames = %(frames)s;
  var standalone = %(standalone)s;
  var kinds = ['op', 'arriving', 'sending', 'accumulating', 'done'];
  var slider = root.querySelector('.vg-slider');
  var counter = root.querySelector('.vg-counter');
  var current = -1;
  root.classList.add('vg-js');
  function byId(name) {
    return root.querySelector('.vg-drawing [id="' + %(prefix)s + name + '"]');
  }
  function show(k) {
    k = Math.max(0, Math.min(frames.length - 1, k));
    root.querySelectorAll('.vg-marked').forEach(function (el) {
      kinds.forEach(function (c) { el.classList.remove('vg-' + c); });
      el.classList.remove('vg-marked');
    });
    kinds.forEach(function (c) {
      frames[k][c].forEach(function (name) {
        var el = byId(name);
        if (el) { el.classList.add('vg-' + c); el.classList.add('vg-marked'); }
      });
    });
    root.querySelectorAll('.vg-frame, tbody tr').forEach(function (el) {
      el.classList.toggle('vg-current', Number(el.dataset.frame) === k);
    });
    slider.value = k;
    counter.textContent = frames[k].title;
    root.dataset.step = k;
    current = k;
    if (standalone && location.hash !== '#step=' + k) {
      history.replaceState(null, '', '#step=' + k);
    }
  }
  function fromHash() {
    var m = /^#step=(\\d+)$/.exec(location.hash);
    return m ? Number(m[1]) : 0;
  }
  root.querySelectorAll('button[data-go]').forEach(function (b) {
    b.addEventListener('click', function () {
      var go = b.dataset.go;
      show(go === 'first' ? 0 : go === 'last' ? frames.length - 1 :
           current + (go === 'next' ? 1 : -1));
    });
  });
  slider.addEventListener('input', function () { show(Number(slider.value)); });
  root.querySelectorAll('tbody tr').forEach(function (tr) {
    tr.addEventListener('click', function () { show(Number(tr.dataset.frame)); });
  });
  (standalone ? document : root).addEventListener('keydown', function (e) {
    var keys = {ArrowRight: current + 1, ArrowDown: current + 1, ArrowLeft: current - 1,
                ArrowUp: current - 1, Home: 0, End: frames.length - 1};
    if (e.key in keys && !(e.target && e.target.type === 'range')) {
      e.preventDefault(); show(keys[e.key]);
    }
  });
  if (standalone) {
    window.addEventListener('hashchange', function () { show(fromHash()); });
  }
  show(standalone ? fromHash() : 0);
})();
"""


def _svg(trace, prefix, options):
    """
    The drawing as inline SVG with prefixed ids and the names map, or (None, {}, why). The
    gradient norms are left out unless asked for (show_grad=True): the drawing is made after
    backward, and would show every gradient from the start.
    """
    if not graphviz_available():
        return None, {}, 'Graphviz is not installed: the table below is the step-through.'
    graph = trace._dot_graph(**{'show_grad': False, **options})
    try:
        svg = render(graph.text, 'svg').decode('utf-8')
    except GraphvizError as e:
        return None, {}, f'Graphviz could not draw the graph ({e}): the table is the step-through.'
    svg = svg[svg.index('<svg'):]              # -- no XML prolog or doctype inside HTML
    svg = re.sub(r'<!--.*?-->', '', svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return svg, graph.names, None


def _caption(trace, frame):
    """One sentence on what a frame shows, in words."""
    n = len(trace.steps)
    if frame == 0:
        return (f'backward starts at {trace.name(trace.root)}: its gradient with respect to '
                'itself is 1 (an array of ones for a non-scalar start).')
    if frame == n + 1:
        return ('every op has run its backward: the leaves keep the sums that reached them in '
                'their .grad.')
    step = trace.steps[frame - 1]
    acc = [trace.name(f.node) for f in step.accumulations]
    text = (f'the backward of {step.op}. The complete gradient of its output arrives; the op '
            'multiplies it by its local derivative and sends one gradient to each input that '
            'needs one.')
    if acc:
        text += (f' {", ".join(acc)} already had a gradient from another use, so the two are '
                 'added (the chain rule sums over every path).')
    return text


def _frames(trace, names):
    frames = trace.frames(names)
    n = len(frames)
    for k, frame in enumerate(frames):
        frame['title'] = ('start' if k == 0 else 'leaves' if k == n - 1 else
                          f'step {k} of {n - 2}')
        frame['caption'] = _caption(trace, k)
        if 0 < k < n - 1:
            arriving, sending = _edges(trace.steps[k - 1], names)
            frame['arriving'] += arriving
            frame['sending'] += sending
    return frames


def _edges(step, names):
    """
    The ids of the arrows a step's gradients flow along (vugrad.viz.edge_id): the op's arrows
    to its outputs, and the arrows from the inputs it sends a gradient to (an input used twice
    has two arrows, numbered in the order of the op's inputs).
    """
    op = names.get(id(step.opnode))
    if op is None:
        return [], []
    arriving = [edge_id(op, names[id(o)]) for o in step.opnode.outputs
                if o is not None and id(o) in names]
    sending = []
    for f in step.sent:
        node = names.get(id(f.node))
        if node is not None:
            again = sum(1 for n in step.opnode.inputs[:f.input] if n is f.node)
            sending.append(edge_id(node, op, again))
    return arriving, sending


def _controls(count):
    last = count - 1
    return (
        '<div class="vg-controls">'
        '<button data-go="first" title="the first frame (Home)">&#xAB; first</button>'
        '<button data-go="prev" title="previous (left arrow)">&#x25C0; previous</button>'
        f'<input class="vg-slider" type="range" min="0" max="{last}" value="0" '
        'aria-label="frame">'
        '<button data-go="next" title="next (right arrow)">next &#x25B6;</button>'
        '<button data-go="last" title="the last frame (End)">last &#xBB;</button>'
        '<span class="vg-counter">start</span></div>')


def _legend():
    return ('<div class="vg-legend">' + ''.join(
        f'<span class="vg-l-{kind}">{html.escape(text)}</span>' for kind, text in MARKS)
        + '</div>')


def _detail(frames):
    return ''.join(
        f'<div class="vg-frame" data-frame="{k}"><p class="vg-caption"><b>'
        f'{html.escape(f["title"])}</b>: {html.escape(f["caption"])}</p>'
        f'<pre>{html.escape(chr(10).join(f["text"]))}</pre></div>'
        for k, f in enumerate(frames))


def _table(frames):
    rows = ''.join(
        f'<tr data-frame="{k}"><td>{k}</td><td>{html.escape(f["title"])}</td>'
        f'<td><pre>{html.escape(chr(10).join(line.strip() for line in f["text"]))}</pre></td></tr>'
        for k, f in enumerate(frames))
    return ('<table class="vg-table"><thead><tr><th>#</th><th>frame</th><th>what happens'
            f'</th></tr></thead><tbody>{rows}</tbody></table>')


def fragment(trace, standalone=False, **options):
    """The stepper as one HTML block (a div, its style and its script)."""
    uid = 'vgtrace-' + uuid.uuid4().hex[:10]
    prefix = uid + '-'
    svg, names, note = _svg(trace, prefix, options)
    frames = _frames(trace, names)
    script_frames = [{k: f[k] for k in ('op', 'arriving', 'sending', 'accumulating', 'done',
                                        'title')} for f in frames]
    drawing = (f'<div class="vg-drawing">{svg}</div>' if svg is not None else
               f'<div class="vg-drawing vg-no-drawing"><p>{html.escape(note)}</p></div>')
    script = SCRIPT % {'id': json.dumps(uid), 'frames': _json(script_frames),
                       'standalone': 'true' if standalone else 'false',
                       'prefix': json.dumps(prefix)}
    return (f'<div class="vg-trace" id="{uid}" tabindex="0"><style>{STYLE}</style>'
            f'<h1>{html.escape(trace.heading())}</h1>{_controls(len(frames))}{_legend()}'
            f'<div class="vg-panes">{drawing}<div class="vg-detail">{_detail(frames)}</div>'
            f'</div>{_table(frames)}<script>{script}</script></div>')


def page(trace, title=None, **options):
    """The stepper as a whole HTML document, opening at #step=N when the address says so."""
    title = title or 'backward, step by step'
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title></head><body>'
            f'{fragment(trace, standalone=True, **options)}</body></html>\n')


def _json(data):
    """JSON for inside a script element: no '</' that would end the element early."""
    return json.dumps(data).replace('</', '<\\/')
