"""
The lock of a sweep's folder: while a sweep runs into a folder, the folder holds the file
sweep.lock with the sweep's pid, host and start time, so that a second sweep into it stops at
once and names the first. The lock of a sweep that is gone (its pid no longer alive on this
host) is taken over, with a note.
"""

import contextlib
import json
import os
import socket
import sys
import time

from .grid import SweepError

__all__ = ['LOCK_NAME', 'SweepLockedError', 'folder_lock']

#: The lock file of a sweep's folder: {"pid", "host", "started"} of the sweep that runs in it.
LOCK_NAME = 'sweep.lock'


class SweepLockedError(SweepError):
    """Another sweep runs into the same folder: it holds the folder's lock."""


def _pid_alive(pid):
    """Whether process `pid` of this host runs (a zombie, ended but not reaped, does not)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    if sys.platform == 'win32':
        return True          # -- os.kill(pid, 0) would end it there: assume it runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True          # -- another user's process
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rpartition(')')[2].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):
        return True          # -- no /proc (macOS): kill said it is there


def _describe_holder(holder):
    """The sweep that holds a lock, as its lock file says: 'pid 12 on host, started ...'."""
    return (f'pid {holder.get("pid")} on {holder.get("host")}, started '
            f'{holder.get("started")}')


@contextlib.contextmanager
def folder_lock(out, log=print, instead='Wait for it to end, or give another --out'):
    """
    Hold the lock of the sweep folder `out` (its file LOCK_NAME, made with O_CREAT | O_EXCL,
    so that only one process can make it) for the `with` block; release it at the end, also
    on an error or Ctrl-C. Raises SweepLockedError when a live process holds it (its message
    says `instead`: what to do); takes over the lock of a process that is gone, with a note
    to `log`. `vugrad plot` holds it too while it rewrites the sweep's outputs.
    """
    log = log or (lambda *args, **kwargs: None)
    path = os.path.join(out, LOCK_NAME)
    me = {'pid': os.getpid(), 'host': socket.gethostname(),
          'started': time.strftime('%Y-%m-%d %H:%M:%S %z')}
    text = json.dumps(me) + '\n'
    _acquire(out, path, me, text, log, instead)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            with open(path) as f:
                ours = f.read() == text
            if ours:
                os.remove(path)


def _acquire(out, path, me, text, log, instead):
    """
    folder_lock's taking of the lock file `path`, to hold `text` (the json of `me`): made at
    once, or after waiting for the sweep that made it to write it, or after taking over the
    lock of a sweep that is gone. Raises SweepLockedError when a live sweep holds it (saying
    `instead`).
    """
    deadline = time.monotonic() + 10
    while not _create(path, text):
        found = _read_lock(path)
        if found is None:
            continue                      # -- released just now: try again
        seen, age, holder = found
        if holder is None and age < 5 and time.monotonic() < deadline:
            time.sleep(0.05)              # -- being written by the sweep that made it
            continue
        if holder is not None and (holder.get('host') != me['host']
                                   or _pid_alive(holder.get('pid'))):
            raise SweepLockedError(
                f'{out} is in use by another sweep ({_describe_holder(holder)}; lock file '
                f'{path}). {instead}; if no sweep runs there any more, delete the lock file.')
        if time.monotonic() > deadline:
            raise SweepLockedError(f'could not take the lock {path} of {out}: delete it if no '
                                   'sweep runs there.')
        _take_over(path, seen)
        log('## took over the stale lock of a sweep that is gone ('
            + (_describe_holder(holder) if holder else 'an unreadable lock file') + ')')


def _create(path, text):
    """Make the lock file `path`, holding `text`, unless it exists: whether it was made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(path)
        raise
    return True


def _read_lock(path):
    """
    (its text, its age in seconds, its holder: the dict it holds, or None where it is not one)
    of the lock file `path`; None when there is no such file.
    """
    try:
        with open(path) as f:
            seen = f.read()
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(seen)
    except ValueError:
        holder = None
    return seen, age, holder if isinstance(holder, dict) else None


def _take_over(path, stale):
    """Remove the stale lock file `path` (whose text was `stale`), unless another took it."""
    aside = f'{path}.{os.getpid()}.stale'
    try:
        os.rename(path, aside)            # -- atomic: of two sweeps, one moves it
    except FileNotFoundError:
        return
    try:
        with open(aside) as f:
            moved = f.read()
        if moved != stale:                # -- another sweep's fresh lock: put it back
            with contextlib.suppress(OSError):
                os.link(aside, path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(aside)
