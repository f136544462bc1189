"""
Sweeps on a Dask cluster: the pool (ClusterPool) of `vugrad sweep ... --cluster ADDRESS`, each
run one Dask task.

    vugrad sweep -D synth -e 3 --vary activation=sigmoid,relu --seeds 2 --cluster local:2
    vugrad sweep -D synth -e 3 --vary activation=sigmoid,relu --seeds 2 \
        --cluster tcp://127.0.0.1:8786       # a scheduler started with `dask scheduler`

ADDRESS is a Dask scheduler's (tcp://HOST:PORT, or tls://HOST:PORT with Dask's security
settings, from its configuration), or local:N for a LocalCluster of N single-threaded worker
processes on this machine. The cluster's workers decide how many runs go at a time (so no -j
or --threads): start them with `dask worker ADDRESS --nthreads 1` (their nanny sets
OPENBLAS_NUM_THREADS=1 and the like; see docs/cluster.md) and the results are those of a local
sweep with --threads 1 and the same seeds.

A worker runs its run in a temporary folder of its own, and sends back every file the run
wrote (log.txt, metrics.json or error.txt, the --save checkpoint) as bytes: the workers need
no file system shared with this machine. This process (the driver) writes them into the run's
folder, and does the rest as a local sweep does (vugrad.lab.sweep: resume, metrics.csv,
curves, report, the folder's lock). A run whose worker dies is tried again by the scheduler on
another worker, up to its `distributed.scheduler.allowed-failures`; then the run is recorded
as failed. Ctrl-C cancels the runs that wait in the queue; runs already started on remote
workers are abandoned (they may go on there, but nothing they send is kept).

The sweep imports this module, and builds its pool, only for a sweep with a cluster
(vugrad.lab.sweep.driver.make_pool). From Python (in a script, under
`if __name__ == '__main__':`, as local:N starts processes):

    from vugrad.lab.sweep import run_sweep
    run_sweep('runs/act', fixed=dict(data='synth', epochs=3),
              vary=dict(activation=['sigmoid', 'relu']), seeds=2, cluster='local:2')

Before the first run, the driver checks that every worker (and the scheduler, for Dask) has
the versions of vugrad (and the same vugrad source files), NumPy, Dask and Python that it has;
each run checks its worker again (a worker may join later).

Dask is an optional dependency (pip install 'vugrad[cluster]'), imported only here, and only
when a sweep runs on a cluster.

Dask moves pickled tasks and results: whoever can reach the scheduler can run code on the
workers, and the workers' results are trusted. Use it on machines you trust, with TLS between
machines.
"""

import concurrent.futures
import contextlib
import functools
import hashlib
import importlib
import logging
import os
import pathlib
import platform
import socket
import sys
import tempfile
import threading
import time
import traceback
import uuid

from ..fileio import atomic_write
from .sweep.grid import SweepError, cluster_problem, plural
from .sweep.pool import THREAD_VARIABLES
from .sweep.runs import outcome, run_task, start_run, write_text

__all__ = [
    'ClusterError',
    'ClusterPool',
    'MAX_RUN_BYTES',
    'import_distributed',
    'version_problems',
    'versions',
]

#: The most bytes the files of one run may come to, when a worker sends them back.
MAX_RUN_BYTES = 512 * 2 ** 20

#: What --cluster needs, and how to get it.
INSTALL = "pip install 'vugrad[cluster]'"

#: The versions that must match between the driver and the workers (see versions()).
CHECKED = ('vugrad', 'vugrad source', 'numpy', 'dask', 'distributed', 'python')


class ClusterError(SweepError):
    """
    A sweep cannot use its cluster: Dask is not installed, the scheduler cannot be reached, what
    answers at its address is no Dask scheduler, or the workers run other versions. Raised
    before any run starts (a SweepError: exit status 2).
    """


