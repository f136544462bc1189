"""
The outputs of a sweep, made from the files of its runs alone (`vugrad plot DIR` remakes
them: vugrad.lab.report_command):

    DIR/metrics.csv   one row per run and epoch: the run, its status, its settings, the metrics
    DIR/curves.png    validation accuracy and training loss per epoch: one line per
                      configuration (the mean over its seeds), the spread over seeds shaded
    DIR/report.md     a table per configuration: final accuracy (mean ± std over seeds), best
                      epoch, training loss, seconds per epoch; the validation accuracy per
                      class (of runs that record val_acc_per_class: image data sets; its
                      table is vugrad.lab.per_class's); the plot; the failed runs

A run lives in its own folder DIR/<id>/ (written by vugrad.lab.sweep.runs):

    config.json       {"id", "index", "config": {...every setting, backend and seed included}}
    metrics.json      the same, with "status": "ok" and "metrics": [one dict per epoch];
                      written atomically when the run has finished
    error.txt         the traceback, when the run failed
    log.txt           what the run printed

A *configuration* is a run's settings without its seed: the runs of one configuration differ
only in their seeds, and are averaged. The settings that differ between configurations name
the lines of the plot and the columns of the table.

    from vugrad.lab.report import load_runs, group_runs, plot_curves
    groups = group_runs(load_runs('runs/activations'))
    fig = plot_curves(groups)                  # a matplotlib Figure
    fig.axes[0].get_lines()                    # one line per configuration
"""

import csv
import json
import math
import os
import warnings

import numpy as np

from ..errors import VugradError
from ..fileio import atomic_write, dumps_json, write_json
from .config import TrainConfig
from .loop import per_class_columns
from .per_class import mean_class_accuracy, per_class_table, percent

__all__ = [
    'METRICS',
    'RunFileError',
    'dumps_json',
    'group_runs',
    'load_runs',
    'mean_class_accuracy',
    'per_class_table',
    'plot_curves',
    'read_metrics',
    'varied_keys',
    'write_csv',
    'write_json',
    'write_outputs',
    'write_report',
    'written_files',
]

METRICS = ('epoch', 'train_loss', 'val_loss', 'val_acc', 'seconds', 'lr')
# -- settings that say where a run's files go or how it shows progress, not what it computes
NOT_SETTINGS = ('out', 'save', 'progress', 'data_dir')
# -- listed in the report's common settings even where they are the defaults
ALWAYS_SHOWN = ('data', 'epochs', 'lr', 'batch_size', 'optimizer', 'backend')


# ---------------------------------------------------------------------- JSON files

class RunFileError(VugradError, ValueError):
    """A run's metrics.json or config.json that is not what a sweep writes (edited, damaged)."""


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


#: The numbers of a metrics row; null (NaN or inf, written as strict JSON) is read as NaN.
_NUMBERS = ('train_loss', 'val_loss', 'val_acc', 'seconds', 'lr')
_REQUIRED = ('epoch', 'train_loss', 'val_acc', 'seconds')


def _run_file(path, finished):
    """The dict of a run's metrics.json (finished) or config.json; RunFileError if malformed."""
    try:
        with open(path, 'rb') as f:
            data = json.loads(f.read().decode('utf-8'))
    except ValueError as e:            # -- JSONDecodeError and UnicodeDecodeError
        raise RunFileError(f'{path}: not a JSON file that vugrad wrote ({e})') from None
    if not isinstance(data, dict) or not isinstance(data.get('config'), dict):
        raise RunFileError(f'{path}: expected an object with a "config" object in it')
    for key, kinds, what in (('index', int, 'a whole number'), ('id', str, 'text'),
                             ('error', (str, type(None)), 'text')):
        value = data.get(key)
        if key in data and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise RunFileError(f'{path}: "{key}" is {value!r}, not {what}')
    seed = data['config'].get('seed')
    if isinstance(seed, bool) or not isinstance(seed, (int, type(None))):
        raise RunFileError(f'{path}: the seed {seed!r} is not a whole number')
    if not finished:
        return data
    rows = data.get('metrics', [])
    if rows is None:
        rows = []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise RunFileError(f'{path}: "metrics" must be a list of objects, one per epoch')
    data = dict(data, metrics=[dict(row) for row in rows])
    for i, row in enumerate(data['metrics']):
        missing = [k for k in _REQUIRED if k not in row]
        if missing:
            raise RunFileError(f'{path}: epoch row {i + 1} has no {", ".join(missing)}')
        if isinstance(row['epoch'], bool) or not isinstance(row['epoch'], int):
            raise RunFileError(f'{path}: epoch row {i + 1}: the epoch {row["epoch"]!r} is not '
                               'a whole number')
        for k in _NUMBERS:
            value = row.get(k, math.nan)
            if value is None:
                row[k] = math.nan
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RunFileError(f'{path}: epoch row {i + 1}: {k}={value!r} is not a number')
    return data


