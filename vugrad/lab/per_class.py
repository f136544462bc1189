"""
The validation accuracy per class of a sweep's configurations (of the runs that record it:
image data sets), after the last epoch, the mean over seeds: mean_class_accuracy, and
per_class_table, the table of report.md (vugrad.lab.report) that a sweep also prints as it
ends. A configuration is a group of vugrad.lab.report.group_runs.
"""

import math
import warnings

import numpy as np

__all__ = ['mean_class_accuracy', 'per_class_table', 'percent']


def percent(x):
    """A fraction as the report's tables show it, in percent: 12.34; – for none or NaN."""
    return '–' if x is None or (isinstance(x, float) and math.isnan(x)) else f'{100 * x:.2f}'


def _class_accuracies(row):
    """A metrics row's val_acc_per_class as a list of floats (null: NaN), or None."""
    values = row.get('val_acc_per_class')
    if not isinstance(values, list) or not values:
        return None
    out = []
    for v in values:
        if v is None:
            out.append(math.nan)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        else:
            out.append(float(v))
    return out


def mean_class_accuracy(group):
    """
    The validation accuracy per class of a configuration after its last epoch, the mean over
    its finished runs (seeds) that record it (val_acc_per_class): a list of floats, NaN for a
    class without validation examples; None when no run records it.
    """
    rows = [_class_accuracies(run['metrics'][-1]) for run in group['ok']]
    rows = [r for r in rows if r is not None]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    table = np.full((len(rows), width), math.nan)
    for i, r in enumerate(rows):
        table[i, :len(r)] = r
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)     # -- a class with no examples
        return [float(x) for x in np.nanmean(table, axis=0)]


def _group_class_names(groups, count):
    """The names of `count` classes for the groups' runs: CIFAR-10's, else 0, 1, 2, ..."""
    data = {run['config'].get('data') for g in groups for run in g['ok']}
    if data == {'cifar10'} and count == 10:
        from ..data.cifar10 import CLASSES
        return list(CLASSES)
    return [str(k) for k in range(count)]


def per_class_table(groups):
    """
    The report's table of validation accuracy per class (a list of Markdown lines): one row per
    configuration whose runs record it, one column per class (CIFAR-10's class names), the
    final epoch, mean over seeds. Empty when no run records it (the MLP on synth).
    """
    accs = [(g, mean_class_accuracy(g)) for g in groups]
    accs = [(g, a) for g, a in accs if a is not None]
    if not accs:
        return []
    count = max(len(a) for _, a in accs)
    names = _group_class_names([g for g, _ in accs], count)
    head = ['configuration'] + names
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for group, acc in accs:
        cells = [group['label']] + [percent(a) for a in acc] + ['–'] * (count - len(acc))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines
