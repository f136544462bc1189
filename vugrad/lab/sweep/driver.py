"""
The sweep's driver: run_sweep, the process that checks the grid, locks the folder, skips the
runs that finished before, hands the others to a pool (make_pool: processes here, or a Dask
cluster's workers), says how each ended, and writes the outputs (vugrad.lab.report).

Dask is optional: vugrad.lab.cluster is imported only for a sweep with a cluster, as
vugrad.lab.runner imports PyTorch only for backend='torch'.
"""

import dataclasses
import os

from ...fileio import write_json
from .. import report
from ..config import TrainConfig
from .grid import SweepError, check_sweep, plural, previous_run_id
from .lock import folder_lock
from .pool import LocalPool
from .runs import finished_run

__all__ = ['make_pool', 'run_sweep']


def make_pool(jobs=None, threads=None, cluster=None, dry_run=False):
    """
    The pool that runs a sweep's runs: LocalPool(jobs, threads), processes on this machine; or
    with `cluster` (a Dask scheduler's address, or local:N) vugrad.lab.cluster.ClusterPool,
    whose module is imported only then. Without Dask, a ClusterError says what to install (in
    a dry run, which starts nothing, only when it runs).
    """
    if cluster is None:
        return LocalPool(jobs, threads)
    from ..cluster import ClusterPool, import_distributed   # -- Dask is optional
    pool = ClusterPool(cluster)
    if not dry_run:
        import_distributed()      # -- without Dask, say so before anything is made
    return pool


def run_sweep(out, fixed=None, vary=None, seeds=1, jobs=None, threads=None, save=None,
              command=None, dry_run=False, log=print, cluster=None, pool=None):
    """
    Run the grid of make_grid(fixed, vary, seeds) into the folder `out`, `jobs` runs at a time
    (None: one per core), each in a new process with `threads` BLAS/OpenMP threads (None:
    cores // jobs, at least 1), or on the Dask cluster `cluster`; skip the runs that finished
    before; then write metrics.csv, curves.png and report.md.

    The folder is locked while the sweep runs (its file sweep.lock holds the sweep's pid, host
    and start time): a second sweep into it raises SweepLockedError at once, naming the first;
    the lock of a sweep that is gone (its pid not alive on this host) is taken over, with a
    note. A dry run takes no lock.

    :param save: a file name (.npz): save each run's trained parameters under it in the run's
        folder.
    :param command: the command line, shown in the report.
    :param dry_run: only list the runs (and whether they are done); run nothing.
    :param cluster: where the runs run, when not here: a Dask scheduler's address
        (tcp://HOST:PORT, tls://HOST:PORT) or local:N (see cluster_problem), every run one
        task there (see vugrad.lab.cluster). No jobs or threads then: the cluster's workers
        decide. Raises ClusterError (a SweepError) when the cluster cannot be used, before any
        run starts.
    :param pool: what runs the runs, if not the pool of make_pool(jobs, threads, cluster): an
        object with the methods of a pool (see LocalPool).
    :returns: a list of dicts, one per run in grid order, with id, folder, status ('ok',
        'skipped' (finished before), 'failed', 'diverged' (the training loss became NaN or
        inf: a finished run, with the epochs before), or 'pending' in a dry run) and message.
    """
    grid = check_sweep(out, fixed, vary, seeds, jobs=jobs, threads=threads, save=save,
                       cluster=cluster)
    pool = pool if pool is not None else make_pool(jobs, threads, cluster, dry_run=dry_run)
    # -- what sweep.json records: how the sweep was asked for
    asked = {'command': command,
             'fixed': dataclasses.asdict(fixed) if isinstance(fixed, TrainConfig) else fixed,
             'vary': vary, 'seeds': seeds}
    options = dict(grid=grid, out=out, save=save, asked=asked, dry_run=dry_run,
                   log=log or (lambda *args, **kwargs: None), pool=pool)
    if dry_run:
        return _run_sweep(**options)
    os.makedirs(out, exist_ok=True)
    with folder_lock(out, log=log):
        return _run_sweep(**options)


def _run_sweep(grid, out, save, asked, dry_run, log, pool):
    """run_sweep's work, in the folder `out` that it has locked (unless a dry run)."""
    results, todo = _plan(grid, out, save)
    configurations = len(grid) // max(len({s['seed'] for _, s in grid}), 1)
    log(f'## sweep: {plural(len(grid), "run")} ({plural(configurations, "configuration")} x '
        f'{plural(len(grid) // max(configurations, 1), "seed")}) in {out}; '
        f'{len(grid) - len(todo)} finished before; {pool.describe(len(todo))}')
    for r in results:
        if r['status'] == 'skipped':
            log(f'## skipped (finished): {r["id"]}')
    if dry_run:
        for task in todo:
            log(f'## would run: {task["id"]}')
        return results
    interrupted = _run_tasks(grid, out, todo, results, asked, log, pool)
    if interrupted:
        log(f'## interrupted ({pool.stopped}): run the same command again to finish the sweep '
            '(finished runs are kept)')
    _finish(out, results, log)
    if interrupted:
        raise KeyboardInterrupt
    return results


