"""The `execute` fixture of the notebook tests (the constants are in nbrun.py)."""

import os
import time

import pytest
from nbrun import NOTEBOOK_LIMIT, REPO, THREAD_VARIABLES


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
