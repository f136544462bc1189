"""
Where data files live, and how a missing one is downloaded.

Files are read from one folder, chosen in this order:

1. the `data_dir` argument of a loader,
2. the environment variable VUGRAD_DATA,
3. vugrad's cache folder (see `cache_dir()`).

In each case the files of a data set sit in a subfolder named after it (``mnist/``,
``fashion-mnist/``). In cases 1 and 2 nothing is ever downloaded: a missing file is an error.
In case 3 a missing file is downloaded, trying the mirrors in order.

A download goes to a temporary file in the target folder. Only once it has been checked does
`os.replace` move it into place, in one step, so a half-written or corrupt file is never left
where a later call would find it.
"""

import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import CorruptDatasetError, DatasetNotFoundError, DownloadError

# seconds to wait for a mirror to connect or to send the next block before giving up on it
DOWNLOAD_TIMEOUT = 30


def cache_dir():
    """
    Return vugrad's cache folder, where downloaded data sets are kept.

    On Linux and macOS: ``$XDG_CACHE_HOME/vugrad``, or ``~/.cache/vugrad`` when XDG_CACHE_HOME
    is not set. On Windows: ``%LOCALAPPDATA%\\vugrad``. The folder is not created here.
    """
    return _cache_dir_for(sys.platform, os.environ)


def _cache_dir_for(platform, environ):
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "vugrad"


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
        return f"Source({str(self.folder)!r}, may_download={self.may_download})"


def locate(subdir, data_dir=None):
    """Pick the folder for data set `subdir`: data_dir, else $VUGRAD_DATA, else the cache."""
    if data_dir is not None:
        return Source(Path(data_dir).expanduser() / subdir, False, f"data_dir={str(data_dir)!r}")
    env = os.environ.get("VUGRAD_DATA")
    if env:
        return Source(Path(env).expanduser() / subdir, False, f"VUGRAD_DATA={env}")
    return Source(cache_dir() / subdir, True, "vugrad's cache folder")


def missing_file_error(path, source, what, cache):
    """The DatasetNotFoundError for a file that is not in a folder we may not download into."""
    path = Path(path)
    hint = ""
    if (path.parent.parent / path.name).exists():
        hint = (f"\n(There is a {path.name} in {path.parent.parent}: the files go in its "
                f"{path.parent.name}/ subfolder.)")
    return DatasetNotFoundError(
        f"{what} not found: {path}\n"
        f"The folder comes from {source.origin}; nothing is downloaded when a data folder is "
        f"given.{hint}\n"
        f"What to do: put the file in {path.parent}, or unset VUGRAD_DATA and leave out data_dir "
        f"to have vugrad download it into {cache}.",
        path,
    )


def url_for(mirror, filename):
    """The URL of `filename` on `mirror` (a base URL, with or without the trailing slash)."""
    return mirror.rstrip("/") + "/" + filename


def download(filename, folder, mirrors, check, what="file", timeout=None):
    """
    Download `filename` into `folder`, trying each mirror in turn until one gives a good copy.

    check: called with the path of the downloaded (temporary) file; it raises
      CorruptDatasetError if the file is bad and otherwise returns something, which `download`
      returns. This is how a file is verified before it is moved into place.
    what: how to name the file in messages ("MNIST file train-images-idx3-ubyte.gz").

    Raises DownloadError, listing every mirror tried and what went wrong with it, when none
    worked. Nothing is left in `folder` after a failure.
    """
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    folder = Path(folder)
    target = folder / filename
    failures = []
    if mirrors:
        folder.mkdir(parents=True, exist_ok=True)
    for mirror in mirrors:
        url = url_for(mirror, filename)
        print(f"vugrad: downloading {url}", file=sys.stderr)
        try:
            return _fetch(url, target, check, timeout)
        except CorruptDatasetError as e:
            failures.append((url, f"served a corrupt file: {e.problem}"))
        except _ShortDownload as e:
            failures.append((url, str(e)))
        except urllib.error.HTTPError as e:
            failures.append((url, f"HTTP {e.code} {e.reason}"))
        except urllib.error.URLError as e:
            failures.append((url, f"could not connect: {e.reason}"))
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures.append((url, f"{type(e).__name__}: {e}"))

    tried = "\n".join(f"  {url}: {reason}" for url, reason in failures) or "  (none: no mirrors)"
    raise DownloadError(
        f"could not download {what} into {folder}\n"
        f"Mirrors tried:\n{tried}\n"
        f"What to do: check your network connection and try again; or put the file in {folder} "
        f"by hand; or set VUGRAD_DATA to a folder whose {folder.name}/ subfolder holds the files; "
        f"or pass other mirrors.",
        target,
        failures,
    )


class _ShortDownload(OSError):
    """The server sent fewer bytes than it said it would."""


def _fetch(url, target, check, timeout):
    """Download one URL to a temp file beside `target`, check it, then move it into place."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    done = False
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            size = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and size != int(announced):
            raise _ShortDownload(f"the connection closed after {size} of {announced} bytes")
        result = check(Path(tmp))
        os.replace(tmp, target)
        done = True
        return result
    finally:
        if not done:  # any failure at all, Ctrl-C included: leave nothing behind
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