def _plan(grid, out, save):
    """
    (results, todo): a result per run of the grid (status 'skipped' where it finished before,
    else 'pending'), and the task of each run to run. A finished run with other settings is a
    clash, not a skip: a SweepError.
    """
    results, todo = [], []
    for index, (id_, settings) in enumerate(grid):
        folder, previous = os.path.join(out, id_), previous_run_id(id_, settings)
        if previous and not os.path.exists(folder) \
                and os.path.isdir(os.path.join(out, previous)):
            # -- a sweep's folder made by vugrad 0.2, which named large numbers otherwise
            id_, folder = previous, os.path.join(out, previous)
        result = {'id': id_, 'folder': folder, 'status': 'pending', 'message': ''}
        settings = _resolved(settings)   # -- as the run records it: cifar10's recipe applied
        done = finished_run(folder)
        if done is not None:
            theirs, ours = _comparable(done.get('config', {})), _comparable(settings)
            if theirs != ours:
                diff = ', '.join(f'{k}: {ours.get(k)!r} here, {theirs.get(k)!r} there'
                                 for k in sorted(set(theirs) | set(ours))
                                 if theirs.get(k) != ours.get(k))
                raise SweepError(f'{folder} holds a finished run with other settings ({diff}); '
                                 'use another --out, or delete that folder to run it again.')
            result.update(status='skipped', message='finished before')
        else:
            todo.append({'id': id_, 'index': index, 'folder': folder, 'settings': settings,
                         'save': save})
        results.append(result)
    return results, todo


def _comparable(config):
    """A run's settings without those that say where its files go (report.NOT_SETTINGS)."""
    return {k: v for k, v in config.items() if k not in report.NOT_SETTINGS}


def _resolved(settings):
    """
    A run's settings as it records them (in config.json and metrics.json): those of
    TrainConfig.resolved(), so a data set's recipe (-D cifar10: batch 4, lr 0.001, ...) fills
    the settings that were not given; backend kept.
    """
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    try:
        config = TrainConfig(**{k: v for k, v in settings.items() if k in names}).resolved()
    except (TypeError, ValueError):
        return dict(settings)
    resolved = {k: v for k, v in dataclasses.asdict(config).items() if k in settings}
    return {**settings, **resolved}


def _run_tasks(grid, out, todo, results, asked, log, pool):
    """
    Write out/sweep.json (`asked`), then run the tasks `todo` with `pool`, the first seed of
    every configuration first, each result updated and logged as its run ends. Returns whether
    Ctrl-C (or SIGTERM) interrupted the runs; the pool is closed in any case.
    """
    if todo:
        pool.open(log)        # -- a cluster: connected, its versions checked, before any file
    try:
        os.makedirs(out, exist_ok=True)
        write_json(os.path.join(out, 'sweep.json'), asked)
        # -- the first seed of every configuration first, so an interrupted sweep has them all
        seed_rank = {s: i for i, s in enumerate(dict.fromkeys(s['seed'] for _, s in grid))}
        ordered = sorted(todo, key=lambda t: (seed_rank[t['settings']['seed']], t['index']))
        try:
            if ordered:
                pool.run(ordered, _progress(results, len(todo), log))
        except KeyboardInterrupt:
            return True
    finally:
        if todo:
            pool.close()
    return False


def _progress(results, total, log):
    """The `done` of a pool's run(): records each run's end in `results` and logs it."""
    by_id, count = {r['id']: r for r in results}, 0

    def done(task, status, message, seconds):
        nonlocal count
        by_id[task['id']].update(status=status, message=message)
        count += 1
        log(f'[{count:{len(str(total))}}/{total}] '
            f'{"ok" if status == "ok" else status.upper():8}  {task["id"]}  {message}'
            f'  [{seconds:.0f} s]')
    return done


def _finish(out, results, log):
    """
    The end of a sweep: its metrics.csv, curves.png and report.md written (from the files of
    all its runs), the per-class table logged, and the runs that failed or diverged named.
    """
    _, groups, fig = report.write_outputs(out, log=log)
    per_class = report.per_class_table(groups)
    if per_class:
        log('## validation accuracy per class (%), after the last epoch, mean over seeds:')
        for line in per_class:
            log(line)
    failed = [r for r in results if r['status'] == 'failed']
    log(f'## wrote {report.written_files(fig)} in {out}')
    if failed:
        log(f'## {len(failed)} run{"s" * (len(failed) != 1)} failed: see error.txt in '
            + ', '.join(r['folder'] for r in failed))
    diverged = [r for r in results if r['status'] == 'diverged']
    if diverged:
        log(f'## {plural(len(diverged), "run")} diverged (the training loss became nan or inf; '
            'try a lower learning rate): ' + ', '.join(r['id'] for r in diverged))
