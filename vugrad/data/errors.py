"""
The exceptions `vugrad.data` raises.

Every one derives from `DatasetError` (and so from `vugrad.VugradError`), and also from the
built-in exception a Python programmer would expect, so ``except OSError`` or
``except ValueError`` keeps working.

Each message says three things: which file, what was wrong with it, and what to do about it.
"""

from ..errors import VugradError


class DatasetError(VugradError):
    """Base class of every error `vugrad.data` raises."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A data file is missing from a folder we were told to read from (nothing is downloaded)."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


class CorruptDatasetError(DatasetError, ValueError):
    """
    A data file is there but is not what it should be: not valid gzip, a wrong IDX magic number,
    a byte count that does not match its header, or a wrong md5 checksum.

    `path` is the file (None for bytes that came from nowhere in particular) and `problem` the
    bare description of what was wrong, without the advice.
    """

    def __init__(self, message, path=None, problem=None):
        super().__init__(message)
        self.path = path
        self.problem = problem if problem is not None else message


class DownloadError(DatasetError, OSError):
    """
    No mirror gave us a good copy of a file.

    `failures` lists one ``(url, reason)`` pair per mirror tried, in the order they were tried.
    """

    def __init__(self, message, path=None, failures=()):
        super().__init__(message)
        self.path = path
        self.failures = list(failures)