def import_distributed():
    """The module `distributed` (Dask's), or a ClusterError that says how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(f'--cluster needs Dask (its distributed scheduler), which is not '
                           f'installed here: {INSTALL}') from None
    return distributed


# ---------------------------------------------------------------------- versions

@functools.lru_cache(maxsize=1)
def _source_digest():
    """A digest of vugrad's .py files (names and bytes): the same code, not just the version."""
    return _tree_digest(pathlib.Path(__file__).resolve().parents[1])


def _tree_digest(root):
    """A digest of the .py files under the folder `root`: their paths and their bytes."""
    root = pathlib.Path(root)
    digest = hashlib.sha256()
    for path in sorted(root.rglob('*.py')):
        if '__pycache__' in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b'\0')
        digest.update(path.read_bytes() + b'\0')
    return digest.hexdigest()[:16]


def versions():
    """The versions this process runs: {name: version} for each of CHECKED (None: missing)."""
    import numpy

    import vugrad
    found = {'vugrad': vugrad.__version__, 'vugrad source': _source_digest(),
             'numpy': numpy.__version__, 'python': '.'.join(platform.python_version_tuple()[:2])}
    for name in ('dask', 'distributed'):
        try:
            found[name] = importlib.import_module(name).__version__
        except ImportError:
            found[name] = None
    return found


def version_problems(here, there, names=CHECKED):
    """
    The versions that differ between this process's `here` ({name: version}, as versions()
    gives) and the processes of `there` ({who: {name: version}}, the workers by address): one
    line per package, naming the processes (a few) that differ. [] when all match.
    """
    problems = []
    for name in names:
        differ = {}
        for who, theirs in sorted(there.items()):
            version = (theirs or {}).get(name)
            if version != here.get(name):
                differ.setdefault(version, []).append(str(who))
        if not differ:
            continue
        what = 'source files (digest)' if name == 'vugrad source' else name
        where = '; '.join(f'{version or "missing"} on {", ".join(whos[:3])}'
                          + (f' and {len(whos) - 3} more' if len(whos) > 3 else '')
                          for version, whos in differ.items())
        problems.append(f'{what}: {here.get(name) or "missing"} here, {where}')
    return problems


# ---------------------------------------------------------------------- on the worker

class _PerThread:
    """
    A stream (sys.stdout or sys.stderr on a worker) that writes to the stream its thread has
    set (the log of the run the thread runs), or else to the stream it replaced: runs in the
    threads of one worker each keep their prints and warnings to themselves.
    """

    def __init__(self, fallback):
        self.fallback, self.local = fallback, threading.local()

    def _target(self):
        return getattr(self.local, 'stream', None) or self.fallback

    def write(self, text):
        return self._target().write(text)

    def flush(self):
        return self._target().flush()

    def __getattr__(self, name):
        return getattr(self._target(), name)


_INSTALL_LOCK = threading.Lock()


@contextlib.contextmanager
def _thread_streams(logfile):
    """run_task's redirect on a worker: this thread's prints and warnings go to `logfile`."""
    with _INSTALL_LOCK:
        for name in ('stdout', 'stderr'):
            if not isinstance(getattr(sys, name), _PerThread):
                setattr(sys, name, _PerThread(getattr(sys, name)))
    streams = [s for s in (sys.stdout, sys.stderr) if isinstance(s, _PerThread)]
    before = [getattr(s.local, 'stream', None) for s in streams]
    for s in streams:
        s.local.stream = logfile
    try:
        yield
    finally:
        for s, previous in zip(streams, before):
            s.local.stream = previous


def _collect(folder, final):
    """
    {relative path: bytes} of the files under `folder` (a run's temporary folder), the path
    `folder` written as `final` (the run's folder on the driver) in its text files; over
    MAX_RUN_BYTES in all, only log.txt and an error.txt that says so.
    """
    paths = sorted(p for p in pathlib.Path(folder).rglob('*') if p.is_file())
    total = sum(p.stat().st_size for p in paths)
    files = {}
    if total > MAX_RUN_BYTES:
        log = pathlib.Path(folder, 'log.txt')
        files['log.txt'] = log.read_bytes()[-2 ** 20:] if log.is_file() else b''
        files['error.txt'] = (
            f'the files of this run come to {total / 2 ** 20:.0f} MiB, over the '
            f'{MAX_RUN_BYTES / 2 ** 20:.0f} MiB that a run may send back from its worker '
            '(vugrad.lab.cluster.MAX_RUN_BYTES): '
            + ', '.join(p.relative_to(folder).as_posix() for p in paths) + '\n').encode()
        paths = []
    for path in paths:
        name = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        if name in ('log.txt', 'error.txt'):
            data = data.replace(os.fspath(folder).encode(), os.fspath(final).encode())
        files[name] = data
    return files


