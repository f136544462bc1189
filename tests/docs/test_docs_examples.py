"""
Every code example of the guide (docs/**/*.md) runs, and shows what it says it shows.

On each page, the ```pycon blocks are doctests (their outputs are checked) and the ```python
blocks are run; all blocks of a page share one namespace, in order, as a reader typing them
into one session would. ```bash blocks are not run.
"""

import doctest
import importlib.util
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / 'docs'
PAGES = sorted(p for p in DOCS.rglob('*.md') if '_tools' not in p.parts)
BLOCK = re.compile(r'^```(\w+)[^\n]*\n(.*?)^```\s*$', re.M | re.S)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def blocks(page):
    """(language, code, line number) of every fenced block of a page."""
    text = page.read_text(encoding='utf-8')
    for m in BLOCK.finditer(text):
        yield m.group(1), m.group(2), text.count('\n', 0, m.start()) + 2


def test_the_guide_has_pages_with_examples():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {'index.md', 'graph.md', 'custom-op.md', 'pytorch.md', 'backward/index.md'} <= names
    runnable = [b for p in PAGES for b in blocks(p) if b[0] in ('python', 'pycon')]
    assert len(runnable) >= 15


PAGES_WITH_CODE = [p for p in PAGES if any(b[0] in ('python', 'pycon') for b in blocks(p))]


@pytest.mark.parametrize('page', PAGES_WITH_CODE, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_examples_run(page, tmp_path, monkeypatch):
    code_blocks = [b for b in blocks(page) if b[0] in ('python', 'pycon')]
    if any(re.search(r'^\s*(>>> )?import torch', code, re.M) for _, code, _ in code_blocks):
        pytest.importorskip('torch', reason='this page compares with PyTorch')
    for language, _, _ in blocks(page):
        assert language in ('python', 'pycon', 'bash'), f'{page}: unexpected ```{language} block'
    monkeypatch.chdir(tmp_path)       # -- an example that writes a file writes it here
    np.random.seed(0)
    namespace = {'__name__': '__docs__'}
    parser = doctest.DocTestParser()
    name = page.relative_to(DOCS).as_posix()
    for language, code, line in code_blocks:
        where = f'{name}, line {line}'
        if language == 'python':
            try:
                exec(compile(code, where, 'exec'), namespace)
            except Exception as e:
                pytest.fail(f'{where}: the example raised {type(e).__name__}: {e}')
        else:
            assert '>>>' in code, f'{where}: a pycon block without a >>> prompt'
            test = parser.get_doctest(code, namespace, where, str(page), line)
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            report = []
            runner.run(test, out=report.append, clear_globs=False)
            namespace.update(test.globs)      # -- DocTest works on a copy of the namespace
            assert runner.failures == 0, f'{where}:\n' + ''.join(report)
            assert runner.tries > 0


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalize_numbers(dot):
    return re.sub(r'(grad norm|value) [-+0-9.e]+(inf|nan)?', r'\1 #', dot)


def test_the_committed_figures_are_what_vugrad_draws():
    figures = _load('vugrad_docs_figures', DOCS / '_tools' / 'figures.py')
    made = figures.figures()
    for name, dot in made.items():
        committed = (DOCS / 'img' / f'{name}.dot').read_text(encoding='utf-8')
        assert _normalize_numbers(committed) == _normalize_numbers(dot), \
            f'docs/img/{name}.dot is out of date: run python docs/_tools/figures.py'
        assert (DOCS / 'img' / f'{name}.svg').exists()
    # -- and every drawing a page shows exists and is a parsable SVG
    import xml.etree.ElementTree as ET
    shown = set()
    for page in PAGES:
        for src in re.findall(r'!\[[^\]]*\]\(([^)]+\.svg)\)', page.read_text(encoding='utf-8')):
            path = (page.parent / src).resolve()
            assert path.exists(), f'{page.name} shows {src}, which does not exist'
            ET.parse(path)
            shown.add(path.stem)
    assert shown == set(made)
