"""
One run of a sweep, in its own folder: start_run makes the folder ready, run_task runs the run
there (training with vugrad.lab.runner.run), outcome reads how it ended. Both pools run their
runs through these: the local one (vugrad.lab.sweep.pool) in a process per run, the Dask one
(vugrad.lab.cluster) on a worker, whose files are then written here.

A run's folder holds config.json (written as it starts), log.txt, and metrics.json (written
atomically: the run finished, status 'ok' or 'diverged') or error.txt (the traceback: it
failed). See vugrad.lab.report for what is read back from them.
"""

import contextlib
import dataclasses
import math
import os
import sys
import traceback

from ...errors import DivergedError
from ...fileio import atomic_write, write_json
from .. import report, runner
from ..config import BACKENDS, TrainConfig
from .grid import RESERVED

__all__ = [
    'finished_run',
    'outcome',
    'run_task',
    'start_run',
    'write_text',
]


def write_text(path, text):
    """Write the text file `path` atomically (a reader sees the old file or the whole new one)."""
    with atomic_write(path, newline='') as f:
        f.write(text)


def _make_config(settings, folder, save):
    """The TrainConfig of a run (validated) and its backend."""
    settings = dict(settings)
    backend = settings.get('backend', 'vugrad')
    if backend not in BACKENDS:
        raise ValueError(f'backend={backend!r}: choose one of {", ".join(BACKENDS)}.')
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in settings.items() if k in names})
    config = dataclasses.replace(config, out=None, progress=False,
                                 save=os.path.join(folder, save) if save else None)
    return config.validate(), backend


@contextlib.contextmanager
def _streams_to(logfile):
    """
    Point this process's stdout and stderr at `logfile` for the block (a run's process: warnings
    and prints of the training go to the run's log).
    """
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = logfile
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams


def run_task(task, redirect=_streams_to):
    """
    Run one run of a sweep in its folder task['folder'] (which exists), where it writes
    log.txt, then metrics.json (written atomically: the run finished; status 'ok' or
    'diverged') or error.txt (the traceback: it failed), and task['save'] if given. The
    local processes and the workers of a cluster (vugrad.lab.cluster) both run this;
    `redirect(logfile)` is the context in which the training's prints and warnings go to the
    log.
    """
    folder = task['folder']
    with open(os.path.join(folder, 'log.txt'), 'w') as logfile:

        def log(*args, **kwargs):
            print(*args, **kwargs, file=logfile, flush=True)
        diverged = None
        try:
            with redirect(logfile):
                config, backend = _make_config(task['settings'], folder, task['save'])
                metrics = runner.run(config, progress=False, log=log)   # -- by config.backend
        except DivergedError as e:
            # -- not a failure but an outcome of these settings: recorded as status 'diverged'
            #    with the epochs before it (rerunning the same settings would diverge again)
            log(f'## diverged: {e}')
            diverged, metrics = e, list(getattr(e, 'metrics', []))
        except Exception:   # noqa: BLE001 - any error of a run is recorded, not raised
            text = traceback.format_exc()
            log(text)
            write_text(os.path.join(folder, 'error.txt'), text)
            return
    # -- the settings as this process saw them (the code may have changed since the sweep
    #    started; then a rerun of the sweep finds them different, and says so)
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESERVED}
    settings['backend'] = backend
    ending = ({'status': 'ok'} if diverged is None else
              {'status': 'diverged', 'error': str(diverged), 'epoch': diverged.epoch,
               'batch': diverged.batch})
    write_json(os.path.join(folder, 'metrics.json'),
               {'id': task['id'], 'index': task['index'], **ending,
                'config': settings, 'metrics': metrics})


def start_run(task):
    """
    Make a run's folder ready for its files: made, the outcome of an earlier try (error.txt,
    metrics.json) removed, config.json written. Done as the run starts on this machine; for
    a run on a cluster, as its files arrive.
    """
    os.makedirs(task['folder'], exist_ok=True)
    for stale in ('error.txt', 'metrics.json'):
        path = os.path.join(task['folder'], stale)
        if os.path.exists(path):
            os.remove(path)
    write_json(os.path.join(task['folder'], 'config.json'),
               {'id': task['id'], 'index': task['index'], 'config': task['settings']})


def outcome(task, exitcode):
    """
    ('ok', summary), ('diverged', where) or ('failed', message) of a run whose process has
    ended, with the exit code `exitcode` (None: not known, as on a cluster). A run that left
    neither metrics.json nor error.txt gets an error.txt that says so.
    """
    folder = task['folder']
    done = finished_run(folder)
    if done is not None and done.get('status') == 'diverged':
        return 'diverged', (done.get('error') or 'training diverged').partition('. Try')[0]
    if done is not None:
        rows = done.get('metrics') or []
        if not rows:
            return 'ok', '(no epochs)'
        seconds = sum(r['seconds'] for r in rows)
        loss = float(rows[-1]['train_loss'])
        return 'ok', (f'val acc {rows[-1]["val_acc"]:.4f}  ({len(rows)} '
                      f'epoch{"s" * (len(rows) != 1)}, {seconds:.1f} s training)'
                      + ('' if math.isfinite(loss) else f'  diverged: training loss {loss}'))
    error = os.path.join(folder, 'error.txt')
    if not os.path.exists(error):
        text = (f"the run's process ended with exit code {exitcode} before it wrote its "
                'metrics (killed, or out of memory?)\n' if exitcode is not None else
                'the run ended without writing its metrics or an error\n')
        write_text(error, text)
    with open(error, errors='replace') as f:
        lines = [line.strip() for line in f if line.strip()]
    return 'failed', lines[-1] if lines else 'failed'


def finished_run(folder):
    """The metrics.json of a finished run in `folder` (report.read_metrics), else None."""
    try:
        return report.read_metrics(os.path.join(folder, 'metrics.json'))
    except report.RunFileError:
        return None          # -- a damaged file: the run is run again (its files replaced)