def read_metrics(path):
    """
    A finished run's metrics.json as a dict ({"id", "index", "status", "config", "metrics"});
    None where there is no such file. Each epoch's numbers are numbers: null, which stands for
    NaN or inf in the strict JSON the kit writes, is read as NaN.

    :raises RunFileError: for a file that is not such a file (not JSON, a "metrics" that is not
        a list of epoch rows with numbers, ...).
    """
    try:
        return _run_file(os.fspath(path), finished=True)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise RunFileError(f'{path}: cannot read it ({e.strerror or e})') from None


# ---------------------------------------------------------------------- reading the runs


def load_runs(folder, warn=None):
    """
    Every run under `folder` (a sweep's output folder), in the sweep's order: a list of dicts
    with the keys id, index, config (settings, seed and backend included), status ('ok',
    'diverged', 'failed' or 'unfinished'), metrics (a list of per-epoch dicts; empty unless
    'ok', or 'diverged': the epochs before) and error (the last line of the traceback, where
    and how a run diverged, or None).

    A run whose metrics.json or config.json is malformed (not JSON, or not what a sweep writes)
    is left out, with a warning naming the file: `warn(message)`, or warnings.warn when `warn`
    is None.
    """
    runs = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isdir(path):
            continue
        try:
            done = read_metrics(os.path.join(path, 'metrics.json'))
            info = done or (_run_file(os.path.join(path, 'config.json'), finished=False)
                            if os.path.exists(os.path.join(path, 'config.json')) else None)
        except (RunFileError, OSError) as e:
            message = f'skipped the run {name}: {e}'
            if warn is None:
                warnings.warn(message, RuntimeWarning, stacklevel=2)
            else:
                warn(f'warning: {message}')
            continue
        if info is None:
            continue    # -- not a run's folder
        run = {'id': info.get('id', name), 'index': info.get('index', len(runs)),
               'config': dict(info['config']), 'status': 'unfinished', 'metrics': [],
               'error': None, 'folder': path}
        run['config'].setdefault('backend', info.get('backend', 'vugrad'))
        if done is not None and done.get('status', 'ok') == 'ok':
            run['status'], run['metrics'] = 'ok', list(done.get('metrics', []))
        elif done is not None and done.get('status') == 'diverged':
            # -- stopped where its training loss became nan or inf: the epochs before it
            run['status'], run['metrics'] = 'diverged', list(done.get('metrics') or [])
            run['error'] = done.get('error') or 'training diverged'
        elif os.path.exists(os.path.join(path, 'error.txt')):
            run['status'] = 'failed'
            with open(os.path.join(path, 'error.txt'), errors='replace') as f:
                lines = [line.strip() for line in f if line.strip()]
            run['error'] = lines[-1] if lines else 'failed (no message)'
        runs.append(run)
    runs.sort(key=lambda r: (r['index'], r['id']))
    return runs


def _key(value):
    return json.dumps(value, sort_keys=True)


