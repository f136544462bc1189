"""
Every notebook under notebooks/ runs top to bottom, in a fresh kernel, in under a minute
(conftest.py: `execute`), and writes nothing beside itself: it runs in a temporary folder, and
the repository's files are the same afterwards.
"""

import subprocess

import pytest
from nbrun import NOTEBOOK_LIMIT, NOTEBOOKS, REPO, notebook_paths


def _repository_state():
    """`git status` of the repository, or None outside a git checkout."""
    try:
        result = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all',
                                 '--', 'notebooks'], cwd=REPO, capture_output=True, text=True,
                                timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


@pytest.mark.parametrize('path', notebook_paths(), ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, execute):
    import nbformat
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    state = _repository_state()
    notebook = nbformat.read(path, as_version=4)
    notebook, seconds = execute(notebook)
    errors = [o for cell in notebook.cells if cell.cell_type == 'code' for o in cell.outputs
              if o.output_type == 'error']
    assert not errors, errors
    assert seconds < NOTEBOOK_LIMIT, f'{path.name} took {seconds:.1f} s'
    # -- every code cell ran (nbclient stops at the first error, and counts each execution)
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == 'code']
    assert counts == list(range(1, len(counts) + 1))
    # -- nothing written into the repository's notebooks folder, the stored file unchanged
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before
    assert _repository_state() == state
    assert not any(cell.get('outputs') for cell in nbformat.read(path, as_version=4).cells)


def test_a_notebook_past_its_limit_fails(execute):
    import nbformat
    cells = [nbformat.v4.new_code_cell('import time\ntime.sleep(1)'),
             nbformat.v4.new_code_cell('time.sleep(6)')]
    with pytest.raises(pytest.fail.Exception, match='past its limit of 4 s'):
        execute(nbformat.v4.new_notebook(cells=cells), limit=4)
