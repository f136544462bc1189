"""
Sweeps on a Dask cluster (vugrad.lab.cluster, the pool of vugrad.lab.sweep.run_sweep with a
cluster): against a real scheduler and worker, started
with the `dask` command as separate processes on 127.0.0.1 (stopped by their process group at
the end), and against `--cluster local:2`. The runs are those of a local sweep with --threads
1, and must give the same numbers.
"""

import ast
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from vugrad.lab import cluster as cluster_module
from vugrad.lab.cli import main
from vugrad.lab.cluster import ClusterError, ClusterPool, _remote_run, version_problems, versions
from vugrad.lab.sweep import CLUSTER_DECIDES, cluster_problem, run_sweep, spec_from_args

try:
    import distributed
except ImportError:          # -- the tests of options, messages and versions run without it
    distributed = None
needs_dask = pytest.mark.skipif(distributed is None,
                                reason="needs Dask: pip install 'vugrad[cluster]'")

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: The issue's command: two configurations x two seeds, three epochs of the synthetic data.
SWEEP = ['sweep', '-D', 'synth', '-e', '3', '--vary', 'activation=sigmoid,relu', '--seeds', '2']
IDS = ['activation=sigmoid,seed=0', 'activation=sigmoid,seed=1', 'activation=relu,seed=0',
       'activation=relu,seed=1']
#: Small runs, for the tests of failures.
TINY = ['-D', 'synth', '--num-train', '200', '--hidden', '8', '-b', '50', '-e', '1']
#: A worker's preload: a run with num_val=77 ends the worker's process (as a crash would).
PRELOAD = '''
import os
import time

from vugrad.lab import runner


def patch(_run):
    def run(config=None, **kwargs):
        if config is not None and config.num_val == 77:
            time.sleep(1)    # -- dies partway through: the worker's earlier messages (a run it
            os._exit(3)      #    finished just before) reach the scheduler first
        if config is not None and str(config.data_dir).endswith('markers'):
            # -- a run of the synthetic data (which has no folder) that says it started, then
            #    takes a second and a half
            open(os.path.join(config.data_dir, f'seed={config.seed}'), 'w').close()
            time.sleep(1.5)
        return _run(config, **kwargs)
    run.dies_at_77 = True
    return run


if not getattr(runner.run, 'dies_at_77', False):     # -- the preload may be imported twice
    runner.run = patch(runner.run)
'''


def _env(**extra):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in [env.get('PYTHONPATH')] if p])
    env.update(extra)
    return env


def _stop(proc):
    """End the process group of `proc` (the scheduler, or a worker with its nanny)."""
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
    proc.wait(timeout=10)


