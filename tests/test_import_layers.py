"""
The import graph of the package: the engine never imports the training kit (vugrad.lab), and
the only import cycle is the engine's core with its ops (and, lazily, with viz).

Every module under vugrad/ is parsed with `ast` (nothing is imported), and every import
statement counts, those inside functions too: a lazy import is still a dependency.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'vugrad'

#: The kit's modules, each allowed to import only those before it (its __init__ imports runner).
#: The sweep's Dask pool (cluster) sits inside the sweep package's order: it uses the runs and
#: the local pool's thread variables, and the driver imports it (only for --cluster).
LAB_ORDER = ['vugrad.lab.tables', 'vugrad.lab.config', 'vugrad.lab.models', 'vugrad.lab.loop',
             'vugrad.lab.train', 'vugrad.lab.torch_backend', 'vugrad.lab.runner',
             'vugrad.lab.per_class', 'vugrad.lab.report', 'vugrad.lab.sweep.grid',
             'vugrad.lab.sweep.lock', 'vugrad.lab.report_command', 'vugrad.lab.sweep.runs',
             'vugrad.lab.sweep.pool',
             'vugrad.lab.cluster', 'vugrad.lab.sweep.driver', 'vugrad.lab.sweep.command',
             'vugrad.lab.sweep', 'vugrad.lab.graph', 'vugrad.lab.check', 'vugrad.lab.cli']


def module_name(path, root=PACKAGE):
    """vugrad/ops/shape.py -> vugrad.ops.shape; vugrad/ops/__init__.py -> vugrad.ops."""
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def find_modules(root=PACKAGE):
    """{module name: (path, is_package)} of every .py file under `root`."""
    return {module_name(p, root): (p, p.name == '__init__.py') for p in sorted(root.rglob('*.py'))
            if '__pycache__' not in p.parts}


def _known(name, modules):
    """`name` if it is a module of ours, else its longest prefix that is; None outside."""
    while name and name not in modules:
        name = name.rpartition('.')[0]
    return name or None


def imports_of(name, source, is_package, modules):
    """The modules of `modules` that the module `name` (with the text `source`) imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # -- relative: from the module's package (a package's __init__ is its own)
                package = name if is_package else name.rpartition('.')[0]
                for _ in range(node.level - 1):
                    package = package.rpartition('.')[0]
                base = '.'.join(p for p in (package, node.module) if p)
            else:
                base = node.module
            # -- `from pkg import x` imports the module pkg.x when there is one, else pkg
            targets = [f'{base}.{alias.name}' if f'{base}.{alias.name}' in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            target = _known(target, modules)
            if target is not None and target != name:
                found.add(target)
    return found


def import_graph(modules=None):
    """{module: set of the modules it imports} for the whole package."""
    modules = find_modules() if modules is None else modules
    return {name: imports_of(name, path.read_text(encoding='utf-8'), is_package, modules)
            for name, (path, is_package) in modules.items()}


def strongly_connected(graph):
    """The strongly connected components of `graph` (Tarjan's algorithm, without recursion)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def in_lab(name):
    return name == 'vugrad.lab' or name.startswith('vugrad.lab.')


def may_form_a_cycle(name):
    """The engine modules allowed in a cycle: core with the ops package, and core with viz."""
    return name in ('vugrad.core', 'vugrad.viz', 'vugrad.ops') or name.startswith('vugrad.ops.')


@pytest.fixture(scope='module')
def graph():
    return import_graph()


# ---------------------------------------------------------------------- the resolver itself

def test_relative_imports_resolve_to_modules_and_packages():
    modules = {m: None for m in ('vugrad', 'vugrad.core', 'vugrad.ops', 'vugrad.ops.shape',
                                 'vugrad.lab', 'vugrad.lab.train', 'vugrad.lab.config')}
    code = '\n'.join([
        'from . import config',              # -- a sibling module
        'from .. import core, functions',    # -- a module, and a name that is no module of ours
        'from ..ops import Reshape',         # -- a name in a package's __init__
        'from ..ops.shape import Squeeze',
        'import vugrad.ops.shape as s',
        'import numpy',
        'def f():',
        '    from .train import train',      # -- a lazy import counts too
    ])
    assert imports_of('vugrad.lab.runner', code, False, modules) == {
        'vugrad.lab.config', 'vugrad.core', 'vugrad', 'vugrad.ops', 'vugrad.ops.shape',
        'vugrad.lab.train'}
    # -- in a package's __init__, `.` is the package itself
    assert imports_of('vugrad.ops', 'from ..core import Op\nfrom . import shape', True,
                      modules) == {'vugrad.core', 'vugrad.ops.shape'}
    assert imports_of('vugrad.lab', 'from .train import train', True, modules) == \
        {'vugrad.lab.train'}


def test_strongly_connected_components():
    components = strongly_connected({'a': {'b'}, 'b': {'c'}, 'c': {'a', 'd'}, 'd': set(),
                                     'e': {'e'}})
    assert sorted(map(sorted, components)) == [['a', 'b', 'c'], ['d'], ['e']]


# ---------------------------------------------------------------------- the rules

def test_the_graph_covers_the_package(graph):
    assert {'vugrad', 'vugrad.core', 'vugrad.ops', 'vugrad.viz', 'vugrad.lab'} <= set(graph)
    assert set(LAB_ORDER) <= set(graph)
    assert 'vugrad.ops' in graph['vugrad.core']          # -- the hand-over at core's bottom


def test_the_engine_never_imports_the_kit(graph):
    bad = {name: sorted(t for t in targets if in_lab(t)) for name, targets in graph.items()
           if not in_lab(name)}
    assert {name: targets for name, targets in bad.items() if targets} == {}


def test_import_vugrad_reaches_no_part_of_the_kit(graph):
    seen, todo = set(), ['vugrad']
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    assert not [name for name in seen if in_lab(name)]


def test_the_only_cycle_is_core_with_ops_and_viz(graph):
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    for component in cycles:
        outside = sorted(name for name in component if not may_form_a_cycle(name))
        edges = '; '.join(f'{name} -> {", ".join(sorted(graph[name] & component))}'
                          for name in sorted(component) if not name.startswith('vugrad.ops.'))
        assert not outside, f'{", ".join(outside)} in an import cycle ({edges})'
    assert len(cycles) <= 1, [sorted(c) for c in cycles]


def test_nothing_in_the_kit_forms_a_cycle(graph):
    lab = {name: {t for t in targets if in_lab(t)} for name, targets in graph.items()
           if in_lab(name)}
    assert [sorted(c) for c in strongly_connected(lab) if len(c) > 1] == []


def test_the_kit_imports_only_downwards(graph):
    for position, name in enumerate(LAB_ORDER):
        upward = {t for t in graph[name] if in_lab(t) and t not in LAB_ORDER[:position]}
        assert upward == set(), (name, upward)
    assert graph['vugrad.lab'] <= set(LAB_ORDER)


def test_every_module_of_the_kit_has_its_place_in_the_order(graph):
    assert sorted(name for name in graph if in_lab(name) and name not in LAB_ORDER
                  and name != 'vugrad.lab') == []


def test_the_backends_know_nothing_of_each_other(graph):
    assert 'vugrad.lab.torch_backend' not in graph['vugrad.lab.train']
    assert 'vugrad.lab.train' not in graph['vugrad.lab.torch_backend']
    assert 'vugrad.lab.runner' not in graph['vugrad.lab.train'] | \
        graph['vugrad.lab.torch_backend']


def test_viz_is_drawing_code_only(graph):
    assert not any(in_lab(t) for t in graph['vugrad.viz'])


def test_import_vugrad_loads_no_kit_module():
    code = ('import sys, vugrad; '
            'print(sorted(m for m in sys.modules if m.startswith("vugrad.lab")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]'