def varied_keys(runs):
    """The settings (not the seed) whose values differ between the runs, in settings order."""
    keys = []
    for run in runs:
        for k in run['config']:
            if k not in keys and k != 'seed' and k not in NOT_SETTINGS:
                keys.append(k)
    keys = [k for k in keys if len({_key(r['config'].get(k)) for r in runs}) > 1]
    # -- in the order of the run's folder name (the sweep's --vary order) where it has them
    named = [part.partition('=')[0] for part in runs[0]['id'].split(',')] if runs else []
    return sorted(keys, key=lambda k: (named.index(k) if k in named else len(named),
                                       keys.index(k)))


def _value_text(value):
    """A setting's value (or a number) as the report's labels and cells show it: true, none."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return 'none'
    return str(value)


def group_runs(runs):
    """
    The runs by configuration (their settings without the seed), in the order of their first
    run: a list of dicts with the keys label ('activation=relu, init=he'; 'all runs' when
    nothing varies), settings ({key: value} of the varied settings), runs (every run of the
    configuration) and ok (its finished runs).
    """
    keys = varied_keys(runs)
    groups = {}
    for run in runs:
        settings = {k: run['config'].get(k) for k in keys}
        group = groups.setdefault(_key(settings), {
            'label': ', '.join(f'{k}={_value_text(v)}' for k, v in settings.items()) or 'all runs',
            'settings': settings, 'runs': [], 'ok': []})
        group['runs'].append(run)
        if run['status'] == 'ok' and run['metrics']:
            group['ok'].append(run)
    return list(groups.values())


def _curve(group, metric):
    """(epochs, mean, std, count) of `metric` over the group's finished runs, per epoch."""
    per_epoch = {}
    for run in group['ok']:
        for row in run['metrics']:
            value = row.get(metric)
            if value is not None and math.isfinite(float(value)):
                per_epoch.setdefault(int(row['epoch']), []).append(float(value))
    epochs = sorted(per_epoch)
    values = [np.asarray(per_epoch[e]) for e in epochs]
    mean = np.array([v.mean() for v in values])
    std = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in values])
    count = np.array([len(v) for v in values])
    return np.array(epochs), mean, std, count


def summarize(group):
    """
    The numbers of the report for one configuration: a dict with runs, ok, final_acc and
    final_acc_std (of each run's last epoch, over seeds), best_acc and best_epoch (the peak of
    the mean validation accuracy), final_train_loss (mean), seconds_per_epoch (mean),
    diverged (how many runs stopped, or ended, with a training loss of inf or nan) and diverging
    (how many finished runs ended with a training loss above their first epoch's).
    """
    finals = [run['metrics'][-1] for run in group['ok']]
    accs = np.array([float(row['val_acc']) for row in finals])
    losses = np.array([float(row['train_loss']) for row in finals])
    seconds = [float(row['seconds']) for run in group['ok'] for row in run['metrics']]
    epochs, mean, _, _ = _curve(group, 'val_acc')
    best = int(np.argmax(mean)) if len(mean) else None
    return {
        'runs': len(group['runs']), 'ok': len(group['ok']),
        'final_acc': float(accs.mean()) if len(accs) else math.nan,
        'final_acc_std': float(accs.std(ddof=1)) if len(accs) > 1 else math.nan,
        'best_acc': float(mean[best]) if best is not None else math.nan,
        'best_epoch': int(epochs[best]) if best is not None else None,
        'final_train_loss': float(losses.mean()) if len(losses) else math.nan,
        'diverged': int((~np.isfinite(losses)).sum())
        + sum(run['status'] == 'diverged' for run in group['runs']),
        'diverging': sum(_diverging(run) for run in group['ok']),
        'seconds_per_epoch': float(np.mean(seconds)) if seconds else math.nan}


# ---------------------------------------------------------------------- writing

def _diverging(run):
    """Whether a finished run's training loss ended above its first epoch's."""
    rows = run['metrics']
    first, last = float(rows[0]['train_loss']), float(rows[-1]['train_loss'])
    return len(rows) > 1 and math.isfinite(last) and last > first