@pytest.fixture(scope='module')
def scheduler(tmp_path_factory):
    """A `dask scheduler` and one `dask worker --nthreads 1`: yields the scheduler's address."""
    where = tmp_path_factory.mktemp('dask')
    file = where / 'scheduler.json'
    (where / 'preload.py').write_text(PRELOAD)
    logs = [open(where / name, 'w') for name in ('scheduler.log', 'worker.log')]
    procs = []
    try:
        procs.append(subprocess.Popen(
            [sys.executable, '-m', 'dask', 'scheduler', '--host', '127.0.0.1', '--port', '0',
             '--no-dashboard', '--scheduler-file', str(file)],
            cwd=where, env=_env(DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES='0'),
            stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (where / 'scheduler.log').read_text()
            time.sleep(0.1)
        address = json.loads(file.read_text())['address']
        procs.append(subprocess.Popen(
            [sys.executable, '-m', 'dask', 'worker', address, '--nthreads', '1',
             '--no-dashboard', '--local-directory', str(where), '--preload',
             str(where / 'preload.py')],
            cwd=where, env=_env(OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1'),
            stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True))
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()


@pytest.fixture(scope='module')
def local(tmp_path_factory):
    """The issue's sweep run here, in processes with --threads 1 (and its parameters saved)."""
    out = tmp_path_factory.mktemp('local') / 'sweep'
    assert main(SWEEP + ['--threads', '1', '--save', 'params.npz', '--out', str(out)]) == 0
    return out


def final_accuracies(out):
    finals = {}
    for id_ in IDS:
        data = json.loads((out / id_ / 'metrics.json').read_text())
        finals[id_] = [row['val_acc'] for row in data['metrics']]
    return finals


def report_without_times(out):
    """report.md without its title, command and the column of seconds per epoch."""
    lines = (out / 'report.md').read_text().splitlines()
    lines = [line for line in lines[1:] if not line.startswith('vugrad sweep')]
    return [line.rsplit('|', 2)[0] if line.startswith('|') else line for line in lines]


# ---------------------------------------------------------------------- on a real cluster

@needs_dask
def test_the_issues_sweep_on_a_scheduler_matches_the_local_sweep(scheduler, local, tmp_path,
                                                                 capsys):
    out = tmp_path / 'cluster'
    assert main(SWEEP + ['--cluster', scheduler, '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert f'## cluster {scheduler}: 1 worker, 1 thread' in printed
    assert printed.count(' ok ') == 4
    assert final_accuracies(out) == final_accuracies(local)
    assert report_without_times(out) == report_without_times(local)
    assert (out / 'metrics.csv').is_file() and (out / 'curves.png').stat().st_size > 0
    for id_ in IDS:
        assert json.loads((out / id_ / 'config.json').read_text()) == \
            json.loads((local / id_ / 'config.json').read_text())
        assert 'epoch 003' in (out / id_ / 'log.txt').read_text()
    assert not (out / 'sweep.lock').exists()

    # -- run again: every run is skipped; with one run gone, only that one runs
    mtimes = {i: os.stat(out / i / 'metrics.json').st_mtime_ns for i in IDS}
    (out / IDS[3] / 'metrics.json').unlink()
    assert main(SWEEP + ['--cluster', scheduler, '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert sum(f'## skipped (finished): {i}' in printed for i in IDS) == 3
    assert '[1/1] ok' in printed and IDS[3] in printed.split('[1/1] ok')[1].splitlines()[0]
    for id_ in IDS[:3]:
        assert os.stat(out / id_ / 'metrics.json').st_mtime_ns == mtimes[id_]
    assert final_accuracies(out) == final_accuracies(local)


@needs_dask
def test_a_failing_run_is_recorded_and_the_others_finish(scheduler, tmp_path, capsys):
    empty = tmp_path / 'no-data'
    empty.mkdir()        # -- no MNIST files: that run fails at once (nothing is downloaded)
    out = tmp_path / 'failing'
    assert main(['sweep', *TINY[2:], '--vary', 'data=synth,mnist', '--data-dir', str(empty),
                 '--cluster', scheduler, '--out', str(out)]) == 1
    printed = capsys.readouterr().out
    assert '] FAILED    data=mnist,seed=0' in printed and '] ok        data=synth' in printed
    assert (out / 'data=synth,seed=0' / 'metrics.json').is_file()
    error = (out / 'data=mnist,seed=0' / 'error.txt').read_text()
    assert 'Traceback' in error and 'mnist' in error
    assert not (out / 'data=mnist,seed=0' / 'metrics.json').exists()
    assert '## Failed runs (1)' in (out / 'report.md').read_text()


@needs_dask
def test_ctrl_c_cancels_the_queue_and_abandons_started_runs(scheduler, tmp_path):
    out = tmp_path / 'stopped'
    lines = []

    def log(line):
        lines.append(line)
        if line.startswith('[1/3]'):     # -- the first run is in: the second has started
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_sweep(str(out), fixed={'data': 'synth', 'num_train': 2000, 'hidden': 8},
                  vary={'epochs': [1, 60, 61]}, log=log, cluster=scheduler)
    assert (out / 'epochs=1,seed=0' / 'metrics.json').is_file()
    assert not (out / 'epochs=60,seed=0').exists() and not (out / 'epochs=61,seed=0').exists()
    assert any('interrupted' in line and 'abandoned' in line for line in lines), lines
    assert (out / 'report.md').is_file() and not (out / 'sweep.lock').exists()


@needs_dask
def test_sigterm_cancels_the_runs_waiting_in_the_queue(scheduler, tmp_path):
    markers = tmp_path / 'markers'     # -- each run of this sweep leaves a file here as it starts
    markers.mkdir()
    proc = subprocess.Popen(
        [sys.executable, '-m', 'vugrad.lab.cli', 'sweep', *TINY, '--seeds', '6', '--data-dir',
         str(markers), '--cluster', scheduler, '--out', str(tmp_path / 'out')],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not os.listdir(markers) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        started = sorted(os.listdir(markers))
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert started == ['seed=0'] and 'runs waiting in the queue were cancelled' in out
        time.sleep(2.5)                  # -- the started run ends; no other may start after it
        assert sorted(os.listdir(markers)) == started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


@needs_dask
def test_an_interrupted_pool_cancels_its_queue_before_it_closes(scheduler, tmp_path):
    from vugrad.lab.sweep import make_grid
    markers = tmp_path / 'markers'
    markers.mkdir()
    grid = make_grid({'data': 'synth', 'num_train': 200, 'hidden': 8, 'batch_size': 50,
                      'epochs': 1, 'data_dir': str(markers)}, seeds=6)
    tasks = [{'id': id_, 'index': i, 'folder': str(tmp_path / id_), 'settings': settings,
              'save': None} for i, (id_, settings) in enumerate(grid)]

    def done(task, status, message, seconds):
        raise KeyboardInterrupt          # -- Ctrl-C as the first run ends
    pool = ClusterPool(scheduler)
    pool.open(log=lambda *args: None)
    try:
        with pytest.raises(KeyboardInterrupt):
            pool.run(tasks, done)
        time.sleep(2.5)                  # -- the client is still there: the queue is not
        assert sorted(os.listdir(markers)) in (['seed=0'], ['seed=0', 'seed=1'])
    finally:
        pool.close()


@needs_dask
def test_a_run_whose_worker_dies_is_recorded_as_failed(scheduler, tmp_path, capsys):
    out = tmp_path / 'killed'
    # -- the worker's preload ends its process for num_val=77; allowed-failures is 0
    assert main(['sweep', *TINY, '--vary', 'num_val=76,77', '--cluster', scheduler,
                 '--out', str(out)]) == 1
    printed = capsys.readouterr().out
    assert '] ok        num_val=76,seed=0' in printed, printed
    assert '] FAILED    num_val=77,seed=0' in printed and 'worker died' in printed
    error = (out / 'num_val=77,seed=0' / 'error.txt').read_text()
    assert 'worker died' in error and 'allowed-failures' in error
    rows = (out / 'metrics.csv').read_text()
    assert 'worker died' in rows


# ---------------------------------------------------------------------- a local cluster

@needs_dask
def test_a_local_cluster_gives_the_local_sweeps_numbers_and_checkpoints(local, tmp_path, capsys):
    out = tmp_path / 'local2'
    assert main(SWEEP + ['--cluster', 'local:2', '--save', 'params.npz', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'on a local Dask cluster of 2 workers' in printed
    assert '## cluster local:2: 2 workers, 2 threads' in printed
    assert final_accuracies(out) == final_accuracies(local)
    for id_ in IDS:      # -- the checkpoints travel back, byte for byte those of a local run
        assert (out / id_ / 'params.npz').read_bytes() == \
            (local / id_ / 'params.npz').read_bytes()
        log = (out / id_ / 'log.txt').read_text()
        assert str(out / id_ / 'params.npz') in log and 'vugrad-run-' not in log


def _descendants(pid):
    """The pids of the processes under `pid` (from /proc)."""
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    parents[int(entry)] = int(f.read().rpartition(')')[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found


def _running(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rpartition(')')[2].split()[0] not in ('Z', 'X')
    except OSError:
        return False


@needs_dask
@pytest.mark.skipif(not os.path.isdir('/proc/self'), reason='needs Linux /proc')
def test_sigterm_stops_a_local_cluster_and_writes_the_report(tmp_path):
    out = tmp_path / 'terminated'
    proc = subprocess.Popen(
        [sys.executable, '-m', 'vugrad.lab.cli', 'sweep', '-D', 'synth', '--num-train', '2000',
         '--hidden', '8', '-e', '100000', '--seeds', '2', '--cluster', 'local:1',
         '--out', str(out)],
        cwd=ROOT, env=_env(PYTHONUNBUFFERED='1'), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    workers = []
    try:
        first = proc.stdout.readline()
        assert first.startswith('## sweep: 2 runs'), first + proc.stderr.read()
        assert proc.stdout.readline().startswith('## cluster local:1: 1 worker')
        time.sleep(1)                    # -- the first run is training on the worker
        workers = _descendants(proc.pid)
        assert workers
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert err.strip().splitlines()[-1] == 'vugrad: stopped by SIGTERM'
        assert 'Traceback' not in err
        assert '## interrupted (the local cluster and its runs were stopped)' in rest
        assert (out / 'report.md').is_file() and not (out / 'sweep.lock').exists()
        deadline = time.monotonic() + 10
        while any(_running(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if _running(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------- options and errors

@pytest.mark.parametrize('extra', [['-j', '2'], ['--threads', '1']])
def test_jobs_and_threads_are_refused_with_a_cluster(extra, tmp_path, capsys):
    out = tmp_path / 'refused'
    assert main(SWEEP + ['--cluster', 'local:2', *extra, '--out', str(out)]) == 2
    assert CLUSTER_DECIDES in capsys.readouterr().err
    assert not out.exists()


def test_a_toml_files_jobs_give_way_to_cluster_but_not_within_the_file(tmp_path):
    from vugrad.lab.cli import build_parser
    path = tmp_path / 'sweep.toml'
    path.write_text('out = "x"\njobs = 2\ndata = "synth"\n')
    spec = spec_from_args(build_parser('sweep').parse_args(
        ['sweep', '--config', str(path), '--cluster', 'local:1']))
    assert (spec['cluster'], spec['jobs'], spec['threads']) == ('local:1', None, None)
    path.write_text('out = "x"\njobs = 2\ncluster = "local:1"\ndata = "synth"\n')
    with pytest.raises(ValueError, match='do not go with --cluster'):
        spec_from_args(build_parser('sweep').parse_args(['sweep', '--config', str(path)]))


def test_cluster_addresses():
    for good in ('local:1', 'local:16', 'tcp://127.0.0.1:8786', 'tls://scheduler.lab:8786',
                 'tcp://[::1]:8786'):
        assert cluster_problem(good) is None, good
    for bad in ('local:0', 'local:', 'local:two', '127.0.0.1:8786', 'tcp://host',
                'http://host:8786', 'tcp://host:70000', '', None):
        assert cluster_problem(bad) is not None, bad
    with pytest.raises(ClusterError, match='tcp://HOST:PORT'):
        ClusterPool('localhost:8786')


def test_a_bad_address_is_named_before_anything_runs(tmp_path, capsys):
    out = tmp_path / 'bad'
    assert main(SWEEP + ['--cluster', 'localhost:8786', '--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert "cluster='localhost:8786'" in err and 'tcp://HOST:PORT' in err
    assert not out.exists()


@needs_dask
def test_a_scheduler_that_is_not_there_is_an_error_within_the_timeout(tmp_path, capsys):
    import socket

    import dask
    with socket.socket() as s:      # -- a port where nothing listens
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with dask.config.set({'distributed.comm.timeouts.connect': '1s'}):
        status = main(SWEEP + ['--cluster', f'tcp://127.0.0.1:{port}',
                               '--out', str(tmp_path / 'nowhere')])
    assert status == 2 and time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert f'cannot reach the Dask scheduler at tcp://127.0.0.1:{port}' in err
    assert 'Traceback' not in err


#: A server that is not a Dask scheduler, for FOREVER seconds at most: `http` (an http.server,
#: as on the dashboard's port) or `silent` (accepts connections and never answers). It prints
#: its port.
NOT_A_SCHEDULER = '''
import http.server, os, socket, sys, threading, time
kind, seconds = sys.argv[1], float(sys.argv[2])
if kind == 'http':
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                             http.server.SimpleHTTPRequestHandler)
    port, serve = server.server_address[1], server.serve_forever
else:
    listener = socket.create_server(('127.0.0.1', 0))
    port, held = listener.getsockname()[1], []
    def serve():
        while True:
            held.append(listener.accept()[0])
threading.Thread(target=serve, daemon=True).start()
print(port, flush=True)
time.sleep(seconds)
os._exit(0)
'''


@pytest.fixture(params=['http', 'silent'])
def not_a_scheduler(request, tmp_path):
    """The address of a server that is not a Dask scheduler (stopped by its pid at the end)."""
    proc = subprocess.Popen([sys.executable, '-c', NOT_A_SCHEDULER, request.param, '120'],
                            stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        yield f'tcp://127.0.0.1:{int(proc.stdout.readline())}'
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()


def _sweep_process(address, out, timeout='3s'):
    """`vugrad sweep` of one tiny run on the cluster `address`, in a process of its own."""
    return subprocess.Popen(
        [sys.executable, '-m', 'vugrad.lab.cli', 'sweep', *TINY, '--cluster', address,
         '--out', str(out)],
        cwd=ROOT, env=_env(PYTHONUNBUFFERED='1', DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=timeout),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@needs_dask
def test_an_address_that_is_not_a_scheduler_is_named_within_the_timeout(not_a_scheduler,
                                                                         tmp_path):
    start = time.monotonic()
    proc = _sweep_process(not_a_scheduler, tmp_path / 'out')
    try:
        _, err = proc.communicate(timeout=3 + 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert time.monotonic() - start < 3 + 10
    assert proc.returncode == 2, err
    assert 'Traceback' not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f'vugrad: error: no Dask scheduler answers at {not_a_scheduler} (is that the '
        'dashboard port?)'), err


@needs_dask
def test_a_workers_address_is_named_as_such(scheduler, tmp_path, capsys):
    with distributed.Client(scheduler, timeout=30, set_as_default=False) as client:
        worker = next(iter(client.scheduler_info()['workers']))
    assert main(SWEEP + ['--cluster', worker, '--out', str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err
    assert err == (f'vugrad: error: a Dask worker answers at {worker}, not a scheduler: its '
                   f'scheduler is {scheduler}.\n')

    async def in_a_notebook():        # -- where an event loop runs already (Jupyter's)
        with pytest.raises(ClusterError, match='a Dask worker answers'):
            ClusterPool(worker).open(log=None)
    import asyncio
    asyncio.run(in_a_notebook())


@needs_dask
@pytest.mark.parametrize('there', ['silent', 'nothing'])
def test_sigterm_while_waiting_for_the_scheduler_stops_at_once(there, tmp_path):
    import socket
    server = None
    if there == 'silent':
        server = subprocess.Popen([sys.executable, '-c', NOT_A_SCHEDULER, 'silent', '120'],
                                  stdout=subprocess.PIPE, text=True, cwd=tmp_path)
        port = int(server.stdout.readline())
    else:
        with socket.socket() as s:      # -- a port where nothing listens
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
    proc = _sweep_process(f'tcp://127.0.0.1:{port}', tmp_path / 'out', timeout='60s')
    try:
        assert proc.stdout.readline().startswith('## sweep: 1 run')
        time.sleep(1)                    # -- waiting for the scheduler now
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - start < 10
        assert proc.returncode == 143, err
        assert err.strip().splitlines() == ['vugrad: stopped by SIGTERM'], err
        assert not (tmp_path / 'out' / 'sweep.lock').exists()
    finally:
        for p in (proc, server):
            if p is not None and p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.communicate(timeout=10)


def test_without_dask_the_command_says_what_to_install(tmp_path):
    code = ('import sys; sys.modules["distributed"] = None; '
            'from vugrad.lab.cli import main; '
            f'sys.exit(main({SWEEP + ["--cluster", "local:2", "--out", str(tmp_path / "o")]!r}))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'vugrad[cluster]'" in lines[0]
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'o').exists()


# ---------------------------------------------------------------------- versions

def test_version_problems_name_what_differs_and_where():
    here = {'vugrad': '0.2.0', 'vugrad source': 'abc', 'numpy': '2.4.6', 'dask': '2026.8.0',
            'distributed': '2026.8.0', 'python': '3.11'}
    assert version_problems(here, {'tcp://a:1': dict(here), 'tcp://b:1': dict(here)}) == []
    assert version_problems(here, {}) == []
    problems = version_problems(here, {'tcp://a:1': dict(here),
                                       'tcp://b:1': {**here, 'numpy': '1.26.4'},
                                       'tcp://c:1': {**here, 'numpy': '1.26.4',
                                                     'vugrad source': 'def'}})
    assert problems == ['source files (digest): abc here, def on tcp://c:1',
                        'numpy: 2.4.6 here, 1.26.4 on tcp://b:1, tcp://c:1']
    missing = version_problems(here, {'tcp://d:1': {k: v for k, v in here.items()
                                                    if k != 'dask'}})
    assert missing == ['dask: 2026.8.0 here, missing on tcp://d:1']
    mine = versions()
    assert set(mine) == {'vugrad', 'vugrad source', 'numpy', 'dask', 'distributed', 'python'}
    if distributed is not None:
        assert mine['distributed'] == distributed.__version__


@pytest.fixture(scope='module')
def threads_cluster():
    """A Dask cluster in this process, one worker thread on tcp: yields its scheduler's address."""
    import logging
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                       protocol='tcp://', host='127.0.0.1',
                                       dashboard_address=':0', silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@needs_dask
@pytest.mark.parametrize('package', ['vugrad', 'vugrad source', 'numpy', 'dask', 'python'])
def test_the_sweep_refuses_workers_with_other_versions(threads_cluster, package, tmp_path,
                                                       monkeypatch):
    import threading
    here = versions()

    def on_the_workers_another(*args):
        # -- the driver asks in this (the main) thread; the workers in their own
        other = threading.current_thread() is not threading.main_thread()
        return {**here, package: '0.0.1'} if other else dict(here)
    monkeypatch.setattr(cluster_module, 'versions', on_the_workers_another)
    out = tmp_path / 'refused'
    with pytest.raises(ClusterError) as e:
        run_sweep(str(out), fixed={'data': 'synth', 'epochs': 1}, cluster=threads_cluster,
                  log=None)
    what = 'source files (digest)' if package == 'vugrad source' else package
    assert str(e.value).startswith(f'the cluster at {threads_cluster} runs other versions')
    assert f'\n  {what}: {here[package]} here, 0.0.1 on tcp://127.0.0.1:' in str(e.value)
    assert not list(out.glob('seed=*'))                      # -- no run started


@needs_dask
def test_a_cluster_runs_the_runs_in_the_order_given(threads_cluster, tmp_path):
    from vugrad.lab.sweep import make_grid
    grid = make_grid({'data': 'synth', 'num_train': 200, 'num_val': 100, 'hidden': 8,
                      'batch_size': 50, 'epochs': 1}, seeds=[5, 2, 9, 0, 7])
    tasks = [{'id': id_, 'index': i, 'folder': str(tmp_path / id_), 'settings': settings,
              'save': None} for i, (id_, settings) in enumerate(grid)][::-1]
    ended = []
    pool = ClusterPool(threads_cluster)        # -- one worker thread: one run at a time
    pool.open(log=lambda *args: None)
    try:
        pool.run(tasks, lambda task, status, message, seconds: ended.append((task['id'], status)))
    finally:
        pool.close()
    assert ended == [(task['id'], 'ok') for task in tasks]


def test_the_source_digest_follows_the_files_contents(tmp_path):
    import shutil
    package = pathlib.Path(cluster_module.__file__).resolve().parents[1]
    copy = tmp_path / 'vugrad'
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns('__pycache__'))
    digest = cluster_module._tree_digest(copy)
    assert digest == versions()['vugrad source']
    train = copy / 'lab' / 'train.py'
    text = train.read_bytes()
    train.write_bytes(text.replace(b'def ', b'def  ', 1))   # -- one byte more, same name
    assert cluster_module._tree_digest(copy) != digest
    train.write_bytes(text)
    assert cluster_module._tree_digest(copy) == digest
    train.rename(copy / 'lab' / 'training.py')              # -- same bytes, another name
    assert cluster_module._tree_digest(copy) != digest
    (copy / 'lab' / 'training.py').rename(train)
    (copy / 'notes.txt').write_text('not code')              # -- only .py files count
    assert cluster_module._tree_digest(copy) == digest


def test_a_worker_with_other_versions_records_the_run_as_failed(tmp_path):
    task = {'id': 'seed=0', 'index': 0, 'folder': str(tmp_path / 'seed=0'),
            'settings': {'data': 'synth'}, 'save': None}
    result = _remote_run(task, {**versions(), 'numpy': '0.0.1'})
    assert set(result['files']) == {'error.txt'}
    text = result['files']['error.txt'].decode()
    assert 'other versions' in text and 'numpy: 0.0.1 here' in text


def test_files_outside_the_runs_folder_are_refused(tmp_path):
    task = {'id': 'seed=0', 'index': 0, 'folder': str(tmp_path / 'seed=0'),
            'settings': {'data': 'synth'}, 'save': None}
    cluster_module._receive(task, {'files': {'../escape.txt': b'x', 'metrics.json': b'{}'}})
    assert not (tmp_path / 'escape.txt').exists()
    assert not (tmp_path / 'seed=0' / 'metrics.json').exists()
    assert 'something other than the files of a run' in \
        (tmp_path / 'seed=0' / 'error.txt').read_text()
    assert re.search(r'"id": "seed=0"', (tmp_path / 'seed=0' / 'config.json').read_text())


def _task(tmp_path):
    return {'id': 'seed=0', 'index': 0, 'folder': str(tmp_path / 'seed=0'),
            'settings': {'data': 'synth', 'seed': 0}, 'save': None}


def test_the_files_a_worker_sends_are_written_whole_then_renamed(tmp_path, monkeypatch):
    task, renamed, failing, replace = _task(tmp_path), [], set(), os.replace

    def recording(source, target, **kwargs):
        if os.path.basename(target) in failing:
            raise OSError(28, 'No space left on device')
        replace(source, target, **kwargs)
        renamed.append(os.path.abspath(target))
    monkeypatch.setattr(os, 'replace', recording)
    metrics = json.dumps({'id': 'seed=0', 'index': 0, 'status': 'ok',
                          'config': task['settings'], 'metrics': []}).encode()
    files = {'log.txt': b'epoch 001\n', 'metrics.json': metrics, 'params.npz': b'PK\x03\x04',
             'plots/loss.txt': b'0.5\n'}
    cluster_module._receive(task, {'files': files})
    folder = tmp_path / 'seed=0'
    written = {p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file()}
    assert written == set(files) | {'config.json'}
    assert {n for n in written if str(folder / n) not in renamed} == set()
    assert renamed[-1] == str(folder / 'metrics.json')      # -- the mark of a finished run last

    # -- a write that fails leaves the file of the earlier try as it was, and no temporary file
    failing.add('log.txt')
    (folder / 'log.txt').write_bytes(b'the earlier try\n')
    with pytest.raises(OSError, match='No space left'):
        cluster_module._receive(task, {'files': files})
    assert (folder / 'log.txt').read_bytes() == b'the earlier try\n'
    assert not [p for p in folder.rglob('.*')]


def test_what_a_run_sends_back_is_capped_on_the_worker_and_on_the_driver(tmp_path, monkeypatch):
    from vugrad.lab.sweep import make_grid
    monkeypatch.setattr(cluster_module, 'MAX_RUN_BYTES', 2000)   # -- a tiny run writes ~3 kB
    settings = make_grid({'data': 'synth', 'num_train': 200, 'num_val': 100, 'epochs': 1,
                          'hidden': 8, 'batch_size': 50})[0][1]
    task = {**_task(tmp_path), 'settings': settings, 'save': 'params.npz'}
    # -- on the worker: over the cap, only the end of log.txt and an error.txt that says so
    result = _remote_run(task, versions())
    assert set(result['files']) == {'log.txt', 'error.txt'}
    assert sum(map(len, result['files'].values())) <= 2000
    error = result['files']['error.txt'].decode()
    assert 'MAX_RUN_BYTES' in error and 'params.npz' in error and 'metrics.json' in error
    cluster_module._receive(task, result)
    folder = tmp_path / 'seed=0'
    assert sorted(os.listdir(folder)) == ['config.json', 'error.txt', 'log.txt']
    status, message = cluster_module.outcome(task, None)
    assert status == 'failed' and 'MAX_RUN_BYTES' in message

    # -- on the driver: a worker that sends more is refused, whatever it sends
    task, folder = {**task, 'folder': str(tmp_path / 'driver')}, tmp_path / 'driver'
    cluster_module._receive(task, {'files': {'log.txt': b'x' * 1000, 'params.npz': b'x' * 1001}})
    assert sorted(os.listdir(folder)) == ['config.json', 'error.txt']
    assert 'nothing was written' in (folder / 'error.txt').read_text()
    cluster_module._receive(task, {'files': {'log.txt': b'x' * 1000, 'params.npz': b'x' * 1000}})
    assert sorted(os.listdir(folder)) == ['config.json', 'log.txt', 'params.npz']


def test_a_failed_run_that_ran_again_on_a_worker_keeps_no_error_txt(tmp_path):
    task, folder = _task(tmp_path), tmp_path / 'seed=0'
    cluster_module._receive(task, {'files': {'log.txt': b'...', 'error.txt': b'OSError: full'}})
    assert cluster_module.outcome(task, None) == ('failed', 'OSError: full')
    metrics = json.dumps({'id': 'seed=0', 'index': 0, 'status': 'ok',
                          'config': task['settings'], 'metrics': []}).encode()
    cluster_module._receive(task, {'files': {'log.txt': b'epoch 001', 'metrics.json': metrics}})
    assert sorted(os.listdir(folder)) == ['config.json', 'log.txt', 'metrics.json']
    assert cluster_module.outcome(task, None) == ('ok', '(no epochs)')


@pytest.mark.parametrize('names', [
    ['config.json'], ['Config.JSON'],                 # -- the driver's (any case: macOS, Windows)
    ['.metrics.json.12.x3.tmp'], ['plots/.hidden'],    # -- hidden: atomic_write's temporary files
    ['NUL'], ['plots/com1.txt'], ['aux.npz'],          # -- Windows's devices
    ['plots', 'plots/loss.txt'], ['log.txt', 'LOG.TXT'],   # -- one name a folder of, or another
    ['../escape.txt'], ['/tmp/abs.txt'], ['plots/../../x'], ['plots/'], [''], ['a\\b']])
def test_names_a_worker_must_not_send_are_refused(names, tmp_path):
    task = _task(tmp_path)
    metrics = json.dumps({'id': 'seed=0', 'index': 0, 'status': 'ok',
                          'config': task['settings'], 'metrics': []}).encode()
    cluster_module._receive(task, {'files': {**{n: b'{"x": 1}' for n in names},
                                             'metrics.json': metrics}})
    folder = tmp_path / 'seed=0'
    assert sorted(os.listdir(folder)) == ['config.json', 'error.txt']
    assert json.loads((folder / 'config.json').read_text())['config'] == task['settings']
    assert 'something other than the files of a run' in (folder / 'error.txt').read_text()
    assert sorted(os.listdir(tmp_path)) == ['seed=0']


# ---------------------------------------------------------------------- the module itself

def test_the_cluster_uses_only_public_names_of_the_sweep():
    """cluster.py imports from the sweep's modules only names they export (in __all__)."""
    import importlib
    tree = ast.parse(pathlib.Path(cluster_module.__file__).read_text(encoding='utf-8'))
    imported = [(node.module, alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level and node.module
                and node.module.startswith('sweep') for alias in node.names]
    assert imported
    for module, name in imported:
        exported = importlib.import_module(f'vugrad.lab.{module}').__all__
        assert not name.startswith('_') and name in exported, (module, name)
