"""
Running notebooks in the test suite: each in a fresh Jupyter kernel (nbclient, the engine nbmake
uses), top to bottom, in a temporary folder, within a time limit for the whole notebook.

The kernel is `python3`, the one ipykernel brings along: jupyter_client starts it with the
interpreter that runs the tests (sys.executable), so no `ipykernel install` is needed. The
repository is put on the kernel's PYTHONPATH (vugrad need not be installed), and BLAS runs one
thread, as the suite's other tests do on a shared machine.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / 'notebooks'

#: The seconds a notebook may take, all its cells together.
NOTEBOOK_LIMIT = 60

THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')


def notebook_paths():
    """Every notebook under notebooks/, by name: the suite runs each one."""
    return sorted(NOTEBOOKS.glob('*.ipynb'))
