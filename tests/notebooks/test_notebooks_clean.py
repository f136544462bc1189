"""
The notebooks are stored clean: no outputs, no execution counts, no widget state, the python3
kernel; and every one of them is run by the suite (test_notebooks_run.py).
"""

import json

import pytest
from nbrun import NOTEBOOKS, notebook_paths

#: The notebooks the README points to. A notebook added or removed must be added or removed here
#: (and in the README), so that none is left out of the suite by accident.
EXPECTED = ['01_graphs.ipynb', '02_custom_op.ipynb', '03_training.ipynb', '04_cnn.ipynb',
            '05_check_and_step.ipynb']


def test_the_suite_runs_every_notebook_in_the_folder():
    assert [p.name for p in notebook_paths()] == EXPECTED
    assert sorted(p.name for p in NOTEBOOKS.glob('**/*.ipynb')) == EXPECTED   # -- none nested


@pytest.mark.parametrize('path', notebook_paths(), ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = json.loads(path.read_text(encoding='utf-8'))
    assert notebook['nbformat'] == 4
    code = [cell for cell in notebook['cells'] if cell['cell_type'] == 'code']
    assert code, 'a notebook without code'
    for i, cell in enumerate(notebook['cells']):
        where = f'{path.name}, cell {i}'
        if cell['cell_type'] == 'code':
            assert cell.get('outputs') == [], f'{where} has outputs: clear them before committing'
            assert cell.get('execution_count') is None, f'{where} has an execution count'
        assert not cell.get('attachments'), f'{where} has attachments'
    assert 'widgets' not in notebook['metadata'], f'{path.name} holds widget state'
    assert notebook['metadata']['kernelspec']['name'] == 'python3'


@pytest.mark.parametrize('path', notebook_paths(), ids=lambda p: p.name)
def test_notebook_is_valid(path):
    nbformat = pytest.importorskip('nbformat')
    nbformat.validate(nbformat.read(path, as_version=4))