def _worker_name():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


def _remote_run(task, expected):
    """
    The task of one run, on a worker: check the worker's versions against the driver's
    (`expected`), run the run (run_task) in a temporary folder, and return {'files': {relative
    path: bytes}, 'seconds', 'worker'}. Every error of the run is in its files (error.txt).
    """
    start = time.perf_counter()
    worker = _worker_name()
    problems = version_problems(expected, {worker: versions()})
    if problems:
        text = (f'the worker {worker} runs other versions than the sweep: '
                + '; '.join(problems) + '\n')
        return {'files': {'error.txt': text.encode()}, 'seconds': 0.0, 'worker': worker}
    with tempfile.TemporaryDirectory(prefix='vugrad-run-') as folder:
        try:
            run_task({**task, 'folder': folder}, redirect=_thread_streams)
        except Exception:   # noqa: BLE001 - anything run_task did not record itself
            write_text(os.path.join(folder, 'error.txt'), traceback.format_exc())
        files = _collect(folder, task['folder'])
    return {'files': files, 'seconds': time.perf_counter() - start, 'worker': worker}


# ---------------------------------------------------------------------- on the driver

#: The names that Windows keeps for its devices (NUL, COM1.txt): no file of a run is one.
_DEVICES = {'CON', 'PRN', 'AUX', 'NUL', *(f'{port}{i}' for port in ('COM', 'LPT')
                                          for i in range(1, 10))}


def _safe_name(name):
    """
    Whether `name`, a path a worker sent, stays inside the run's folder and is a name a run
    writes: not config.json (the driver's, in any letter case: some file systems ignore it),
    no hidden file (atomic_write's temporary files are), no device of Windows.
    """
    if not isinstance(name, str) or not name or '\\' in name or '\0' in name \
            or name.startswith('/') or name.casefold() == 'config.json':
        return False
    return all(part and not part.startswith('.') and part.split('.')[0].upper() not in _DEVICES
               for part in name.split('/'))


def _clash(names):
    """Whether two of `names` are one file where letter case is ignored, or one is a folder of
    another (plots, plots/loss.txt)."""
    folded = [name.casefold() for name in names]
    folders = {'/'.join(parts[:i]) for parts in (n.split('/') for n in folded)
               for i in range(1, len(parts))}
    return len(set(folded)) < len(folded) or not folders.isdisjoint(folded)


def _receive(task, result):
    """Write the files a worker sent for `task` into its folder (metrics.json, the mark of a
    finished run, last); a result that is not what _remote_run returns makes the run fail."""
    start_run(task)
    files = result.get('files') if isinstance(result, dict) else None
    if not isinstance(files, dict) or not all(
            _safe_name(n) and isinstance(d, bytes) for n, d in files.items()) \
            or _clash(list(files)) or sum(len(d) for d in files.values()) > MAX_RUN_BYTES:
        write_text(os.path.join(task['folder'], 'error.txt'),
                    'the worker sent back something other than the files of a run (names '
                    "outside the run's folder or not for it, or over "
                    f'{MAX_RUN_BYTES // 2 ** 20} MiB): nothing was written\n')
        return
    for name in sorted(files, key=lambda n: n == 'metrics.json'):
        path = os.path.join(task['folder'], *name.split('/'))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_write(path, 'wb') as f:
            f.write(files[name])


def _fail(task, text):
    """Record `task` as failed with `text` (its error.txt)."""
    start_run(task)
    write_text(os.path.join(task['folder'], 'error.txt'), text.rstrip('\n') + '\n')


