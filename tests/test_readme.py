"""The README's Python examples run as written."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / 'README.md'


def test_readme_python_blocks_run():
    blocks = re.findall(r'```python\n(.*?)```', README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), 'exec'), namespace)
    a, b = namespace['a'], namespace['b']
    np.testing.assert_allclose(a.grad, 2 * (a.value + b.value))
    assert namespace['y'].value.shape == a.value.shape


def _where_things_live():
    """The first column of the README's table 'Where things live', as paths."""
    text = README.read_text(encoding='utf-8')
    section = text.split('## Where things live', 1)[1].split('\n## ', 1)[0]
    paths = []
    for line in section.splitlines():
        if line.startswith('| `'):
            first = line.split('|')[1]
            names = re.findall(r'`([^`]+)`', first)
            folder = names[0].rsplit('/', 1)[0] + '/' if '/' in names[0].rstrip('/') else ''
            # -- `vugrad/lab/graph.py`, `check.py`: a bare name is in the first one's folder
            paths += [names[0]] + [n if '/' in n else folder + n for n in names[1:]]
    return paths


def test_the_table_of_where_things_live_names_only_what_exists():
    root = README.parent
    missing = [p for p in _where_things_live() if not (root / p).exists()]
    assert missing == []


def test_the_table_of_where_things_live_names_every_module_of_the_package():
    root = README.parent
    named = set(_where_things_live())
    modules = [p.relative_to(root).as_posix() for p in (root / 'vugrad').glob('*.py')
               if not p.name.startswith('_')]
    modules += [p.relative_to(root).as_posix() for p in (root / 'vugrad' / 'lab').glob('*.py')
                if not p.name.startswith('_')]
    packages = [p.relative_to(root).as_posix() + '/' for p in (root / 'vugrad').rglob('*')
                if p.is_dir() and (p / '__init__.py').exists() and p.name != 'vugrad']
    assert [m for m in modules + packages if m not in named] == []
