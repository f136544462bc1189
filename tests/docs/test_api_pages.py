"""
Every module of the package has a place in the API reference (docs/api/): a `::: module`
block on some page, and that page in the guide's navigation (mkdocs.yml). A module added
without one fails here, naming it.
"""

import pathlib
import pkgutil
import re

import vugrad

ROOT = pathlib.Path(__file__).resolve().parents[2]
API = ROOT / 'docs' / 'api'


def package_modules():
    """The public modules and packages of vugrad ('_private' ones and their insides left out)."""
    names = ['vugrad']
    for info in pkgutil.walk_packages(vugrad.__path__, 'vugrad.'):
        if not any(part.startswith('_') for part in info.name.split('.')):
            names.append(info.name)
    return sorted(names)


def documented():
    """{module: the API page that shows it} from the `::: module` blocks of docs/api/."""
    found = {}
    for page in API.rglob('*.md'):
        for name in re.findall(r'^:::\s*([\w.]+)', page.read_text(encoding='utf-8'), re.M):
            found.setdefault(name, page.relative_to(ROOT / 'docs').as_posix())
    return found


def test_every_module_has_a_place_in_the_api_reference():
    missing = [m for m in package_modules() if m not in documented()]
    assert not missing, ('modules without a `::: module` block in docs/api/: '
                         f'{", ".join(missing)}')


def test_every_api_page_is_in_the_navigation():
    nav = (ROOT / 'mkdocs.yml').read_text(encoding='utf-8')
    pages = sorted(p.relative_to(ROOT / 'docs').as_posix() for p in API.rglob('*.md'))
    assert [p for p in pages if p not in nav] == []


def test_the_api_reference_names_no_module_that_is_gone():
    gone = [m for m in documented() if m.startswith('vugrad') and m not in package_modules()
            and not _is_object(m)]
    assert gone == []


def _is_object(name):
    """True for a class or function path (vugrad.core.TensorNode), not a module."""
    module, _, attr = name.rpartition('.')
    try:
        return hasattr(__import__(module, fromlist=[attr]), attr)
    except ImportError:
        return False
