"""
The training kit's progress bar: tqdm's widget in a notebook (a real kernel), the text bar on
stderr elsewhere.
"""

import io
import sys

import pytest

from vugrad.lab import loop

CHECK_IN_KERNEL = '''
import tqdm.notebook
from vugrad.lab import loop
from vugrad.lab.config import TrainConfig
from vugrad.lab.train import train

assert loop.in_notebook() and loop.default_progress()
assert not sys.stderr.isatty()          # -- a notebook's stderr is not a terminal

bars = []
make = loop._progress_bar
loop._progress_bar = lambda total, desc: bars.append(make(total, desc)) or bars[-1]
metrics = train(TrainConfig(data='synth', num_train=300, num_val=50, epochs=2, hidden=4,
                            seed=0), log=None)   # -- no progress=True: the default in a notebook
assert len(metrics) == 2 and len(bars) == 2
assert all(isinstance(bar, tqdm.notebook.tqdm) for bar in bars), [type(b) for b in bars]
print('notebook bars:', len(bars))
'''


def test_training_in_a_notebook_shows_the_notebook_bar(execute):
    pytest.importorskip('tqdm')
    pytest.importorskip('ipywidgets')
    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('import sys'),
                                               nbformat.v4.new_code_cell(CHECK_IN_KERNEL)])
    notebook, _ = execute(notebook)
    outputs = notebook.cells[1].outputs
    text = ''.join(o.get('text', '') for o in outputs if o.output_type == 'stream')
    assert 'notebook bars: 2' in text
    # -- each bar is a widget displayed in the cell, not text on stderr
    widgets = [o for o in outputs if o.output_type == 'display_data'
               and 'application/vnd.jupyter.widget-view+json' in o.data]
    assert len(widgets) == 2
    assert not [o for o in outputs if o.output_type == 'stream' and o.name == 'stderr'
                and 'batch' in o.text]


def test_outside_a_notebook_the_bar_is_tqdm_text_on_stderr(monkeypatch):
    pytest.importorskip('tqdm')
    import tqdm.notebook
    import tqdm.std
    assert not loop.in_notebook()
    err = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', err)
    bar = loop._progress_bar(3, 'epoch 1/1')
    try:
        assert isinstance(bar, tqdm.std.tqdm) and not isinstance(bar, tqdm.notebook.tqdm)
        bar.update(3)
    finally:
        bar.close()
    assert 'epoch 1/1' in err.getvalue()        # -- as text, on stderr


def test_without_tqdm_there_is_no_bar(monkeypatch):
    monkeypatch.setitem(sys.modules, 'tqdm.auto', None)     # -- import fails
    assert loop._progress_bar(3, 'epoch 1/1') is None


@pytest.mark.parametrize('tty', [True, False])
def test_default_progress_outside_a_notebook_follows_the_terminal(monkeypatch, tty):
    stream = io.StringIO()
    stream.isatty = lambda: tty
    monkeypatch.setattr(sys, 'stderr', stream)
    assert loop.default_progress() is tty
