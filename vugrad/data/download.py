"""
Where data files live, and how a missing one is downloaded.

Files are read from one folder, chosen in this order:

1. the `data_dir` argument of a loader,
2. the environment variable VUGRAD_DATA,
3. vugrad's cache folder (see `cache_dir()`).

In each case the files of a data set sit in a subfolder named after it (``mnist/``,
``fashion-mnist/``). In cases 1 and 2 nothing is ever downloaded: a missing file is an error.
In case 3 a missing file is downloaded, trying the mirrors in order.

A download goes to a temporary file in the target folder, ``.<name>.<random>.part``. Only once
it has been checked does `os.replace` move it into place, in one step, so a half-written or
corrupt file is never left where a later call would find it. A process killed mid-download
(SIGKILL, a power cut) cannot clean up after itself: the next download of the same file
removes the temporary files it left, and never one that a running download still holds.
"""

import contextlib
import glob
import http.client
import os
import stat as stat_module
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import CorruptDatasetError, DatasetNotFoundError, DownloadError

try:  # -- POSIX: a running download holds a lock on its temporary file
    import fcntl
except ImportError:  # pragma: no cover (Windows, where an open file cannot be deleted anyway)
    fcntl = None

# seconds to wait for a mirror to connect or to send the next block before giving up on it
DOWNLOAD_TIMEOUT = 30

# Without file locks (Windows), a temporary file left by a download is removed once it is this
# many seconds old.
STALE_AFTER = 600


def cache_dir():
    """
    Return vugrad's cache folder, where downloaded data sets are kept.

    On Linux and macOS: ``$XDG_CACHE_HOME/vugrad``, or ``~/.cache/vugrad`` when XDG_CACHE_HOME
    is not set. On Windows: ``%LOCALAPPDATA%\\vugrad``. The folder is not created here.
    """
    return _cache_dir_for(sys.platform, os.environ)


def _cache_dir_for(platform, environ):
    if platform == 'win32':
        base = environ.get('LOCALAPPDATA') or str(Path.home() / 'AppData' / 'Local')
    else:
        base = environ.get('XDG_CACHE_HOME') or str(Path.home() / '.cache')
    return Path(base).expanduser() / 'vugrad'


class Source:
    """
    The folder one data set's files are read from, and whether missing files may be downloaded.

    `origin` says where the folder came from, for error messages.
    """

    def __init__(self, folder, may_download, origin):
        self.folder = Path(folder)
        self.may_download = may_download
        self.origin = origin

    def __repr__(self):
        return f'Source({str(self.folder)!r}, may_download={self.may_download})'


def locate(subdir, data_dir=None):
    """Pick the folder for data set `subdir`: data_dir, else $VUGRAD_DATA, else the cache."""
    if data_dir is not None:
        return Source(Path(data_dir).expanduser() / subdir, False, f'data_dir={str(data_dir)!r}')
    env = os.environ.get('VUGRAD_DATA')
    if env:
        return Source(Path(env).expanduser() / subdir, False, f'VUGRAD_DATA={env}')
    return Source(cache_dir() / subdir, True, "vugrad's cache folder")


def missing_file_error(path, source, what, cache):
    """The DatasetNotFoundError for a file that is not in a folder we may not download into."""
    path = Path(path)
    hint = ''
    if (path.parent.parent / path.name).exists():
        hint = (f'\n(There is a {path.name} in {path.parent.parent}: the files go in its '
                f'{path.parent.name}/ subfolder.)')
    return DatasetNotFoundError(
        f'{what} not found: {path}\n'
        f'The folder comes from {source.origin}; nothing is downloaded when a data folder is '
        f'given.{hint}\n'
        f'What to do: put the file in {path.parent}, or unset VUGRAD_DATA and leave out data_dir '
        f'to have vugrad download it into {cache}.',
        path,
    )


def _blocker(path):
    """The nearest existing folder-or-file above `path` that is not a folder, or None."""
    for parent in Path(path).parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def _elsewhere(source):
    if source.may_download:
        return ("or set XDG_CACHE_HOME (on Windows LOCALAPPDATA) to move vugrad's cache "
                "folder, or set VUGRAD_DATA to a folder that holds the files.")
    return 'or point data_dir or VUGRAD_DATA to another folder.'


def blocked_folder_error(path, source, what):
    """The DatasetNotFoundError for a file that sits where a folder above `path` should be."""
    path = Path(path)
    blocker = _blocker(path) or path.parent
    return DatasetNotFoundError(
        f'{what} cannot be read: {blocker} is a file, where a folder should be.\n'
        f'The data folder is {source.folder} ({source.origin}).\n'
        f'What to do: move or delete the file {blocker}, {_elsewhere(source)}',
        path,
    )


