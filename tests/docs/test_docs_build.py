"""
The guide builds with `mkdocs build --strict`, every op of the core has its derivation next to
its code, and the build hooks (source listings, MathML) do what they promise.
"""

import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys

import pytest

import vugrad

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / 'docs'


def _hooks():
    spec = importlib.util.spec_from_file_location('vugrad_docs_hooks',
                                                  DOCS / '_tools' / 'mkdocs_hooks.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()

#: The ops whose backward the guide must derive (issue 7), by the name of their section.
CORE_OPS = ['Add', 'Sub', 'Multiply', 'MatrixMultiply', 'Divide', 'Exp', 'Log', 'Sigmoid',
            'Tanh', 'ReLU', 'Sum', 'Mean', 'Max', 'Expand', 'Select', 'Normalize', 'Squeeze',
            'Unsqueeze', 'Reshape', 'Transpose', 'GetItem', 'LogSoftmax', 'NLLLoss',
            'CrossEntropy', 'Linear', 'BatchMM']


def _sections():
    """{heading: text} of the level-2 sections of the backward pages."""
    out = {}
    for page in sorted((DOCS / 'backward').glob('*.md')):
        parts = re.split(r'^## (.+)$', page.read_text(encoding='utf-8'), flags=re.M)
        for title, body in zip(parts[1::2], parts[2::2]):
            out[title.strip()] = body
    return out


@pytest.mark.parametrize('op', CORE_OPS)
def test_every_core_op_is_derived_next_to_its_code(op):
    body = _sections().get(op)
    assert body is not None, f'no "## {op}" section under docs/backward/'
    refs = hooks.SOURCE.findall(body)
    assert refs, f'the {op} section shows no code'
    target = hooks.resolve(refs[0])
    assert target.__name__ == op and issubclass(target, vugrad.Op)
    assert '$' in body, f'the {op} section has no formula'


def test_every_source_listing_resolves_to_the_code_as_it_is():
    refs = []
    for page in DOCS.rglob('*.md'):
        refs += hooks.SOURCE.findall(page.read_text(encoding='utf-8'))
    assert len(refs) >= len(CORE_OPS)
    for ref in refs:
        block = hooks.source_block(ref)
        code = block.split('```python\n', 1)[1].rsplit('\n```', 1)[0]
        obj = hooks.resolve(ref)
        source = pathlib.Path(inspect.getsourcefile(obj)).read_text(encoding='utf-8')
        for line in code.splitlines():
            assert line.strip() in source
        m = re.match(r'`(.+?)`, lines (\d+)–(\d+):', block)
        assert m and (ROOT / m.group(1)).exists(), block[:80]
        lines = source.splitlines()[int(m.group(2)) - 1:int(m.group(3))]
        assert lines[0].strip() == code.splitlines()[0].strip()


def test_source_references_that_do_not_resolve_raise():
    with pytest.raises(hooks.DocsError, match='has no'):
        hooks.expand_sources('[[source: vugrad.ops.NoSuchOp]]\n')
    with pytest.raises(hooks.DocsError, match='no module'):
        hooks.expand_sources('[[source: nosuchpackage.thing]]\n')


def test_math_becomes_mathml_outside_code():
    pytest.importorskip('latex2mathml', reason='the docs extra (latex2mathml) is not installed')
    md = ('Inline $x^2$ and `$not math$` here.\n\n$$\n\\frac{a}{b}\n$$\n\n'
          '```python\nprice = "$5 and $6"\n```\n')
    out, stash = hooks.convert_math(md)
    assert len(stash) == 2
    assert '`$not math$`' in out and 'price = "$5 and $6"' in out
    html = hooks.restore_math(f'<p>Inline {out.split("Inline ")[1].split(" and")[0]}</p>'
                              f'<p>{hooks.PLACEHOLDER.format(1)}</p>', stash)
    assert '<math' in html and '<div class="math"><math' in html and 'VUGRADMATH' not in html
    with pytest.raises(hooks.DocsError, match='not closed'):
        hooks.convert_math('$$\nx\n')


def test_mkdocs_build_strict(tmp_path):
    for module in ('mkdocs', 'mkdocstrings', 'mkdocstrings_handlers.python', 'latex2mathml',
                   'pymdownx'):
        pytest.importorskip(module, reason=f"{module} is not installed: pip install -e '.[docs]'")
    site = tmp_path / 'site'
    result = subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '--config-file',
         str(ROOT / 'mkdocs.yml'), '--site-dir', str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert 'WARNING' not in log, log
    page = (site / 'backward' / 'elementwise' / 'index.html').read_text(encoding='utf-8')
    assert '<math' in page and 'sigx' in page and 'elementwise.py</code>, lines' in page
    for html in site.rglob('*.html'):
        text = html.read_text(encoding='utf-8')
        assert '[[source:' not in text and 'VUGRADMATH' not in text, html
    api = (site / 'api' / 'viz' / 'index.html').read_text(encoding='utf-8')
    assert 'to_dot' in api and 'max_nodes' in api