def write_csv(path, runs):
    """
    All runs in one CSV file: one row per run and epoch, with the columns run, status, every
    setting (seed and backend included), epoch, train_loss, val_loss, val_acc, seconds, lr,
    the per-class accuracies of image data sets (val_acc_class_0, ...; empty for other runs)
    and error. A run that did not finish has one row, with empty metrics. The learning rate of
    each epoch (a schedule changes it) is in epoch_lr; lr is the setting.
    """
    settings = []
    for run in runs:
        for k in run['config']:
            if k not in settings and k not in ('out', 'save', 'progress', 'backend'):
                settings.append(k)
    # -- the lr of each epoch (set by a schedule) is epoch_lr: lr is the setting
    columns = {m: 'epoch_lr' if m == 'lr' else m for m in METRICS}
    # -- per-class accuracies (image data sets) in as many columns as the most classes of a run
    classes = max((len(row.get('val_acc_per_class') or []) for run in runs
                   for row in run['metrics'] or []), default=0)
    per_class = list(per_class_columns({}, classes))
    fields = (['run', 'status'] + settings + ['backend'] + list(columns.values()) + per_class +
              ['error'])

    with atomic_write(path, newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        writer.writeheader()
        for run in runs:
            base = {k: _csv_value(run['config'].get(k)) for k in settings + ['backend']}
            base.update(run=run['id'], status=run['status'], error=run['error'] or '')
            for row in run['metrics'] or [{}]:
                writer.writerow({**base, **{c: row.get(m, '') for m, c in columns.items()},
                                 **per_class_columns(row, classes)})


def _csv_value(value):
    return '' if value is None else value


def plot_curves(groups, path=None, title=None):
    """
    Plot validation accuracy (left) and training loss (right) against the epoch: per
    configuration a line through the mean over its seeds, with mean ± std shaded when there is
    more than one seed. Saves a PNG at `path` if given; returns the matplotlib Figure (made
    without pyplot, so no window opens and no global state changes).
    """
    from matplotlib.figure import Figure

    groups = [g for g in groups if g['ok']]
    fig = Figure(figsize=(12, 5.2), layout='constrained')
    acc_ax, loss_ax = fig.subplots(1, 2)
    losses = _draw_curves(acc_ax, loss_ax, groups)
    _label_axes(acc_ax, loss_ax, groups, losses)
    if groups:
        ncol = min(len(groups), 3 if max(len(g['label']) for g in groups) > 30 else 4)
        try:   # -- below both plots (matplotlib 3.7+), else inside the accuracy plot
            fig.legend(*acc_ax.get_legend_handles_labels(), loc='outside lower center',
                       ncol=ncol, fontsize='medium', frameon=False)
        except ValueError:
            acc_ax.legend(fontsize='small')
    if title:
        fig.suptitle(title)
    if path is not None:
        with atomic_write(path, 'wb') as f:
            fig.savefig(f, format='png', dpi=110)
    return fig


def _line_styles(groups):
    """
    (colors, line styles) of the groups' lines: with backend among the varied settings, a
    configuration has one color and the torch run a dashed line, so the two libraries' lines
    stay visible where they overlap.
    """
    others = [json.dumps({k: v for k, v in g['settings'].items() if k != 'backend'},
                         sort_keys=True) for g in groups]
    palette = _colors(len(dict.fromkeys(others)))
    color_of = {key: palette[i] for i, key in enumerate(dict.fromkeys(others))}
    colors = [color_of[key] for key in others]
    styles = ['--' if g['settings'].get('backend') == 'torch' else '-' for g in groups]
    return colors, styles


def _draw_curves(acc_ax, loss_ax, groups):
    """
    Draw each group's mean curves, the spread over seeds shaded; return (lowest, highest) of
    each group's mean training loss.
    """
    max_epochs = max((len(run['metrics']) for g in groups for run in g['ok']), default=0)
    marker = 'o' if max_epochs <= 15 else None
    losses = []
    for group, color, style in zip(groups, *_line_styles(groups)):
        for ax, metric in ((acc_ax, 'val_acc'), (loss_ax, 'train_loss')):
            epochs, mean, std, count = _curve(group, metric)
            ax.plot(epochs, mean, color=color, linestyle=style, marker=marker, markersize=4,
                    linewidth=1.8, label=group['label'])
            if (count > 1).any():
                ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2,
                                linewidth=0)
            if metric == 'train_loss' and len(mean):
                losses.append((float(np.min(mean)), float(np.max(mean))))
    return losses