def unreadable_error(path, source, what, problem=None):
    """
    The DatasetNotFoundError for a data file we cannot read: a folder where the file should
    be (problem None), or the OSError that reading it raised (permission denied, say).
    """
    if problem is None:
        problem, fix = f'{path} is not a file (a folder?)', f'move or delete {path}'
    else:
        fix = f'make {path} readable, or delete it'
    return DatasetNotFoundError(
        f'{what} cannot be read: {problem}\n'
        f'The data folder is {source.folder} ({source.origin}).\n'
        f'What to do: {fix}, {_elsewhere(source)}',
        path,
    )


def url_for(mirror, filename):
    """The URL of `filename` on `mirror` (a base URL, with or without the trailing slash)."""
    return mirror.rstrip('/') + '/' + filename


def read_or_download(path, source, what, check, mirrors, *, memory, key, not_found,
                     max_bytes=None):
    """
    The checked contents of the data file `path` in `source`'s folder, read once per process.

    check: reads and checks a file (given its path); raises CorruptDatasetError if it is bad.
    memory, key: what was read before, by key(os.stat_result) of the file as it is now, so a
      file that has changed is read and checked anew.
    not_found: makes the error for a missing file where nothing may be downloaded.
    A missing file is downloaded from `mirrors` (cut off past max_bytes) when `source` allows
    it. Every other problem (a folder that is a file, a file we may not read, a corrupt file)
    is a DatasetError that says what to do.
    """
    try:
        st = path.stat()
    except NotADirectoryError:  # -- a file where the data folder (or one above it) should be
        raise blocked_folder_error(path, source, what) from None
    except PermissionError as e:
        raise unreadable_error(path, source, what, f'{type(e).__name__}: {e}') from None
    except FileNotFoundError:
        if not source.may_download:
            raise not_found() from None
        found = download(path.name, source.folder, mirrors, check, what, max_bytes=max_bytes)
        memory[key(path.stat())] = found
        return found
    if not stat_module.S_ISREG(st.st_mode):
        raise unreadable_error(path, source, what)
    k = key(st)
    if k not in memory:
        try:
            memory[k] = check(path)
        except CorruptDatasetError as e:
            raise corrupt_cached_file(e, path, what, source, mirrors) from None
        except OSError as e:  # -- not the contents: the file cannot be read at all
            raise unreadable_error(path, source, what, f'{type(e).__name__}: {e}') from None
    return memory[k]


def download(filename, folder, mirrors, check, what='file', timeout=None, max_bytes=None):
    """
    Download `filename` into `folder`, trying each mirror in turn until one gives a good copy.

    check: called with the path of the downloaded (temporary) file; it raises
      CorruptDatasetError if the file is bad and otherwise returns something, which `download`
      returns. This is how a file is verified before it is moved into place.
    what: how to name the file in messages ("MNIST file train-images-idx3-ubyte.gz").
    max_bytes: the most bytes the file can have, when known: a mirror that announces or sends
      more is cut off there and counted as failed.

    Raises DownloadError, listing every mirror tried and what went wrong with it, when none
    worked, and right away when the folder cannot be written. Nothing is left in `folder` after
    a failure, and temporary files that killed downloads of this file left are removed.
    """
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    folder = Path(folder)
    target = folder / filename
    failures = []
    if mirrors:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _local_error(what, folder, target, e) from None
        remove_stale_parts(folder, filename)
    for mirror in mirrors:
        url = url_for(mirror, filename)
        print(f'vugrad: downloading {url}', file=sys.stderr)
        try:
            return _fetch(url, target, check, timeout, max_bytes)
        except _LocalError as e:
            raise _local_error(what, folder, target, e.__cause__) from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures.append((url, _mirror_failure(e)))
    raise _no_mirror_worked(what, folder, target, failures)


def _mirror_failure(e):
    """Why a mirror gave no good copy, in words, from what downloading from it raised."""
    if isinstance(e, CorruptDatasetError):
        return f'served a corrupt file: {e.problem}'
    if isinstance(e, (_ShortDownload, _TooLarge)):
        return str(e)
    if isinstance(e, urllib.error.HTTPError):
        return f'HTTP {e.code} {e.reason}'
    if isinstance(e, urllib.error.URLError):
        return f'could not connect: {e.reason}'
    return f'{type(e).__name__}: {e}'


