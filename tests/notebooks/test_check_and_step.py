"""
notebooks/05_check_and_step.ipynb shows what it says: the checker's finding on the wrong op,
a pass after the fix, the accumulation of y = x * x, and the trace's display, a stepper that
steps in a real browser.
"""

import re
import sys
from pathlib import Path

from nbrun import NOTEBOOKS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browser import dump_dom  # noqa: E402


def outputs(cell):
    """(the cell's text, its HTML display or None)."""
    text = ''.join(o.get('text', '') for o in cell.outputs if o.output_type == 'stream')
    html = [o['data']['text/html'] for o in cell.outputs
            if o.output_type in ('execute_result', 'display_data') and 'text/html' in o['data']]
    return text, (html[0] if html else None)


def test_the_notebook_shows_the_finding_the_fix_and_the_stepper(execute, tmp_path):
    import nbformat
    notebook, _ = execute(nbformat.read(NOTEBOOKS / '05_check_and_step.ipynb', as_version=4))
    code = [c for c in notebook.cells if c.cell_type == 'code']
    texts = [outputs(c)[0] for c in code]
    assert any('FAIL wrong-values' in t and 'diagnosis: scale' in t for t in texts)
    assert any(t.startswith('Cube (1 input') and 'FAIL' not in t for t in texts)
    assert any('x accumulates: [1, 2, 3] + [1, 2, 3] = [2, 4, 6]' in t for t in texts)
    displays = [outputs(c)[1] for c in code if c.source.strip() == 'trace']
    assert displays and displays[0] and 'class="vg-trace"' in displays[0]
    # -- the display steps in a browser: a click on 'next' moves it from the start to step 1
    click = ('<script>document.querySelector(".vg-trace button[data-go=next]").click();'
             '</script>')
    page = tmp_path / 'display.html'
    page.write_text(f'<html><body>{displays[0]}{click}</body></html>', encoding='utf-8')
    dom = dump_dom(page)
    assert re.search(r'class="vg-trace[^"]*"[^>]*data-step="1"|data-step="1"[^>]*class="vg-trace',
                     dom)