def _label_axes(acc_ax, loss_ax, groups, losses):
    """
    The plots' titles, labels, whole-number epochs and grids; the loss on a log scale where the
    lines' losses ((lowest, highest) of each) span more than a factor of 10.
    """
    from matplotlib.ticker import MaxNLocator

    seeds = sorted({len(g['ok']) for g in groups})
    spread = ('mean over seeds, ± std shaded' if seeds and seeds[-1] > 1 else 'one seed')
    acc_ax.set(xlabel='epoch', ylabel='validation accuracy',
               title=f'Validation accuracy ({spread})')
    loss_ax.set(xlabel='epoch', ylabel='training loss (mean per instance)',
                title='Training loss')
    lows, highs = [low for low, _ in losses], [high for _, high in losses]
    if lows and min(lows) > 0 and max(highs) / min(lows) > 10:
        loss_ax.set_yscale('log')
        loss_ax.set_title('Training loss (log scale)')
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)


def _colors(n):
    from matplotlib import colormaps
    cmap = colormaps['tab10' if n <= 10 else 'tab20']
    return [cmap(i % cmap.N) for i in range(n)]


def report_table(groups):
    """The report's Markdown table (a list of lines): one row per configuration."""
    keys = list(groups[0]['settings']) if groups else []
    head = (keys or ['configuration']) + ['runs', 'final val. acc. (%)', 'best val. acc. (%)',
                                          'best epoch', 'final train loss', 's / epoch']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for group in groups:
        s = summarize(group)
        acc = percent(s['final_acc'])
        if not math.isnan(s['final_acc_std']):
            acc += f' ± {100 * s["final_acc_std"]:.2f}'
        runs = f'{s["ok"]}' if s['ok'] == s['runs'] else f'{s["ok"]} of {s["runs"]}'
        if s['diverged']:
            runs += f' ({s["diverged"]} diverged)'
        if s['diverging']:
            runs += f' ({s["diverging"]} diverging)'
        cells = [_value_text(v) for v in group['settings'].values()] or [group['label']]
        cells += [runs, acc, percent(s['best_acc']),
                  _value_text(s['best_epoch']) if s['ok'] else '–',
                  '–' if not s['ok'] else f'{s["final_train_loss"]:.4f}',
                  _seconds(s['seconds_per_epoch'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def _defaults():
    from dataclasses import asdict
    return {**asdict(TrainConfig()), 'backend': 'vugrad'}


def _seconds(x):
    return '–' if math.isnan(x) else f'{x:.1f}' if x >= 10 else f'{x:.2f}'


def write_report(folder, runs, groups, plot_name='curves.png', command=None):
    """
    Write folder/report.md: what was run, the table, the plot (folder/`plot_name`, where there
    is such a file; None: no plot), the failed runs.
    """
    lines = _report_head(folder, runs, groups, command)
    lines += ['', *report_table(groups), '']
    lines.append('*final val. acc.*: the validation accuracy after the last epoch, mean ± '
                 'standard deviation over seeds. *best*: the epoch where the mean validation '
                 'accuracy peaks, and that mean. *s / epoch*: the mean time of one training pass '
                 '(without validation). *diverged*: the training loss became inf or nan, and the '
                 'run stopped there (try a smaller learning rate). *diverging*: the training loss '
                 "ended above its first epoch's (the run may be diverging: try a smaller learning "
                 'rate).')
    if plot_name and os.path.exists(os.path.join(folder, plot_name)):
        lines += ['', f'![Validation accuracy and training loss per epoch]({plot_name})']
    per_class = per_class_table(groups)
    if per_class:
        note = ('After the last epoch, mean over seeds (– : no validation examples of that '
                'class).')
        lines += ['', '## Validation accuracy per class (%)', '', note, '', *per_class]
    lines += _runs_that_did_not_finish(runs)
    text = '\n'.join(lines) + '\n'
    with atomic_write(os.path.join(folder, 'report.md'), newline='') as f:
        f.write(text)
    return text


def _report_head(folder, runs, groups, command):
    """The report's first lines: its title, what ran, the command, the common settings."""
    ok = [r for r in runs if r['status'] == 'ok']
    seeds = sorted({r['config'].get('seed') for r in runs}, key=lambda s: (s is None, s))
    epochs = sorted({len(r['metrics']) for r in ok})
    name = os.path.basename(os.path.abspath(folder))
    lines = [f'# Sweep: {name}', '']
    lines.append(f'{len(runs)} runs: {len(groups)} configuration{"s" * (len(groups) != 1)} × '
                 f'{len(seeds)} seed{"s" * (len(seeds) != 1)} '
                 f'({", ".join(_value_text(s) for s in seeds)}); '
                 f'{len(ok)} finished'
                 + (f', {len(epochs) == 1 and epochs[0] or "/".join(map(str, epochs))} epochs each'
                    if epochs else '') + '.')
    if command:
        lines += ['', '```', command, '```']
    keys = varied_keys(runs)
    fixed = {}
    defaults = _defaults()
    for k, v in (runs[0]['config'].items() if runs else []):
        if k not in keys and k != 'seed' and k not in NOT_SETTINGS and (
                k in ALWAYS_SHOWN or k not in defaults or defaults[k] != v):
            fixed[k] = v
    if fixed:
        lines += ['', 'The same in every run: ' + ', '.join(f'`{k}={_value_text(v)}`'
                                                          for k, v in fixed.items())
                  + "; the rest as `vugrad train` has it (each run's config.json holds all "
                  'of its settings).']
    return lines


def _runs_that_did_not_finish(runs):
    """The report's sections on the runs that diverged, failed or did not finish (lines)."""
    lines = []
    diverged = [r for r in runs if r['status'] == 'diverged']
    if diverged:
        lines += ['', f'## Diverged runs ({len(diverged)})', '']
        lines += [f'- `{r["id"]}`: {r["error"].partition(". Try")[0]}' for r in diverged]
    failed = [r for r in runs if r['status'] == 'failed']
    if failed:
        lines += ['', f'## Failed runs ({len(failed)})', '']
        lines += [f'- `{r["id"]}`: {r["error"]} (see `{r["id"]}/error.txt`)' for r in failed]
    unfinished = [r for r in runs if r['status'] == 'unfinished']
    if unfinished:
        lines += ['', f'## Unfinished runs ({len(unfinished)})', '',
                  'Run the sweep again to finish them.', '']
        lines += [f'- `{r["id"]}`' for r in unfinished]
    return lines


def write_outputs(folder, title=None, log=None, warn=None):
    """
    (Re)make folder/metrics.csv, folder/curves.png and folder/report.md from the run folders
    under `folder`. The plot is left out (and report.md shows none) when no run finished, or,
    with a note, when matplotlib is not installed: written_files(figure) names what was
    written. A run whose files are malformed is left out, with a warning: `warn(message)`
    (default: `log` when given, else warnings.warn). Returns (runs, groups, figure or None).
    """
    warn = warn or log
    log = log or (lambda *args, **kwargs: None)
    runs = load_runs(folder, warn=warn)
    groups = group_runs(runs)
    write_csv(os.path.join(folder, 'metrics.csv'), runs)
    fig = None
    if any(g['ok'] for g in groups):
        try:
            fig = plot_curves(groups, os.path.join(folder, 'curves.png'),
                              title=title or os.path.basename(os.path.abspath(folder)))
        except ImportError:
            log('## matplotlib is not installed (pip install matplotlib): no curves.png')
    info = _read_json(os.path.join(folder, 'sweep.json')) or {}
    write_report(folder, runs, groups, plot_name='curves.png' if fig is not None else None,
                 command=info.get('command'))
    return runs, groups, fig


def written_files(fig):
    """The files that write_outputs wrote, for a message, from the figure it returned."""
    return ('metrics.csv, curves.png and report.md' if fig is not None else
            'metrics.csv and report.md')
