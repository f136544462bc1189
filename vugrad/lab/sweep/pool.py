"""
The local pool of a sweep: its runs in processes on this machine, a few at a time, each with
its share of the cores as BLAS threads (LocalPool). What a pool is, for this one and for the
Dask cluster's (vugrad.lab.cluster.ClusterPool), is in LocalPool's docstring.
"""

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections import deque

from ...malloc import tune_malloc
from .grid import plural
from .runs import outcome, run_task, start_run

__all__ = ['LocalPool', 'THREAD_VARIABLES']

#: The variables that set the threads of BLAS and OpenMP, set for each run's process.
THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS',
                    'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS')


def _cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # -- macOS, Windows
        return os.cpu_count() or 1


def _die_with_parent():
    """
    End this worker (with SIGTERM) when the sweep's process ends, even if that was killed
    (SIGKILL) and could not stop its workers: Linux's PR_SET_PDEATHSIG does it at once; a
    thread that checks the parent's pid every second does it elsewhere (and where prctl fails).
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return                             # -- not started by a sweep (called directly)
    if sys.platform.startswith('linux'):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)   # -- 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def stop_if_orphaned():
        while True:
            if os.getppid() != parent.pid:     # -- reparented: the sweep is gone
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
                os._exit(1)
            time.sleep(1)
    if os.getppid() != parent.pid:             # -- it ended before prctl took effect
        os._exit(1)
    threading.Thread(target=stop_if_orphaned, name='vugrad-parent-watch', daemon=True).start()


def _worker(task):
    """Run one training run in this (fresh) process; its outcome goes into its folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # -- the sweep stops us with SIGTERM
    _die_with_parent()
    tune_malloc()      # -- this process is the sweep's own (VUGRAD_MALLOC_TUNING=0: no change)
    run_task(task)


class LocalPool:
    """
    How a sweep runs its runs on this machine: each in a new process (spawned), `jobs` at a
    time (None: one per core, no more than there are runs), each with `threads` BLAS/OpenMP
    threads (None: cores // jobs, at least 1).

    A sweep's pool (this one, or vugrad.lab.cluster's) has: describe(count), the line of the
    sweep's first message on how `count` runs will run; open(log) and close(), around the
    running; run(tasks, done), which runs the tasks (dicts: id, index, folder, settings, save)
    in that order as far as it can, calls done(task, status, message, seconds) as each ends
    (status and message from outcome) and raises KeyboardInterrupt, after stopping what runs,
    when interrupted; and stopped, the note printed after an interruption.
    """

    stopped = 'its runs were stopped'

    def __init__(self, jobs=None, threads=None):
        self.jobs, self.threads, self._saved_env = jobs, threads, None

    def describe(self, count):
        self.jobs = max(1, min(self.jobs or _cores(), max(count, 1)))
        self.threads = self.threads or max(1, _cores() // self.jobs)
        return f'{self.jobs} at a time, {plural(self.threads, "BLAS thread")} each'

    def open(self, log):
        self._saved_env = {k: os.environ.get(k) for k in THREAD_VARIABLES}
        for k in THREAD_VARIABLES:   # -- inherited by the runs' processes
            os.environ[k] = str(self.threads)

    def close(self):
        for k, v in (self._saved_env or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env = None

    def run(self, tasks, done):
        pending, running = deque(tasks), {}
        context = multiprocessing.get_context('spawn')
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    task = pending.popleft()
                    start_run(task)
                    process = context.Process(target=_worker, args=(task,),
                                              name=f'vugrad sweep {task["id"]}')
                    process.start()
                    running[process.sentinel] = (process, task, time.perf_counter())
                for sentinel in multiprocessing.connection.wait(list(running)):
                    process, task, start = running.pop(sentinel)
                    process.join()
                    done(task, *outcome(task, process.exitcode), time.perf_counter() - start)
        finally:
            for process, task, _ in running.values():
                process.terminate()
            for process, task, _ in running.values():
                process.join()

