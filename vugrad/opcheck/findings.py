"""
What the op checker reports: the vocabulary of findings, one Finding per problem, one OpReport
per op, and the two ways to read a report (the text for people, the JSON for graders), both
made from the same findings.
"""

import math
import textwrap
from dataclasses import asdict, dataclass, field

#: Every kind of finding, with its meaning. The same strings appear in the text and the JSON.
KINDS = {
    'wrong-count': 'backward returns a different number of gradients than the op has inputs',
    'none-for-needed-input': 'backward returns None for an input that needs a gradient',
    'wrong-shape': 'a gradient does not have the shape of its input',
    'wrong-dtype': "a gradient is not a NumPy array of its input's dtype (vugrad would cast "
                   'it without a word)',
    'wrong-values': 'a gradient disagrees with finite differences',
    'modifies-upstream-gradient': 'backward changes the upstream gradient (go) in place',
    'modifies-input': 'forward or backward changes an input array, or an array saved in the '
                      'context, in place',
    'not-deterministic': 'two backward calls with the same context and go give different '
                         'gradients',
    'forward-fails': 'forward raises an error, or gives NaN or inf, on every input tried',
    'backward-fails': 'backward raises an error',
    'timed-out': 'checking the op took longer than the time limit (a loop that never ends?)',
    'crashed': 'the op ran out of memory, or the process checking it died',
}

#: What a wrong-values (or wrong-shape) finding can be diagnosed as, with its meaning.
DIAGNOSES = {
    'sign': 'the gradient is the negative of the right one',
    'scale': 'the gradient is one constant times the right one (the constant is named)',
    'transposed': 'the gradient is the transpose of the right one',
    'not-summed-over-broadcast': 'the input was broadcast or repeated in forward, and its '
                                 'gradient does not add up what comes back from all the copies: '
                                 'it keeps the broadcast shape (wrong-shape), or takes the '
                                 'contribution of one copy only (wrong-values)',
    'ignores-upstream-gradient': 'the gradient is right when the upstream gradient is all ones '
                                 'and wrong otherwise: backward does not use go',
    'uses-output-as-input': "the gradient is the right one taken at the op's output instead "
                            'of at its input',
}

#: The small graphs the op is put in, with what each one tries.
TRAPS = {
    'same-input-twice': 'op(x, x): one node as both inputs of a two-input op',
    'output-used-twice': "the op's output used twice (y * y)",
    'diamond': 'x splits into two branches, the op runs on each, the branches join again',
    'backward-twice': 'backward, zero_grad, backward again: the same gradients both times',
    'long-chain': "1,000 applications in a row (ops that keep their input's shape): "
                  'backward completes',
}


@dataclass
class Finding:
    """
    One problem found in an op.

    :ivar kind: a key of KINDS.
    :ivar message: what was seen beside what was expected, and where, in plain words.
    :ivar fix: the likely fix, in words.
    :ivar input: the position of the input concerned (None when it is not about one input).
    :ivar index: the element of that input, a tuple (None when not about one element).
    :ivar backward: what the op's backward gives at that element.
    :ivar numerical: what finite differences give there.
    :ivar rel_error: |backward - numerical| / |numerical| there.
    :ivar diagnosis: a key of DIAGNOSES, or None.
    :ivar trap: a key of TRAPS when the finding came from one of the small graphs, else None.
    :ivar shapes: the input shapes it was found with.
    """
    kind: str
    message: str
    fix: str = ''
    input: int = None
    index: tuple = None
    backward: float = None
    numerical: float = None
    rel_error: float = None
    diagnosis: str = None
    trap: str = None
    shapes: tuple = None

    def to_dict(self):
        """The finding as strict-JSON-ready data (numbers that are not finite become None)."""
        d = asdict(self)
        for key in ('backward', 'numerical', 'rel_error'):
            d[key] = _finite(d[key])
        d['index'] = None if self.index is None else [int(i) for i in self.index]
        d['shapes'] = None if self.shapes is None else [list(s) for s in self.shapes]
        return d


def numbers(a, b):
    """Two numbers as text, with as few digits as tell them apart (4 at least)."""
    for digits in (4, 6, 8, 12, 17):
        sa, sb = f'{a:.{digits}g}', f'{b:.{digits}g}'
        if sa != sb:
            break
    return sa, sb