def _no_mirror_worked(what, folder, target, failures):
    """The DownloadError that lists every mirror tried, and what went wrong with it."""
    tried = '\n'.join(f'  {url}: {reason}' for url, reason in failures) or '  (none: no mirrors)'
    return DownloadError(
        f'could not download {what} into {folder}\n'
        f'Mirrors tried:\n{tried}\n'
        f'What to do: check your network connection and try again; or put the file in {folder} '
        f'by hand; or set VUGRAD_DATA to a folder whose {folder.name}/ subfolder holds the files; '
        f'or pass other mirrors.',
        target,
        failures,
    )


def _local_error(what, folder, target, e):
    """The DownloadError for a folder we cannot create or write into: not the network's fault."""
    blocker = _blocker(folder / 'x')
    if isinstance(e, (FileExistsError, NotADirectoryError)) and blocker is not None:
        problem = f'{blocker} is a file, where a folder should be'
        fix = f'move or delete the file {blocker}'
    else:
        problem = f'{type(e).__name__}: {e}'
        fix = f'make {folder} a folder you can write to (with free space)'
    return DownloadError(
        f"could not download {what} into {folder}: {problem}\n"
        f"What to do: {fix}, or set XDG_CACHE_HOME (on Windows LOCALAPPDATA) to move vugrad's "
        f"cache folder, or set VUGRAD_DATA to a folder whose {folder.name}/ subfolder holds "
        f"the files.",
        target,
    )


def _part_pattern(filename):
    return glob.escape(f'.{filename}.') + '*.part'


def remove_stale_parts(folder, filename):
    """
    Remove the temporary files ``.<filename>.*.part`` in `folder` that no running download
    holds: a download killed before it could clean up leaves one. On POSIX a running download
    holds a lock on its file; without locks (Windows) only files older than STALE_AFTER go.
    """
    for part in Path(folder).glob(_part_pattern(filename)):
        with contextlib.suppress(OSError):  # -- held, or gone already: leave it
            if fcntl is None:
                if time.time() - part.stat().st_mtime > STALE_AFTER:
                    part.unlink()
                continue
            fd = os.open(part, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # -- fails while a download holds it
                part.unlink()
            finally:
                os.close(fd)


class _ShortDownload(OSError):
    """The server sent fewer bytes than it said it would."""


class _TooLarge(OSError):
    """The server announced or sent more bytes than the file can have."""


class _LocalError(Exception):
    """Writing the temporary file failed (its __cause__ says why): a local problem."""


def _fetch(url, target, check, timeout, max_bytes=None):
    """Download one URL to a temp file beside `target`, check it, then move it into place."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f'.{target.name}.', suffix='.part')
    except OSError as e:
        raise _LocalError() from e
    lock = None
    done = False
    try:
        if fcntl is not None:  # -- held until the file is moved into place or removed
            lock = os.open(tmp, os.O_RDONLY)
            fcntl.flock(lock, fcntl.LOCK_EX)
        limit = float('inf') if max_bytes is None else max_bytes
        with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get('Content-Length', '')
            if announced.isdigit() and int(announced) > limit:
                raise _TooLarge(f'announced {announced} bytes, more than the {max_bytes} '
                                f'this file can have')
            read = getattr(response, 'read1', response.read)  # -- what has come, as it comes
            size = 0
            while chunk := read(int(min(1 << 20, limit + 1 - size))):
                size += len(chunk)
                if size > limit:
                    raise _TooLarge(f'sent more than the {max_bytes} bytes this file can have')
                try:
                    out.write(chunk)
                except OSError as e:  # -- a full disk, say
                    raise _LocalError() from e
            try:
                out.flush()
            except OSError as e:
                raise _LocalError() from e
        if announced.isdigit() and size != int(announced):
            raise _ShortDownload(f'the connection closed after {size} of {announced} bytes')
        result = check(Path(tmp))
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise _LocalError() from e
        done = True
        return result
    finally:
        if not done:  # any failure at all, Ctrl-C included: leave nothing behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if lock is not None:
            os.close(lock)


def corrupt_cached_file(e, path, what, source, mirrors):
    """The CorruptDatasetError `e` of a data file that was already there, with what to do."""
    if source.may_download:
        where = '\n'.join(f'  {url_for(m, path.name)}' for m in mirrors) or '  (no mirrors)'
        advice = (f'delete this file and load again: it will be downloaded anew from\n{where}\n'
                  f'or set VUGRAD_DATA to a folder whose {path.parent.name}/ subfolder '
                  f'holds a good copy.')
    else:
        advice = (f'replace it with a good copy (the folder comes from {source.origin}), or '
                  f'unset VUGRAD_DATA and leave out data_dir to have vugrad download it.')
    return CorruptDatasetError(f'{what} is corrupt: {e.problem}\n  path: {path}\n'
                               f'What to do: {advice}', path, e.problem)
