"""
Reading the DOT text vugrad.viz writes, for the tests of the drawings (tests/viz) and of the
`vugrad graph` command (tests/lab): `from dot_text import needs_dot, parse, shapes`.
"""

import re
import shutil

import pytest

HAVE_DOT = shutil.which('dot') is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason='Graphviz `dot` is not installed '
                               '(apt-get install graphviz)')

_NODE = re.compile(r'^\s*(\w+) \[(.*)\];$')
_EDGE = re.compile(r'^\s*(\w+) -> (\w+)( \[.*\])?;$')
_LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\' and i + 1 < len(s):
            nxt = s[i + 1]
            out.append('\n' if nxt == 'n' else nxt)
            i += 2
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def parse(dot):
    """The nodes ({name: (shape, label, attributes)}) and edges ([(from, to)]) of our DOT text."""
    assert dot.startswith('digraph vugrad {') and dot.rstrip().endswith('}')
    nodes, edges = {}, []
    for line in dot.splitlines()[1:-1]:
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2)))
            continue
        m = _NODE.match(line)
        if m and m.group(1) not in ('node', 'edge'):
            attrs = m.group(2)
            shape = re.search(r'shape=(\w+)', attrs).group(1)
            label = _unescape(_LABEL.search(attrs).group(1))
            nodes[m.group(1)] = (shape, label, attrs)
    return nodes, edges


def by_label(nodes, first_line):
    found = [n for n, (_, label, _) in nodes.items() if label.split('\n')[0] == first_line]
    assert len(found) == 1, (first_line, nodes)
    return found[0]


def shapes(nodes):
    out = {}
    for shape, _, _ in nodes.values():
        out[shape] = out.get(shape, 0) + 1
    return out