def _unreachable(address, timeout, reason):
    """The ClusterError of a scheduler that nothing answers for at `address`."""
    return ClusterError(f'cannot reach the Dask scheduler at {address} (waited up to {timeout}, '
                        f'distributed.comm.timeouts.connect): {reason}. Is it running '
                        '(`dask scheduler`), and is the address right?')


def _refused(address):
    """Why nothing takes connections at `address` (a second's try), or None where something does."""
    from distributed.comm import parse_address, parse_host_port
    try:
        with socket.create_connection(parse_host_port(parse_address(address)[1]), timeout=1):
            return None
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__


async def _identity(address, seconds, connection_args):
    """What the Dask server at `address` says it is (Server.identity: a dict with its type)."""
    from distributed.comm import connect
    comm = await connect(address, timeout=seconds, **connection_args)
    try:
        await comm.write({'op': 'identity'})
        return await comm.read()
    finally:
        comm.abort()


def _run(coroutine):
    """asyncio.run(coroutine); in a thread of its own where this one runs a loop (Jupyter)."""
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _ask_identity(address, timeout, connection_args):
    """
    Make sure that a Dask scheduler answers at `address` within `timeout` (Dask's setting
    distributed.comm.timeouts.connect, a scheduler that is starting waited for): a ClusterError
    where nothing takes connections there, where what does answers not as Dask does (a web
    server, the dashboard's port), or where a Dask worker or nanny answers.
    """
    import asyncio

    from dask.utils import parse_timedelta
    seconds, why = parse_timedelta(timeout, default='seconds'), None
    try:
        identity = _run(asyncio.wait_for(_identity(address, seconds, connection_args), seconds))
    except TypeError as e:       # -- tls:// without Dask's TLS settings, say
        raise ClusterError(f'cannot connect to {address}: {e}') from None
    except (OSError, asyncio.TimeoutError) as e:
        refused = _refused(address)
        if refused:
            raise _unreachable(address, timeout, refused) from None
        why = (f'something takes connections there, but did not answer within {timeout}'
               if isinstance(e, asyncio.TimeoutError) else
               f'what answers there does not speak Dask ({type(e).__name__})')
    except Exception as e:   # noqa: BLE001 - it sent what Dask cannot read
        why = f'what answers there does not speak Dask ({type(e).__name__})'
    else:
        kind = identity.get('type') if isinstance(identity, dict) else None
        if kind in ('Worker', 'Nanny'):
            scheduler = identity.get('scheduler')
            raise ClusterError(f'a Dask {kind.lower()} answers at {address}, not a scheduler: '
                               + (f'its scheduler is {scheduler}.' if scheduler else
                                  "give the scheduler's address (`dask scheduler` prints it)."))
        if not isinstance(kind, str):
            why = f'what answers there is not a Dask server ({identity!r:.60})'
    if why:
        raise ClusterError(f'no Dask scheduler answers at {address} (is that the dashboard '
                           f'port?): {why}. Give the address that `dask scheduler` prints '
                           '(port 8786 unless set otherwise).')


