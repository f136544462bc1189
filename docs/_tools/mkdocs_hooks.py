"""
MkDocs hooks of vugrad's guide (mkdocs.yml: `hooks:`). Two things happen to every page:

1. A line `[[source: vugrad.ops.elementwise.Sigmoid]]` becomes the source code of that object,
   read from the installed package with `inspect` at build time, under a caption naming the
   file and lines. The guide quotes no code by hand, so what it shows cannot drift from what
   runs.
2. Math between `$...$` (inline) and `$$...$$` (a block, the `$$` on lines of their own) is
   turned into MathML, which browsers draw without any JavaScript. Code blocks and `code
   spans` are left alone.

The functions below are plain Python, so the tests (tests/docs) call them too.
"""

import importlib
import inspect
import os
import re
import textwrap

SOURCE = re.compile(r'^\[\[source:\s*([\w.]+)\s*\]\]\s*$', re.M)
FENCE = re.compile(r'^(```|~~~)')
INLINE_CODE = re.compile(r'(`+)(.+?)\1')
INLINE_MATH = re.compile(r'(?<![\\$\w])\$(?![\s$])((?:[^$\\\n]|\\.)+?)(?<!\s)\$(?![\w$])')
PLACEHOLDER = 'VUGRADMATH{:05d}X'
PLACEHOLDER_RE = re.compile(r'(?:<p>)?VUGRADMATH(\d{5})X(?:</p>)?')

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DocsError(Exception):
    """A source reference or a formula in the guide that cannot be rendered."""


def resolve(dotted):
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = dotted.split('.')
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                raise DocsError(f'[[source: {dotted}]]: {".".join(parts[:i])} has no {attr!r}.')
            obj = getattr(obj, attr)
        return obj
    raise DocsError(f'[[source: {dotted}]]: no module of that name can be imported.')


def source_block(dotted):
    """Markdown for the source of `dotted`: a caption with file and lines, then the code."""
    obj = resolve(dotted)
    obj = inspect.unwrap(getattr(obj, '__func__', obj))
    try:
        lines, start = inspect.getsourcelines(obj)
        path = inspect.getsourcefile(obj)
    except (TypeError, OSError) as e:
        raise DocsError(f'[[source: {dotted}]]: cannot read its source ({e}).') from None
    code = textwrap.dedent(''.join(lines)).rstrip('\n')
    rel = os.path.relpath(path, _REPO).replace(os.sep, '/')
    if rel.startswith('..'):
        rel = 'vugrad/' + rel.split('/vugrad/', 1)[-1] if '/vugrad/' in rel else rel
    end = start + len(lines) - 1
    return f'`{rel}`, lines {start}–{end}:\n\n```python\n{code}\n```\n'


def expand_sources(markdown):
    """Replace every `[[source: ...]]` line by the code it names."""
    return SOURCE.sub(lambda m: source_block(m.group(1)), markdown)


def _mathml(latex, display):
    from latex2mathml.converter import convert
    try:
        return convert(latex.strip(), display=display)
    except Exception as e:     # -- latex2mathml raises several kinds; name the formula
        raise DocsError(f'cannot convert the formula {latex!r} to MathML: {e}') from None


def convert_math(markdown):
    """
    Turn $...$ and $$...$$ into placeholders; return (markdown, {placeholder: MathML}).

    -- Placeholders, not MathML, go through Markdown: otherwise a `*` or `_` inside the MathML
       could be read as emphasis. `restore_math` puts the MathML in after Markdown is done.
    """
    stash = {}

    def keep(html):
        key = PLACEHOLDER.format(len(stash))
        stash[key] = html
        return key

    out, block, in_fence, fence = [], None, False, ''
    for line in markdown.split('\n'):
        stripped = line.strip()
        if block is not None:
            if stripped == '$$':
                out.append('')
                out.append(keep(_mathml('\n'.join(block), 'block')))
                out.append('')
                block = None
            else:
                block.append(line)
            continue
        m = FENCE.match(stripped)
        if m:
            if not in_fence:
                in_fence, fence = True, m.group(1)
            elif stripped == fence:
                in_fence = False
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        if stripped == '$$':
            block = []
            continue
        if stripped.startswith('$$') and stripped.endswith('$$') and len(stripped) > 4:
            out.append(keep(_mathml(stripped[2:-2], 'block')))
            continue
        # -- inline math, outside `code spans`
        pieces, pos = [], 0
        for cm in INLINE_CODE.finditer(line):
            pieces.append(INLINE_MATH.sub(lambda mm: keep(_mathml(mm.group(1), 'inline')),
                                          line[pos:cm.start()]))
            pieces.append(cm.group(0))
            pos = cm.end()
        pieces.append(INLINE_MATH.sub(lambda mm: keep(_mathml(mm.group(1), 'inline')),
                                      line[pos:]))
        out.append(''.join(pieces))
    if block is not None:
        raise DocsError('a $$ block is not closed.')
    return '\n'.join(out), stash


def restore_math(html, stash):
    """Put the MathML back where its placeholders ended up in the HTML."""
    def put(m):
        key = PLACEHOLDER.format(int(m.group(1)))
        math = stash[key]
        if m.group(0).startswith('<p>'):      # -- a block on its own line: no paragraph around
            return f'<div class="math">{math}</div>'
        return math
    return PLACEHOLDER_RE.sub(put, html)


# ---------------------------------------------------------------------- the MkDocs events

_STASHES = {}


def on_page_markdown(markdown, page, config, files):
    try:
        markdown = expand_sources(markdown)
        markdown, stash = convert_math(markdown)
    except DocsError as e:
        from mkdocs.exceptions import PluginError
        raise PluginError(f'{page.file.src_path}: {e}') from None
    _STASHES[page.file.src_path] = stash
    return markdown


def on_page_content(html, page, config, files):
    return restore_math(html, _STASHES.pop(page.file.src_path, {}))