def _finite(x):
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass
class OpReport:
    """
    The result of checking one op: `ok` when there is no finding; `str(report)` is the text
    report, `report.to_dict()` the JSON object.

    :ivar op: the op's name.
    :ivar input_names: the names of forward's inputs.
    :ivar inputs: the input shapes the op was checked with, one tuple of shapes per try.
    :ivar findings: the Findings.
    :ivar traps: trap name -> 'passed', 'failed' or 'not run: <why>'.
    :ivar notes: what else the reader should know (the values used, what was skipped).
    """
    op: str
    input_names: tuple = ()
    inputs: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    traps: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.findings

    def add(self, finding):
        """Add a finding, unless one of the same kind, input and trap is in already."""
        key = (finding.kind, finding.input, finding.trap)
        if all((f.kind, f.input, f.trap) != key for f in self.findings):
            self.findings.append(finding)
            if finding.trap:
                self.traps[finding.trap] = 'failed'

    def to_dict(self):
        return {'op': self.op, 'ok': self.ok, 'inputs': [[list(s) for s in t] for t in self.inputs],
                'input_names': list(self.input_names),
                'findings': [f.to_dict() for f in self.findings],
                'traps': dict(self.traps), 'notes': list(self.notes)}

    @classmethod
    def from_dict(cls, d):
        """The report back from to_dict()'s data (as a child process sends it)."""
        findings = [Finding(**{**f, 'index': None if f['index'] is None else tuple(f['index']),
                               'shapes': None if f['shapes'] is None
                               else tuple(map(tuple, f['shapes']))})
                    for f in d['findings']]
        return cls(d['op'], tuple(d['input_names']), [tuple(map(tuple, t)) for t in d['inputs']],
                   findings, dict(d['traps']), list(d['notes']))

    def __str__(self):
        return render(self)


# ---------------------------------------------------------------------- the text report

WIDTH = 96


def shapes_text(shapes):
    """(3, 4) & (4,) for the shapes of one try."""
    return ' & '.join(str(tuple(s)) for s in shapes)


def _header(report):
    n = len(report.input_names)
    names = ', '.join(report.input_names)
    head = f'{report.op} ({n} input{"s" if n != 1 else ""}{": " + names if names else ""}'
    if report.inputs:
        tried = '; '.join(shapes_text(t) for t in report.inputs)
        head += f'; checked with shapes {tried}'
    return head + ')'


def _where(report, f):
    parts = [f'FAIL {f.kind}']
    if f.trap:
        parts[0] += f' in the trap {f.trap}'
    if f.input is not None:
        name = report.input_names[f.input] if f.input < len(report.input_names) else None
        parts.append(f'input {f.input}' + (f' ({name})' if name else ''))
    if f.index is not None:
        parts.append(f'element {list(f.index)}' if f.index else 'its only element')
    head = ', '.join(parts)
    if f.diagnosis:
        head += f' -- diagnosis: {f.diagnosis}'
    return head + ':'


def _wrapped(text, indent):
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False) or [indent]


def render(report):
    """The text report of one op: PASS, or each finding with the place and the fix."""
    lines = [_header(report)]
    for f in report.findings:
        lines.append('  ' + _where(report, f))
        lines += _wrapped(f.message, ' ' * 7)
        if f.fix:
            lines += _wrapped('Fix: ' + f.fix, ' ' * 7)
    if report.ok:
        lines.append('  PASS: the gradients agree with finite differences, and backward keeps '
                     'the rules of an op.')
    passed = [name for name, status in report.traps.items() if status == 'passed']
    if passed:
        lines.append('  PASS traps: ' + ', '.join(passed))
    skipped = {}
    for name, status in report.traps.items():
        if status.startswith('not run: '):
            skipped.setdefault(status[len('not run: '):], []).append(name)
    for why, names in skipped.items():
        lines += _wrapped(f'not run ({why}): ' + ', '.join(names), '  ')
    for note in report.notes:
        lines += _wrapped('note: ' + note, '  ')
    return '\n'.join(lines)
