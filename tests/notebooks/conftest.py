"""
Running notebooks in the test suite: each in a fresh Jupyter kernel (nbclient, the engine nbmake
uses), top to bottom, in a temporary folder, within a time limit for the whole notebook.

The kernel is `python3`, the one ipykernel brings along: jupyter_client starts it with the
interpreter that runs the tests (sys.executable), so no `ipykernel install` is needed. The
repository is put on the kernel's PYTHONPATH (vugrad need not be installed), and BLAS runs one
thread, as the suite's other tests do on a shared machine.
"""

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / 'notebooks'

#: The seconds a notebook may take, all its cells together.
NOTEBOOK_LIMIT = 60

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')


def notebook_paths():
    """Every notebook under notebooks/, by name: the suite runs each one."""
    return sorted(NOTEBOOKS.glob('*.ipynb'))


@pytest.fixture
def execute(tmp_path, monkeypatch):
    """
    execute(notebook, limit=NOTEBOOK_LIMIT) -> (the executed notebook, seconds): runs an
    nbformat notebook in a fresh python3 kernel whose working folder is a temporary one. Skips
    where nbclient, nbformat or ipykernel is missing; fails a notebook that takes longer than
    `limit` seconds in all, naming the cell.
    """
    pytest.importorskip('nbformat')
    pytest.importorskip('ipykernel')
    nbclient = pytest.importorskip('nbclient')
    from nbclient.exceptions import CellTimeoutError

    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, '1')
    # -- notebooks read no data set from disk and download none: an empty folder for them
    (tmp_path / 'data').mkdir()
    monkeypatch.setenv('VUGRAD_DATA', str(tmp_path / 'data'))
    work = tmp_path / 'work'
    work.mkdir()

    def run(notebook, limit=NOTEBOOK_LIMIT):
        deadline = time.monotonic() + limit
        client = nbclient.NotebookClient(
            notebook, kernel_name='python3', resources={'metadata': {'path': str(work)}},
            # -- the time left of the notebook's limit, for each cell in turn
            timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
            startup_timeout=60)
        start = time.monotonic()
        try:
            client.execute()
        except CellTimeoutError as e:
            pytest.fail(f'the notebook ran past its limit of {limit} s: {e}', pytrace=False)
        return notebook, time.monotonic() - start

    return run
