"""
check_op in a process of its own, for a grader that must never hang: an op that never
finishes is stopped after the time limit (`timed-out`), and one that allocates far too much
meets a memory cap (a MemoryError: `crashed`) instead of the machine's memory. A process that
dies (a signal, os._exit) is reported as `crashed` too. Either way the caller gets a report and
goes on with the next op.
"""

import os
import signal
import sys

from . import calls
from .checker import check_op, crashed, timed_out
from .findings import OpReport
from .inputs import default_arity, input_names

MEMORY = 2 * 1024 ** 3      # -- bytes the child may allocate beyond what it starts with


def check_isolated(op, *inputs, constants=None, seed=0, timeout=10.0, memory=MEMORY):
    """
    check_op(op, *inputs, constants=..., seed=...) in a child process (forked, so the op need
    not be importable by name), stopped after `timeout` seconds, with at most `memory` bytes
    more address space than the parent has (where the OS supports the cap). What the op prints
    goes to stderr. Where fork is not available (Windows) the op is checked in this process,
    with check_op's own timeout.

    :return: An OpReport, also for an op that hung or crashed.
    """
    import multiprocessing
    if 'fork' not in multiprocessing.get_all_start_methods():
        report = check_op(op, *inputs, constants=constants, seed=seed, timeout=timeout)
        report.notes.append('checked in this process (fork is not available): no memory cap.')
        return report
    context = multiprocessing.get_context('fork')
    reader, writer = context.Pipe(duplex=False)
    sys.stdout.flush()      # -- else the child would inherit, and write again, what is buffered
    sys.stderr.flush()
    child = context.Process(target=_child, args=(writer, op, inputs, constants, seed, memory),
                            daemon=True)
    child.start()
    writer.close()
    data, ready = None, False
    try:
        ready = reader.poll(timeout)     # -- also True when the child died: recv() then fails
        data = reader.recv() if ready else None
    except EOFError:
        pass
    finally:
        child.join(timeout=5 if ready else 0)
        if child.is_alive():
            child.kill()
            child.join()
        reader.close()
    if data is not None:
        return OpReport.from_dict(data)
    report = OpReport(op.__name__, input_names(op, len(inputs) or default_arity(op)))
    report.add(timed_out(timeout) if not ready else crashed(_death(child.exitcode)))
    return report


def _death(code):
    if code is not None and code < 0:
        return f'The process checking the op died from signal {signal.Signals(-code).name}'
    return f'The process checking the op ended on its own, with exit status {code}'


def _child(writer, op, inputs, constants, seed, memory):
    """In the child: check the op and send back the report as plain data."""
    os.dup2(2, 1)           # -- the op's prints go to stderr: stdout carries the reports
    sys.stdout = sys.stderr
    _cap_memory(memory)
    try:
        data = check_op(op, *inputs, constants=constants, seed=seed).to_dict()
    except BaseException as e:     # noqa: BLE001 - sys.exit in the op, an error of the checker
        report = OpReport(op.__name__)
        what = ('The op ended the process' if isinstance(e, SystemExit) else
                'The checker stopped on an error (an op it cannot handle, or a bug in vugrad)')
        report.add(crashed(f'{what}: {calls.describe(e, op)}'))
        data = report.to_dict()
    writer.send(data)
    writer.close()


def _cap_memory(extra):
    """Limit the address space to what the process uses now plus `extra` bytes (Linux)."""
    try:
        import resource
        with open('/proc/self/statm') as f:
            used = int(f.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')
    except (ImportError, OSError, ValueError):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass
