"""What goes wrong writing an archive, by name: a damaged file, another process holding the
write lock past the wait, a full disk, a state changed since it was read.
"""

from __future__ import annotations

import errno
import sqlite3
import sys
from pathlib import Path

SQLITE_VERSION = sqlite3.sqlite_version  # of the library the archive is written with


# What a damaged or foreign database file raises (for callers that do not import sqlite3).
DatabaseError = sqlite3.DatabaseError


_BUSY_SLICE_MS = 250


class ArchiveError(Exception):
    """The archive file cannot be used (not SQLite, newer schema than this toolkit ...)."""


class StaleState(ArchiveError):
    """A write conditional on the state it was computed from found that state gone."""


class WriteFailed(ArchiveError):
    """A write to the archive (its database or a WARC file) could not be made; nothing of it
    was kept. ``kind`` names why, as an ``errors.kind``."""

    kind = "write_failed"


class ArchiveLocked(WriteFailed):
    """Another process held the database's write lock for longer than the wait allowed."""

    kind = "archive_locked"


class DiskFull(WriteFailed):
    """The disk (or the file size limit) had no room for a write."""

    kind = "disk_full"

    def __init__(self, path: str | Path, needed: int | None = None) -> None:
        self.path = str(path)
        self.needed = needed
        room = f" (a write of {needed:,} bytes did not fit)" if needed else ""
        super().__init__(
            f"{path}: the disk is full{room}; free some space and run the same command "
            "again: it finishes the crawl"
        )


def disk_full(error: BaseException) -> bool:
    """Whether an OSError or SQLite error says the disk (or the file size limit) is full."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
    return False


def _busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def _report_wait(message: str) -> None:
    """How a wait for another process's write lock is reported: one line on stderr."""
    print(message, file=sys.stderr, flush=True)