class ClusterPool:
    """
    The pool of a sweep on a Dask cluster (see vugrad.lab.sweep.pool.LocalPool for what a pool
    does): `address` is a scheduler's (tcp://HOST:PORT, tls://HOST:PORT) or local:N. Nothing
    is imported or connected until open().
    """

    def __init__(self, address):
        problem = cluster_problem(address)
        if problem:
            raise ClusterError(problem)
        self.address = address.strip()
        self.workers = (int(self.address[len('local:'):])
                        if self.address.startswith('local:') else None)
        self.client = self.cluster = None
        self.stopped = ('the runs waiting in the queue were cancelled; runs already started '
                        'on remote workers are abandoned: they may go on there, but nothing '
                        'they send back is kept' if self.workers is None else
                        'the local cluster and its runs were stopped')

    def describe(self, count):
        if self.workers is not None:
            return (f'on a local Dask cluster of {plural(self.workers, "worker")} (processes), '
                    'one thread each')
        return f'on the Dask cluster at {self.address}'

    def open(self, log):
        distributed = import_distributed()
        try:
            self._connect(distributed)
            self._check(log)
        except BaseException:
            self.close()
            raise

    def _connect(self, distributed):
        import dask
        if self.workers is not None:
            single = {k: '1' for k in THREAD_VARIABLES}
            self.cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                dashboard_address=':0', silence_logs=logging.ERROR, env=single)
            self.client = distributed.Client(self.cluster, set_as_default=False)
            return
        timeout = dask.config.get('distributed.comm.timeouts.connect')
        # -- who answers there, first: distributed.Client waits for ever on a port that takes
        #    the connection and never answers as Dask does (the dashboard's, 8787)
        _ask_identity(self.address, timeout,
                      distributed.Security().get_connection_args('client'))
        try:
            self.client = distributed.Client(self.address, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise _unreachable(self.address, timeout, e) from None
        except Exception as e:   # noqa: BLE001 - tls:// without Dask's TLS settings, say
            raise ClusterError(f'cannot connect to {self.address}: '
                               f'{type(e).__name__}: {e}') from None

    def _check(self, log):
        """Check the versions of the workers (and of Dask on the scheduler); log the cluster."""
        here = versions()
        try:
            there = self.client.run(versions)
        except Exception as e:   # noqa: BLE001 - a worker's error, from its own process
            raise ClusterError(f'the workers of {self.address} cannot run vugrad '
                               f'({type(e).__name__}: {e}): install the same vugrad, NumPy '
                               'and Dask there as here.') from None
        problems = version_problems(here, there)
        with contextlib.suppress(Exception):
            scheduler = self.client.get_versions()['scheduler']['packages']
            problems += [f'on the scheduler: {p}' for p in version_problems(
                here, {'the scheduler': scheduler}, names=('dask', 'distributed'))]
        if problems:
            raise ClusterError(f'the cluster at {self.address} runs other versions than this '
                               'machine; install the same ones there:\n  '
                               + '\n  '.join(problems))
        threads = self.client.nthreads()
        log(f'## cluster {self.address}: {plural(len(threads), "worker")}, '
            f'{plural(sum(threads.values()), "thread")}; vugrad {here["vugrad"]}, NumPy '
            f'{here["numpy"]}, Dask {here["dask"]} on each')
        if not threads:
            log('## no workers yet: the runs wait in the queue until workers join')
        elif max(threads.values()) > 1:
            log('## note: workers with more than one thread run several runs at once; start '
                'them with --nthreads 1 for the results and timings of a local sweep with '
                '--threads 1')

    def run(self, tasks, done):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker
        here, token = versions(), uuid.uuid4().hex[:8]
        futures, submitted = {}, time.perf_counter()
        try:
            for i, task in enumerate(tasks):
                future = self.client.submit(_remote_run, task, here, pure=False,
                                            key=f'vugrad-run-{task["id"]}-{token}',
                                            priority=len(tasks) - i)
                futures[future] = task
            with self.client.as_current():        # -- as_completed's client
                ended = as_completed(list(futures))
            for future in ended:
                task = futures.pop(future)
                seconds = time.perf_counter() - submitted
                try:
                    result = future.result()
                except KilledWorker as e:
                    _fail(task, f"the run's worker died while running it (killed, out of "
                                'memory, or a crash), and the scheduler gave up on it after '
                                f'its allowed failures (distributed.scheduler.allowed-failures): '
                                f'{e}')
                except Exception as e:   # noqa: BLE001 - the task could not run or return
                    _fail(task, f'the cluster could not run this run: {type(e).__name__}: {e}')
                else:
                    seconds = result.get('seconds', seconds) if isinstance(result, dict) \
                        else seconds
                    _receive(task, result)
                done(task, *outcome(task, None), seconds)
        finally:
            if futures:             # -- interrupted: what has not ended is cancelled
                with contextlib.suppress(Exception):
                    self.client.cancel(list(futures), force=True)

    def close(self):
        for what in (self.client, self.cluster):
            if what is not None:
                with contextlib.suppress(Exception):
                    what.close()
        self.client = self.cluster = None
